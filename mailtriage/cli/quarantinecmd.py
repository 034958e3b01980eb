"""`mailtriage quarantine`: the messages set aside after failing to process, and retrying them.

A message that fails pipeline.MAX_ATTEMPTS passes in a row is moved to the
quarantine folder and its row is marked quarantined with the reason. The
listing shows ids, dates, Message-IDs and reasons only, never the
message's text, sender or answers.
"""

import logging
import os
from dataclasses import replace
from pathlib import Path

import click

from mailtriage.cli.common import pass_app
from mailtriage.errors import MailboxError, NotFoundError
from mailtriage.i18n import describe_os_error, tr
from mailtriage.logsetup import MessageId

log = logging.getLogger("mailtriage.quarantine")

# The reason column is cut to this many characters so each message stays on
# one line; `--full` shows all of it.
REASON_COLUMN_CHARS = 100

RETRY_ACTION = "quarantine_retry"


@click.group(help=tr(
    "Cuarentena: mensajes que fallaron varias veces al procesarse y quedaron apartados.",
    "Quarantine: messages set aside after failing to process several times."))
def quarantine():
    pass


@quarantine.command("list", help=tr(
    "Muestra los mensajes en cuarentena: número, fecha de llegada, Message-ID y motivo. "
    "No muestra el contenido del mensaje.\n\nEjemplo: mailtriage quarantine list",
    "Show the quarantined messages: number, arrival date, Message-ID and reason. "
    "The message's content is not shown.\n\nExample: mailtriage quarantine list"))
@click.option("--full", is_flag=True,
              help=tr("Muestra el motivo completo, sin recortarlo.",
                      "Show the whole reason instead of cutting it."))
@pass_app
def list_quarantine(app, full):
    app.database
    rows = quarantined_messages()
    if not rows:
        click.echo(tr("No hay mensajes en cuarentena.", "No messages in quarantine."))
        return

    click.echo(tr("ID\tFECHA\tMESSAGE-ID\tINTENTOS\tMOTIVO", "ID\tDATE\tMESSAGE-ID\tATTEMPTS\tREASON"))
    for row in rows:
        click.echo(format_row(row, app.config.timezone, full))


@quarantine.command("retry", help=tr(
    "Devuelve a la bandeja de entrada el mensaje en cuarentena ID (o todos con --all) y "
    "pone en cero sus intentos, para que la siguiente pasada lo procese de nuevo.\n\n"
    "Ejemplo: mailtriage quarantine retry 42",
    "Move the quarantined message ID (or all of them with --all) back to the inbox and "
    "reset its attempts, so the next pass processes it again.\n\n"
    "Example: mailtriage quarantine retry 42"))
@click.argument("row_id", metavar="ID", type=int, required=False)
@click.option("--all", "retry_all", is_flag=True,
              help=tr("Reintenta todos los mensajes en cuarentena.",
                      "Retry every quarantined message."))
@click.option("--staff", metavar=tr("NOMBRE", "NAME"),
              help=tr("Quién lo pide, para la bitácora (por omisión, el usuario del sistema).",
                      "Who requests it, for the audit trail (default: the system user)."))
@pass_app
def retry(app, row_id, retry_all, staff):
    if (row_id is None) == (not retry_all):
        raise click.UsageError(tr("indique un ID o --all, solo uno de los dos.",
                                  "give either an ID or --all."))

    app.database
    rows = quarantined_messages() if retry_all else [quarantined_message(row_id)]
    for row in rows:
        release(app.config, row, staff)
        click.echo(tr("Mensaje {id} devuelto a la bandeja de entrada; se procesará en la "
                      "siguiente pasada.",
                      "Message {id} moved back to the inbox; the next pass processes it.",
                      id=row.id))
    if not rows:
        click.echo(tr("No hay mensajes en cuarentena.", "No messages in quarantine."))


def quarantined_messages() -> list:
    from mailtriage.models import InboundMessage
    from mailtriage.recording import QUARANTINED

    return list(InboundMessage.select()
                .where(InboundMessage.outcome == QUARANTINED)
                .order_by(InboundMessage.received_at, InboundMessage.id))


def quarantined_message(row_id: int):
    from mailtriage.models import InboundMessage
    from mailtriage.recording import QUARANTINED

    row = InboundMessage.get_or_none(InboundMessage.id == row_id)
    if row is None or row.outcome != QUARANTINED:
        raise NotFoundError(tr(
            "no hay un mensaje en cuarentena con el número {id}; vea `mailtriage quarantine list`",
            "no quarantined message has the number {id}; see `mailtriage quarantine list`",
            id=row_id))
    return row


