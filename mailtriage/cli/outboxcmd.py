"""`mailtriage outbox`: the outgoing mail not yet sent, and sending a failed message again.

The listing shows ids, kinds, dates, attempts and the server's last reply
as it came, which may name the recipient's address. It never shows a body
or a subject, because they carry health data.
"""

import click

from mailtriage.cli.common import pass_app
from mailtriage.cli.senderrors import localize_send_error
from mailtriage.errors import MailtriageError, NotFoundError
from mailtriage.i18n import tr

RETRY_ACTION = "outbox_retry"


@click.group(help=tr(
    "Bandeja de salida: los correos que esperan envío o que fallaron, y su reenvío.",
    "Outbox: the emails waiting to be sent or that failed, and sending them again."))
def outbox():
    pass


@outbox.command("list", help=tr(
    "Muestra los correos pendientes y los que fallaron: número, tipo, paciente, fecha de "
    "creación, intentos y la última respuesta del servidor de correo. No muestra el "
    "contenido.\n\nEjemplo: mailtriage outbox list --failed",
    "Show the pending and failed emails: number, kind, patient, creation date, attempts and "
    "the mail server's last reply. The content is not shown.\n\n"
    "Example: mailtriage outbox list --failed"))
@click.option("--failed", "only_failed", is_flag=True,
              help=tr("Solo los que fallaron y ya no se reintentan.",
                      "Only those that failed and are no longer retried."))
@click.option("--pending", "only_pending", is_flag=True,
              help=tr("Solo los que esperan envío o un reintento.",
                      "Only those waiting to be sent or retried."))
@pass_app
def list_outbox(app, only_failed, only_pending):
    from mailtriage.outbox import FAILED, PENDING

    if only_failed and only_pending:
        raise click.UsageError(tr("use --failed o --pending, no ambos.",
                                  "give --failed or --pending, not both."))
    statuses = (FAILED,) if only_failed else (PENDING,) if only_pending else (FAILED, PENDING)

    app.database
    rows = outbox_rows(statuses)
    if not rows:
        click.echo(tr("No hay correos pendientes ni fallidos.", "No pending or failed emails."))
        return

    click.echo(tr("ID\tTIPO\tESTADO\tPACIENTE\tCREADO\tINTENTOS\tÚLTIMA RESPUESTA",
                  "ID\tKIND\tSTATUS\tPATIENT\tCREATED\tATTEMPTS\tLAST REPLY"))
    for row in rows:
        click.echo(format_row(row, app.config.timezone))


@outbox.command("retry", help=tr(
    "Vuelve a poner en espera el correo fallido ID (o todos con --all-failed), con sus "
    "intentos en cero, para que el siguiente envío lo intente de nuevo.\n\n"
    "Ejemplo: mailtriage outbox retry 57",
    "Put the failed email ID (or all of them with --all-failed) back in the queue with no "
    "attempts, so the next send tries it again.\n\nExample: mailtriage outbox retry 57"))
@click.argument("row_id", metavar="ID", type=int, required=False)
@click.option("--all-failed", "retry_all", is_flag=True,
              help=tr("Reintenta todos los correos fallidos.", "Retry every failed email."))
@click.option("--staff", metavar=tr("NOMBRE", "NAME"),
              help=tr("Quién lo pide, para la auditoría (por omisión, el usuario del sistema).",
                      "Who requests it, for the audit trail (default: the operating-system user)."))
@pass_app
def retry(app, row_id, retry_all, staff):
    from mailtriage.audit import current_actor
    from mailtriage.outbox import FAILED

    if (row_id is None) == (not retry_all):
        raise click.UsageError(tr("indique un ID o --all-failed, solo uno de los dos.",
                                  "give either an ID or --all-failed."))

    app.database
    rows = outbox_rows((FAILED,)) if retry_all else [failed_row(row_id)]
    for row in rows:
        requeue(row, current_actor(staff))
        click.echo(tr("Correo {id} en espera de nuevo; se enviará en el siguiente envío.",
                      "Email {id} queued again; the next send tries it.", id=row.id))
    if not rows:
        click.echo(tr("No hay correos fallidos.", "No failed emails."))


def outbox_rows(statuses: tuple[str, ...]) -> list:
    """Return the outbox rows in ``statuses``, oldest first, without their bodies."""
    from mailtriage.models import OutboxMessage

    return list(OutboxMessage.select(
        OutboxMessage.id, OutboxMessage.kind, OutboxMessage.status, OutboxMessage.patient,
        OutboxMessage.created_at, OutboxMessage.attempts, OutboxMessage.last_error)
        .where(OutboxMessage.status.in_(statuses))
        .order_by(OutboxMessage.created_at, OutboxMessage.id))


def failed_row(row_id: int):
    from mailtriage.models import OutboxMessage
    from mailtriage.outbox import FAILED

    row = OutboxMessage.get_or_none(OutboxMessage.id == row_id)
    if row is None:
        raise NotFoundError(tr("no hay un correo con el número {id}; vea «mailtriage outbox list»",
                               "no email has the number {id}; see 'mailtriage outbox list'", id=row_id))
    if row.status != FAILED:
        raise MailtriageError(tr(
            "el correo {id} no falló (estado: {status}); solo se reintenta un correo fallido",
            "email {id} has not failed (status: {status}); only a failed email can be retried",
            id=row_id, status=status_label(row.status)))
    return row


def requeue(row, actor: str) -> None:
    """Make a failed row pending and due now with no attempts, and audit who asked."""
    from mailtriage import audit, clock
    from mailtriage.models import OutboxMessage, database_proxy
    from mailtriage.outbox import FAILED, PENDING

    with database_proxy.atomic():
        # The status condition keeps a row that a concurrent send changed as it is.
        changed = (OutboxMessage.update(status=PENDING, attempts=0, next_attempt_at=clock.now())
                   .where((OutboxMessage.id == row.id) & (OutboxMessage.status == FAILED))
                   .execute())
        if changed:
            audit.record(actor, RETRY_ACTION, row.patient_id, outbox=row.id,
                         attempts=row.attempts)


def kind_label(kind: str) -> str:
    labels = {
        "reply": tr("respuesta", "reply"),
        "questionnaire": tr("cuestionario", "questionnaire"),
        "welcome": tr("bienvenida", "welcome"),
        "reminder": tr("recordatorio", "reminder"),
        "staff_alert": tr("alerta al personal", "staff alert"),
    }
    return labels.get(kind, kind)


def status_label(status: str) -> str:
    labels = {
        "pending": tr("pendiente", "pending"),
        "failed": tr("fallido", "failed"),
        "sent": tr("enviado", "sent"),
        "skipped": tr("no se envía", "not sent"),
    }
    return labels.get(status, status)


def format_row(row, timezone: str) -> str:
    """Return one tab-separated line: id, kind, status, patient, local creation time, attempts, reply."""
    from mailtriage.patients_view import local_time

    reply = " ".join(localize_send_error(row.last_error or "-").split())
    return "\t".join((str(row.id), kind_label(row.kind), status_label(row.status),
                      str(row.patient_id or "-"), local_time(row.created_at, timezone),
                      str(row.attempts), reply))
