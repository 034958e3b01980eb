"""Staff exports: reports by color, the non-reporting list and the full history, as CSV or XLSX.

Headers follow the configured language, times are the unit's local time in
ISO form with its UTC offset, and files are written owner-only because they
carry health data.
Text cells that a spreadsheet would run as a formula are prefixed with an
apostrophe.
"""

import csv
import io
import os
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from mailtriage import clock
from mailtriage.calls import hit_reasons, open_entries
from mailtriage.display_names import (
    CALL_LIST_RULE_NAMES, CALL_OUTCOME_NAMES, display_name, shown_text,
)
from mailtriage.errors import MailtriageError
from mailtriage.i18n import describe_os_error, tr
from mailtriage.models import Call, Patient, Reminder, Report, Unit
from mailtriage.patients_view import answers_text, color_name, status_name

# A spreadsheet reads a cell starting with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FORMATS = ("csv", "xlsx")
COLORS = ("verde", "amarillo", "rojo")
COLOR_ALIASES = {"green": "verde", "yellow": "amarillo", "red": "rojo"}


class ExportError(MailtriageError):
    """An export cannot be made as requested."""


@dataclass
class Table:
    """An export's header row and data rows."""

    headers: list[str]
    rows: list[list]


def neutralise(value):
    """Return ``value`` with a leading apostrophe when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def parse_colors(text: str) -> list[str]:
    """Read a comma-separated color list, Spanish or English."""
    colors = []
    for item in text.split(","):
        name = item.strip().lower()
        name = COLOR_ALIASES.get(name, name)
        if name not in COLORS:
            raise ExportError(tr("color no válido «{v}»; use verde, amarillo o rojo",
                                 "invalid color '{v}'; use green, yellow or red", v=item.strip()))
        colors.append(name)
    return colors


def local_iso(moment: datetime | None, timezone_name: str) -> str:
    """Format a UTC moment in the unit's time zone as ISO 8601 with its offset: 2026-12-04 09:30-07:00.

    The offset, rather than an abbreviation, keeps rows of units in
    different zones comparable and is unambiguous to other programs.
    """
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(timezone_name)).isoformat(sep=" ", timespec="minutes")


def report_columns() -> list[str]:
    return [tr("ID reporte", "Report ID"), tr("ID paciente", "Patient ID"), tr("Paciente", "Patient"),
            tr("Unidad", "Unit"), tr("Teléfono", "Phone"), tr("Fecha y hora", "Date and time"),
            tr("Semáforo", "Color"), tr("Prioridad", "Priority"), tr("Motivos", "Reasons")]


def report_row(report: Report) -> list:
    patient = report.patient
    return [report.id, patient.id, patient.full_name, patient.unit.code, patient.phone,
            local_iso(report.received_at, patient.unit.timezone), color_name(report.color),
            report.priority or "", "; ".join(hit_reasons(report))]


def colored_reports(colors: list[str], since: date | None) -> list[Report]:
    """Return the reports of the given colors, from a local calendar day on, oldest first."""
    query = (Report.select(Report, Patient, Unit).join(Patient).join(Unit)
             .where(Report.color.in_(colors)).order_by(Report.received_at, Report.id))
    if since is not None:
        query = query.where(Report.local_date >= since)
    return list(query)


def export_reports(colors: list[str], since: date | None, per: str) -> Table:
    """Return one row per report, or per patient with the patient's latest matching report."""
    reports = colored_reports(colors, since)
    if per == "report":
        return Table(report_columns(), [report_row(report) for report in reports])

    latest: dict[int, Report] = {}
    counts: dict[int, int] = {}
    for report in reports:
        latest[report.patient.id] = report
        counts[report.patient.id] = counts.get(report.patient.id, 0) + 1
    headers = report_columns()[1:] + [tr("Reportes", "Reports"), tr("Estado", "Status")]
    rows = [report_row(report)[1:] + [counts[patient_id], status_name(report.patient.status)]
            for patient_id, report in latest.items()]
    return Table(headers, rows)