def format_row(row, timezone: str, full: bool) -> str:
    """Return one tab-separated line: id, local arrival time, Message-ID, attempts, reason."""
    from mailtriage.patients_view import local_time

    reason = " ".join((row.last_error or "-").split())
    if not full and len(reason) > REASON_COLUMN_CHARS:
        reason = reason[:REASON_COLUMN_CHARS - 1] + "…"
    return "\t".join((str(row.id), local_time(row.received_at, timezone),
                      row.message_id or "-", str(row.attempts), reason))


def release(config, row, staff: str | None) -> None:
    """Move the message back to the inbox, and let the next pass read it as new.

    The row is made pending before the move: a daemon that reads the message
    in between must not find a finished row by its Message-ID and file it
    straight back. Over IMAP the message gets a new UID in the inbox, so the
    quarantined row is then deleted and the next pass writes a fresh one. A
    Maildir keeps the file name, so the row is kept, with no attempts.
    """
    from mailtriage import audit
    from mailtriage.models import database_proxy
    from mailtriage.recording import PENDING, QUARANTINED

    attempts = row.attempts
    set_outcome(row, PENDING)
    try:
        move_back_to_inbox(config, row)
    except BaseException:
        # Whatever stopped the move, the message is still in quarantine.
        set_outcome(row, QUARANTINED)
        raise

    with database_proxy.atomic():
        if config.mailbox.scheme == "maildir":
            type(row).update(attempts=0, handled_on_server=False).where(
                type(row).id == row.id).execute()
        else:
            row.delete_instance()
        audit.record(audit.current_actor(staff), RETRY_ACTION, row.patient_id,
                     inbound_id=row.id, attempts=attempts)
    log.info("quarantined message %s (row %d) moved back to the inbox",
             MessageId(row.message_id or ""), row.id)


def set_outcome(row, outcome: str) -> None:
    type(row).update(outcome=outcome).where(type(row).id == row.id).execute()


def move_back_to_inbox(config, row) -> None:
    """Find the row's message in the quarantine folder and move it to the inbox folder."""
    if config.mailbox.scheme == "maildir":
        move_maildir_file(config, row)
        return

    from mailtriage.inbox import open_inbox

    # NOTE: reading the quarantine folder as an inbox also stores a
    # MailboxState row for it. Nothing else reads that row.
    quarantine_endpoint = replace(config.mailbox, folder=config.quarantine_folder)
    with open_inbox(replace(config, mailbox=quarantine_endpoint)) as folder:
        for message in folder.new_messages():
            if is_same_message(message, row):
                folder.move(message, config.mailbox.folder)
                return
    raise not_in_folder(config, row)


def is_same_message(message, row) -> bool:
    from mailtriage.pipeline import header_message_id

    if row.message_id:
        return header_message_id(message.raw) == row.message_id
    return row.raw is not None and bytes(row.raw) == message.raw


def move_maildir_file(config, row) -> None:
    """Rename the file from the Maildir++ quarantine folder back into the Maildir.

    The file name, and so the message's key, stays the same, which is what
    lets the kept row find the message again.
    """
    root = Path(config.mailbox.path)
    for subdir in ("new", "cur"):
        folder = root / f".{config.quarantine_folder}" / subdir
        for path in folder.glob(f"{row.uid}*"):
            if path.name.split(":", 1)[0] == row.uid:
                rename_into_inbox(path, root / subdir / path.name)
                return
    raise not_in_folder(config, row)


def rename_into_inbox(source: Path, target: Path) -> None:
    try:
        os.rename(source, target)
    except OSError as exc:
        raise MailboxError(tr(
            "Maildir: no se pudo mover {src} a {dst}: {why}. Revise los permisos",
            "Maildir: failed to move {src} to {dst}: {why}. Check the permissions",
            src=source, dst=target, why=describe_os_error(exc))) from exc


def not_in_folder(config, row) -> NotFoundError:
    return NotFoundError(tr(
        "el mensaje {id} no está en la carpeta {folder} del buzón; quizá alguien lo movió a mano. "
        "Búsquelo por su Message-ID {mid}",
        "message {id} is not in the mailbox folder {folder}; someone may have moved it by hand. "
        "Look for it by its Message-ID {mid}",
        id=row.id, folder=config.quarantine_folder, mid=row.message_id or "-"))
