"""`mailtriage audit`: the trail of staff actions."""

import click

from mailtriage.cli.common import pass_app
from mailtriage.cli.dates import LocalDate
from mailtriage.i18n import tr


@click.command(help=tr(
    "Lista las acciones del personal (registro, cambios, llamadas, altas, exportaciones, "
    "importaciones), de la más antigua a la más reciente.\n\n"
    "Ejemplo: mailtriage audit --patient 12 --since 2026-12-01",
    "List staff actions (enrolment, edits, calls, discharges, exports, imports), oldest "
    "first.\n\nExample: mailtriage audit --patient 12 --since 2026-12-01"))
@click.option("--patient", "patient_id", type=int, metavar="ID",
              help=tr("Solo este paciente.", "Only this patient."))
@click.option("--since", type=LocalDate(day_first=True),
              help=tr("Desde esta fecha (AAAA-MM-DD o DD/MM/AAAA), en la zona horaria de la "
                      "configuración.", "From this date (YYYY-MM-DD or DD/MM/YYYY), in the "
                      "configured time zone."))
@pass_app
def audit(app, patient_id, since):
    from zoneinfo import ZoneInfo

    from mailtriage.audit import detail_text, list_events
    from mailtriage.display_names import AUDIT_ACTION_NAMES, display_name

    app.database
    zone = ZoneInfo(app.config.timezone)
    start = since.replace(tzinfo=zone) if since else None
    events = list_events(patient_id, start)
    if not events:
        click.echo(tr("No hay acciones registradas.", "No actions recorded."))
        return
    for event in events:
        patient = tr("paciente {id}", "patient {id}", id=event.patient_id) if event.patient_id else "-"
        action = display_name(AUDIT_ACTION_NAMES, event.action)
        click.echo(f"{event.at.astimezone(zone):%Y-%m-%d %H:%M}  {event.actor}  {action}  "
                   f"{patient}  {detail_text(event.detail)}".rstrip())
