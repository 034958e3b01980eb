"""What staff see of patients: the monitoring list and one patient's timeline."""

from datetime import datetime
from zoneinfo import ZoneInfo

from mailtriage.display_names import (
    CALL_OUTCOME_NAMES, COLOR_NAMES, DISCHARGE_REASON_NAMES, MAIL_KIND_NAMES, STATUS_NAMES,
    display_name, shown_text,
)
from mailtriage.display_names import answers_text as answers_in_words
from mailtriage.i18n import tr
from mailtriage.models import Patient, Report, Unit


def color_name(color: str | None) -> str:
    """Return the color as staff read it: verde/amarillo/rojo, or green/yellow/red in English."""
    return display_name(COLOR_NAMES, color)


def status_name(status: str) -> str:
    return display_name(STATUS_NAMES, status)


def local_time(moment: datetime | None, timezone_name: str) -> str:
    """Format a UTC moment as DD/MM/AAAA HH:MM and the zone's abbreviation, in the unit's time zone.

    Units lie in different zones, so a list that mixes them names each
    time's zone: "04/12/2026 15:43 CST" beside "04/12/2026 14:43 MST".
    Zones without an abbreviation in the tz database show their UTC
    offset instead, such as "-03".
    """
    if moment is None:
        return "-"
    return moment.astimezone(ZoneInfo(timezone_name)).strftime("%d/%m/%Y %H:%M %Z")


def monitored_patients(unit_code: str | None = None, include_discharged: bool = False) -> list[Patient]:
    """Return patients under monitoring (or all), oldest enrolment first."""
    query = Patient.select(Patient, Unit).join(Unit).order_by(Patient.enrolled_at, Patient.id)
    if not include_discharged:
        query = query.where(Patient.status == "monitoring")
    if unit_code:
        query = query.where(Unit.code == unit_code)
    return list(query)


def last_report(patient: Patient) -> Report | None:
    return (Report.select().where(Report.patient == patient)
            .order_by(Report.received_at.desc(), Report.id.desc()).first())


def patient_rows(patients: list[Patient]) -> list[tuple]:
    """Return one row per patient: id, unit, name, status, last color and its local date."""
    rows = []
    for patient in patients:
        report = last_report(patient)
        rows.append((
            patient.id, patient.unit.code, patient.full_name, status_name(patient.status),
            color_name(report.color if report else None),
            local_time(report.received_at if report else None, patient.unit.timezone),
        ))
    return rows


def answers_text(report: Report) -> str:
    """Return a report's answers by question short name, with unreadable ones marked."""
    return answers_in_words(report.answers, report.unreadable)


def report_event(report: Report, timezone_name: str) -> tuple:
    from mailtriage.calls import hit_reasons

    priority = tr(" prioridad {p}", " priority {p}", p=report.priority) if report.priority else ""
    lines = [tr("Reporte {id}: {color}{p}", "Report {id}: {color}{p}",
                id=report.id, color=color_name(report.color).upper(), p=priority),
             tr("  respuestas: {a}", "  answers: {a}", a=answers_text(report))]
    lines += [tr("  motivo: {r}", "  reason: {r}", r=reason) for reason in hit_reasons(report)]
    return report.received_at, "\n".join(lines)


def call_event(call) -> tuple:
    text = tr("Llamada {id} por {s}: {o}. {n}", "Call {id} by {s}: {o}. {n}",
              id=call.id, s=call.staff or "-", o=display_name(CALL_OUTCOME_NAMES, call.outcome),
              n=shown_text(call.note))
    return call.made_at, text.strip()


def undelivered_event(row) -> tuple:
    """Return the timeline event of a failed email to the patient, with the server's reply."""
    reply = " ".join((row.last_error or "-").split())
    text = tr("Correo no entregado ({tipo}, correo {m}): {r}. Confirme la dirección con el paciente.",
              "Email not delivered ({tipo}, email {m}): {r}. Check the address with the patient.",
              tipo=display_name(MAIL_KIND_NAMES, row.kind), m=row.id, r=shown_text(reply))
    return row.created_at, text


def timeline(patient: Patient) -> list[tuple[str, str]]:
    """Return the patient's events oldest first, as (local time, text) pairs."""
    from mailtriage.models import Call, Reminder
    from mailtriage.undelivered import failed_patient_mail

    zone = patient.unit.timezone
    events = [(patient.enrolled_at, tr("Registro por {s}", "Enrolled by {s}", s=patient.enrolled_by or "-"))]
    events += [report_event(report, zone) for report in patient.reports]
    events += [call_event(call) for call in Call.select().where(Call.patient == patient)]
    events += [undelivered_event(row) for row in failed_patient_mail(patient)]
    events += [(reminder.sent_at, tr("Recordatorio enviado", "Reminder sent"))
               for reminder in Reminder.select().where(Reminder.patient == patient)]
    if patient.discharged_at:
        events.append((patient.discharged_at, tr(
            "Alta médica ({r}) por {s}", "Discharged ({r}) by {s}",
            r=display_name(DISCHARGE_REASON_NAMES, patient.discharge_reason), s=patient.discharged_by or "-")))

    events.sort(key=lambda event: event[0])
    return [(local_time(moment, zone), text) for moment, text in events]
