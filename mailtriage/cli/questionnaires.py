"""`mailtriage questionnaires send`: issue questionnaires now and send the outbox."""

from contextlib import ExitStack

import click

from mailtriage.cli.common import pass_app
from mailtriage.cli.senderrors import localize_send_error
from mailtriage.errors import SendError
from mailtriage.i18n import tr

# Below this many patients the progress bar would only flicker.
PROGRESS_BAR_MIN_ITEMS = 20


@click.group(help=tr("Envía los cuestionarios de automonitoreo.",
                     "Send the self-monitoring questionnaires."))
def questionnaires():
    pass


@questionnaires.command(help=tr(
    "Emite cuestionarios y envía la bandeja de salida.\n\n"
    "--patient envía un cuestionario a solicitud a ese paciente, a cualquier hora; "
    "--all-due emite el cuestionario diario de cada paciente en monitoreo que ya llegó "
    "a la hora configurada y aún no lo recibe hoy. Sin opciones, hace lo mismo que "
    "--all-due.\n\n"
    "Ejemplo: mailtriage questionnaires send --all-due",
    "Issue questionnaires and send the outbox.\n\n"
    "--patient sends an on-demand questionnaire to that patient at any time; "
    "--all-due issues the daily questionnaire of every monitored patient whose "
    "configured time has come and who has not received it today. Without options, "
    "it does the same as --all-due.\n\n"
    "Example: mailtriage questionnaires send --all-due"))
@click.option("--patient", "patient_ids", type=int, multiple=True, metavar="ID",
              help=tr("Id del paciente (se puede repetir; cada paciente recibe un solo cuestionario).",
                      "Patient id (may be repeated; each patient gets one questionnaire)."))
@click.option("--all-due", is_flag=True,
              help=tr("Emite todos los cuestionarios diarios pendientes.",
                      "Issue every daily questionnaire that is due."))
@pass_app
def send(app, patient_ids, all_due):
    if not patient_ids:
        all_due = True

    app.database
    # A repeated --patient names the same patient, so it issues one questionnaire.
    on_demand = issue_on_demand(app.config, list(dict.fromkeys(patient_ids)))
    due = issue_all_due(app.config) if all_due else 0
    sending = send_outbox(app.config)
    click.echo(summary_line(on_demand, due, sending))
    if sending is not None and sending.error:
        raise SendError(tr(
            "el envío se detuvo: {error}. Los correos quedan en la bandeja de salida y el "
            "servicio los reintentará",
            "sending stopped: {error}. The messages stay in the outbox and the daemon will "
            "retry them", error=localize_send_error(sending.error)))


def issue_on_demand(config, patient_ids) -> int:
    from mailtriage.mailtemplates import configured_unit
    from mailtriage.questionnaires import ON_DEMAND, issue_questionnaire

    patients = [monitored_patient(patient_id) for patient_id in patient_ids]
    for patient in patients:
        issue_questionnaire(patient, configured_unit(patient, config), config, kind=ON_DEMAND)
    return len(patients)


def monitored_patient(patient_id: int):
    """Return the patient, or raise an error when the id is unknown or the patient is discharged."""
    from mailtriage.display_names import STATUS_NAMES, display_name
    from mailtriage.errors import NotFoundError
    from mailtriage.models import Patient
    from mailtriage.questionnaires import NotMonitoredError

    patient = Patient.get_or_none(Patient.id == patient_id)
    if patient is None:
        raise NotFoundError(tr(
            "no existe el paciente {id}; búsquelo con: mailtriage patients list",
            "patient {id} not found; look it up with: mailtriage patients list", id=patient_id))
    if patient.status != "monitoring":
        raise NotMonitoredError(tr(
            "el paciente {id} no está en seguimiento ({estado}); no se le envían cuestionarios",
            "patient {id} is not under monitoring ({estado}); no questionnaires are sent",
            id=patient_id, estado=display_name(STATUS_NAMES, patient.status)))
    return patient


def issue_all_due(config) -> int:
    from mailtriage.questionnaires import issue_due_questionnaires

    with ExitStack() as stack:
        def progress(due):
            if len(due) < PROGRESS_BAR_MIN_ITEMS:
                return due
            # click draws the bar only on a terminal and prints the label once otherwise.
            return stack.enter_context(click.progressbar(
                due, label=tr("Emitiendo cuestionarios", "Issuing questionnaires")))

        return issue_due_questionnaires(config, progress=progress)


def send_outbox(config):
    """Send the outbox and return the outbox's SendSummary, or None when this build cannot send."""
    try:
        from mailtriage.outbox import send_pending
    except ModuleNotFoundError as exc:
        if exc.name != "mailtriage.outbox":
            raise
        # NOTE: a build without the outbox module cannot send. The rows stay
        # queued, and the summary counts them as waiting in the outbox.
        return None

    return send_pending(config)


def summary_line(on_demand: int, due: int, sending) -> str:
    from mailtriage.models import OutboxMessage

    pending = OutboxMessage.select().where(OutboxMessage.status == "pending").count()
    issued = tr("Cuestionarios emitidos: {total} ({due} diarios, {on_demand} a solicitud).",
                "Questionnaires issued: {total} ({due} daily, {on_demand} on demand).",
                total=on_demand + due, due=due, on_demand=on_demand)
    if sending is None:
        return issued + " " + tr("Correos en la bandeja de salida: {pending}.",
                                 "Messages in the outbox: {pending}.", pending=pending)
    return issued + " " + tr("Correos enviados: {sent}; con error: {failed}; pendientes: {pending}.",
                             "Messages sent: {sent}; failed: {failed}; pending: {pending}.",
                             sent=sending.sent, failed=sending.failed, pending=pending)
