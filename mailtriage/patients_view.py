"""What staff see of patients: the monitoring list and one patient's timeline."""

from datetime import datetime
from zoneinfo import ZoneInfo

from mailtriage.i18n import tr
from mailtriage.models import Patient, Report, Unit


def color_name(color: str | None) -> str:
    """Return the color as staff read it: verde/amarillo/rojo, or green/yellow/red in English."""
    names = {"verde": ("verde", "green"), "amarillo": ("amarillo", "yellow"), "rojo": ("rojo", "red")}
    if color not in names:
        return "-"
    return tr(*names[color])


def status_name(status: str) -> str:
    if status == "discharged":
        return tr("alta médica", "discharged")
    return tr("en seguimiento", "under monitoring")


def local_time(moment: datetime | None, timezone_name: str) -> str:
    """Format a UTC moment as DD/MM/AAAA HH:MM in the unit's time zone."""
    if moment is None:
        return "-"
    return moment.astimezone(ZoneInfo(timezone_name)).strftime("%d/%m/%Y %H:%M")


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