def export_non_reporting() -> Table:
    """Return the monitored patients without a report today, with their silence and open call entries."""
    headers = [tr("ID paciente", "Patient ID"), tr("Paciente", "Patient"), tr("Unidad", "Unit"),
               tr("Teléfono", "Phone"), tr("Contacto alterno", "Alternative contact"),
               tr("Último reporte", "Last report"), tr("Último semáforo", "Last color"),
               tr("Horas sin reporte", "Hours without report"), tr("Recordatorios", "Reminders"),
               tr("Llamadas pendientes", "Pending calls")]
    now = clock.now()
    rows = []
    for patient in Patient.select(Patient, Unit).join(Unit).where(Patient.status == "monitoring"):
        last = (Report.select().where(Report.patient == patient)
                .order_by(Report.received_at.desc()).first())
        since = last.received_at if last else patient.enrolled_at
        if last and last.local_date >= clock.local_date(now, patient.unit.timezone):
            continue
        rows.append([
            patient.id, patient.full_name, patient.unit.code, patient.phone, patient.alt_contact,
            local_iso(since if last else None, patient.unit.timezone),
            color_name(last.color) if last else "", round((now - since).total_seconds() / 3600, 1),
            Reminder.select().where(Reminder.patient == patient).count(),
            ", ".join(display_name(CALL_LIST_RULE_NAMES, rule)
                      for rule in sorted({entry.rule for entry in open_entries(patient)})),
        ])
    return Table(headers, rows)


def export_history(since: date | None) -> Table:
    """Return every report, call and reminder of every patient, in time order."""
    headers = [tr("ID paciente", "Patient ID"), tr("Paciente", "Patient"), tr("Unidad", "Unit"),
               tr("Fecha y hora", "Date and time"), tr("Evento", "Event"), tr("Semáforo", "Color"),
               tr("Detalle", "Detail")]
    events = []
    for report in Report.select(Report, Patient).join(Patient):
        events.append((report.received_at, report.patient, tr("reporte", "report"),
                       color_name(report.color),
                       answers_text(report) + " | " + "; ".join(hit_reasons(report))))
    for call in Call.select(Call, Patient).join(Patient):
        events.append((call.made_at, call.patient, tr("llamada", "call"), "", call_detail(call)))
    for reminder in Reminder.select(Reminder, Patient).join(Patient):
        events.append((reminder.sent_at, reminder.patient, tr("recordatorio", "reminder"), "", ""))

    events.sort(key=lambda event: (event[0], event[1].id))
    rows = []
    for moment, patient, kind, color, detail in events:
        zone = patient.unit.timezone
        if since is not None and clock.local_date(moment, zone) < since:
            continue
        rows.append([patient.id, patient.full_name, patient.unit.code, local_iso(moment, zone),
                     kind, color, detail])
    return Table(headers, rows)


def call_detail(call: Call) -> str:
    """Return a call's outcome by its display name, then its note when it has one."""
    outcome = display_name(CALL_OUTCOME_NAMES, call.outcome)
    return f"{outcome}: {shown_text(call.note)}" if call.note else outcome


def render(table: Table, file_format: str, progress=None) -> bytes:
    """Return the table as CSV (UTF-8 with BOM, so Excel reads accents) or XLSX bytes."""
    rows = ([neutralise(cell) for cell in row] for row in table.rows)
    if file_format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([neutralise(cell) for cell in table.headers])
        for row in rows:
            writer.writerow(row)
            if progress:
                progress(1)
        return ("\ufeff" + buffer.getvalue()).encode("utf-8")
    return _render_xlsx(table, rows, progress)


def _render_xlsx(table: Table, rows, progress) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(tr("Exportación", "Export"))
    sheet.append([neutralise(cell) for cell in table.headers])
    for row in rows:
        sheet.append(row)
        if progress:
            progress(1)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def write_private(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` owner-only (0600), through a temporary file and a rename."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        descriptor = os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except OSError as exc:
        raise ExportError(tr("no se pudo escribir {f} ({e}); revise la carpeta",
                             "cannot write {f} ({e}); check the folder",
                             f=path, e=describe_os_error(exc))) from exc
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    path.chmod(0o600)
