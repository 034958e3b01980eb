"""One pass over the mailbox: read each new message, store what it is, reply, and file it.

Each message is handled in one database transaction (the inbound message,
the report and the reply together), and only then moved to the processed
folder. A crash between the two leaves a recorded message in the inbox,
which the next pass recognises and only files. A message that fails is
rolled back and counted. After MAX_ATTEMPTS failures it is moved to the
quarantine folder, and the pass goes on with the next message.
"""

import logging
import re
import threading
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.policy import compat32

from mailtriage import faults, recording
from mailtriage.contracts import AMARILLO, ROJO, VERDE
from mailtriage.errors import MailboxError
from mailtriage.handling import handle_message, load_pass_context
from mailtriage.heartbeat import record_poll
from mailtriage.i18n import tr
from mailtriage.logsetup import MessageId
from mailtriage.models import database_proxy

log = logging.getLogger("mailtriage.pipeline")

# The id inside a Message-ID header, without comments or folding around it.
MESSAGE_ID = re.compile(r"<[^<>\s]+>")

# A message that fails this many passes in a row is set aside: a persistent
# failure (a parser bug, a corrupt message) must not block the mailbox, and
# three tries ride out a brief database lock or a restart.
MAX_ATTEMPTS = 3


@dataclass
class PassSummary:
    """Counts of one pass, for the CLI, the log and the heartbeat. No patient data."""

    messages_read: int = 0
    reports: dict = field(default_factory=lambda: {VERDE: 0, AMARILLO: 0, ROJO: 0})
    not_answers: int = 0
    already_recorded: int = 0
    failed: int = 0
    quarantined: int = 0
    replies_skipped: int = 0
    sent: int = 0
    questionnaires_issued: int = 0

    def as_log(self) -> str:
        colors = " ".join(f"{color}={count}" for color, count in self.reports.items())
        return (f"read={self.messages_read} {colors} not_answers={self.not_answers} "
                f"already_recorded={self.already_recorded} failed={self.failed} "
                f"quarantined={self.quarantined} replies_skipped={self.replies_skipped} "
                f"sent={self.sent} questionnaires={self.questionnaires_issued}")


def header_message_id(raw: bytes) -> str | None:
    """Return the ``<…>`` id of the Message-ID header, read without parsing the body, or None."""
    headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
    value = str(headers.get("Message-ID") or "").strip()
    bracketed = MESSAGE_ID.search(value)
    return bracketed.group(0) if bracketed else value or None


def run_pass(config, stop: threading.Event | None = None, send: bool = True) -> PassSummary:
    """Handle every new message of the mailbox, then send the outbox."""
    summary = process_mailbox(config, stop)
    if send:
        summary.sent = send_outbox(config)
    record_poll(summary)
    return summary


def process_mailbox(config, stop: threading.Event | None = None) -> PassSummary:
    """Handle every new message once; stop early, between messages, when ``stop`` is set."""
    from mailtriage.inbox import open_inbox

    summary = PassSummary()
    context = load_pass_context(config)
    with open_inbox(config) as inbox:
        for message in inbox.new_messages():
            if stop is not None and stop.is_set():
                log.info("pass interrupted by a stop request")
                break
            faults.fault_point(faults.AFTER_FETCH)
            summary.messages_read += 1
            handle_one(inbox, message, context, summary)
    return summary


def handle_one(inbox, message, context, summary: PassSummary) -> None:
    """Store one message unless it is already recorded, then file it on the server."""
    key = recording.MessageKey(inbox.name, inbox.uidvalidity, str(message.uid))
    message_id = header_message_id(message.raw)

    recorded = recording.find_recorded(key, message_id)
    if recorded is not None and recorded.outcome != recording.PENDING:
        summary.already_recorded += 1
        log.info("message %s already recorded as %s; filing it", MessageId(message_id or key.uid),
                 recorded.outcome)
        file_on_server(inbox, message, recorded, context.config)
        return

    try:
        with database_proxy.atomic():
            handled = handle_message(key, message, message_id, context)
    except MailboxError:
        raise
    except Exception as exc:
        # The edge of the per-message loop: whatever went wrong was rolled
        # back, and the message is counted and retried on the next pass.
        fail_message(inbox, message, key, message_id, exc, context.config, summary)
        return

    faults.fault_point(faults.AFTER_STORE)
    count_handled(handled, summary)
    file_on_server(inbox, message, handled.inbound, context.config)


def count_handled(handled, summary: PassSummary) -> None:
    if handled.report is None:
        summary.not_answers += 1
        return
    summary.reports[handled.report.color] = summary.reports.get(handled.report.color, 0) + 1
    if handled.reply_skipped:
        summary.replies_skipped += 1


def fail_message(inbox, message, key, message_id, error, config, summary) -> None:
    """Count a failed attempt, and quarantine the message once it has failed MAX_ATTEMPTS times."""
    row = recording.record_failure(key, message_id, message.raw, message.received_at, error)
    log.error("message %s failed (attempt %d of %d): %s", MessageId(message_id or key.uid),
              row.attempts, MAX_ATTEMPTS, recording.describe_error(error))
    log.debug("message %s failure traceback", MessageId(message_id or key.uid), exc_info=error)
    summary.failed += 1
    if row.attempts < MAX_ATTEMPTS:
        return

    recording.mark_quarantined(row, tr(
        "falló {n} veces; último error: {error}", "failed {n} times; last error: {error}",
        n=row.attempts, error=row.last_error))
    summary.quarantined += 1
    file_on_server(inbox, message, row, config)


def file_on_server(inbox, message, row, config) -> None:
    """Move the message to the folder its outcome belongs in, and record that it was moved."""
    folder = config.quarantine_folder if row.outcome == recording.QUARANTINED else config.processed_folder
    faults.fault_point(faults.BEFORE_MARK)
    inbox.move(message, folder)
    recording.mark_handled_on_server(row)


def send_outbox(config) -> int:
    """Send what waits in the outbox and return how many messages were sent."""
    from mailtriage.outbox import send_pending

    result = send_pending(config)
    if result.error:
        log.warning("outbox: sending stopped early: %s", result.error)
    return result.sent

