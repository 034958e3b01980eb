"""One pass over the mailbox: read each new message, store what it is, reply, and file it.

Each message is handled in one database transaction (the inbound message,
the report and the reply together), and only then moved to the processed
folder, FILE_BATCH_MESSAGES at a time. A crash between the two leaves
recorded messages in the inbox, which the next pass recognises and only
files. A message that fails is
rolled back and counted. After MAX_ATTEMPTS failures it is moved to the
quarantine folder, and the pass goes on with the next message.
"""

import dataclasses
import logging
import re
import threading
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.policy import compat32

from peewee import OperationalError

from mailtriage import claims, faults, recording
from mailtriage.contracts import AMARILLO, ROJO, VERDE
from mailtriage.errors import MailboxError
from mailtriage.handling import handle_message, load_pass_context
from mailtriage.heartbeat import record_poll
from mailtriage.i18n import tr
from mailtriage.logsetup import MessageId
from mailtriage.models import InboundMessage, database_proxy
from mailtriage.passlock import exclusive_pass

log = logging.getLogger("mailtriage.pipeline")

# The id inside a Message-ID header, without comments or folding around it.
MESSAGE_ID = re.compile(r"<[^<>\s]+>")

# A message that fails this many passes in a row is set aside: a persistent
# failure (a parser bug, a corrupt message) must not block the mailbox, and
# three tries ride out a brief database lock or a restart.
MAX_ATTEMPTS = 3

# Recorded messages are moved on the server this many at a time. Dovecot
# 2.3 took about 5 ms per MOVE command whatever the number of UIDs in it
# (bench/run.py), so one MOVE per message cost more than the message's
# reading, triage and storing together.
FILE_BATCH_MESSAGES = 200


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
    # Another process held the pass lock, so nothing was read or sent.
    busy: bool = False

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


def run_pass(config, stop: threading.Event | None = None, send: bool = True,
             inbox=None) -> PassSummary:
    """Handle every new message of the mailbox, then send the outbox.

    ``inbox``, when given, is an open inbox to read instead of opening one
    for this pass, as the mailbox watcher does between its waits.
    """
    with exclusive_pass(config.database_url) as ours:
        if not ours:
            log.info("another process is handling the mailbox; this pass did nothing")
            return PassSummary(busy=True)

        try:
            summary = process_mailbox(config, stop, inbox)
        except MailboxError:
            # Replies stored in earlier passes still go out while the mailbox is down.
            if send:
                send_outbox(config)
            raise
        if send:
            summary.sent = send_outbox(config)
    record_poll(summary)
    return summary


def process_mailbox(config, stop: threading.Event | None = None, inbox=None) -> PassSummary:
    """Handle every new message once; stop early, between messages, when ``stop`` is set."""
    from mailtriage.inbox import open_inbox

    if inbox is not None:
        return read_inbox(inbox, config, stop)
    with open_inbox(config) as opened:
        return read_inbox(opened, config, stop)


def read_inbox(inbox, config, stop: threading.Event | None) -> PassSummary:
    summary = PassSummary()
    context = load_pass_context(config)
    filing = Filing(inbox, config)
    try:
        for message in inbox.new_messages():
            if stop is not None and stop.is_set():
                log.info("pass interrupted by a stop request")
                break
            if message.raw is None:
                # Another client moved the message while it was fetched: with
                # Dovecot 2.3 imapclient then returns its body as None.
                continue
            faults.fault_point(faults.AFTER_FETCH)
            summary.messages_read += 1
            handle_one(filing, message, context, summary)
        filing.flush()
    finally:
        # After a failed pass the waiting messages stay in the inbox, and
        # another daemon may file them.
        filing.release_claims()
    return summary


class Filing:
    """Recorded messages waiting to be moved on the server, by folder, moved in batches."""

    def __init__(self, inbox, config):
        self.inbox = inbox
        self.config = config
        self.waiting: dict[str, list[tuple]] = {}
        self.count = 0
        # Messages queued in this pass, so a caller can tell whether ``add`` took its claim.
        self.added = 0

    def add(self, message, row) -> None:
        """Queue ``message`` for the folder of its row's outcome; move the batch when it is full.

        The message's claim (see claims.py) passes to the filing, which
        releases it once the message is moved or the pass fails.
        """
        folder = (self.config.quarantine_folder if row.outcome == recording.QUARANTINED
                  else self.config.processed_folder)
        # Only the UID and the row id are kept: a batch of replies with
        # photos attached would otherwise stay in memory until it is moved.
        self.waiting.setdefault(folder, []).append((dataclasses.replace(message, raw=b""), row.id))
        self.count += 1
        self.added += 1
        if self.count >= FILE_BATCH_MESSAGES:
            self.flush()

    def flush(self) -> None:
        """Move every waiting message, then record in the database that it was moved."""
        if not self.count:
            return
        faults.fault_point(faults.BEFORE_MARK)
        try:
            for folder, items in self.waiting.items():
                self.inbox.move_many([message for message, _row_id in items], folder)
                ids = [row_id for _message, row_id in items]
                InboundMessage.update(handled_on_server=True).where(InboundMessage.id.in_(ids)).execute()
        finally:
            self.release_claims()

    def release_claims(self) -> None:
        """Release the claims of the waiting messages and forget them, moved or not."""
        claims.release_many(claims.INBOUND_MESSAGE,
                            [row_id for items in self.waiting.values() for _message, row_id in items])
        self.waiting.clear()
        self.count = 0


def handle_one(filing: Filing, message, context, summary: PassSummary) -> None:
    """Store one message unless it is already recorded, then queue it for filing on the server."""
    inbox = filing.inbox
    key = recording.MessageKey(inbox.name, inbox.uidvalidity, str(message.uid))
    message_id = header_message_id(message.raw)

    recorded = recording.find_recorded(key, message_id)
    if recorded is not None and recorded.outcome != recording.PENDING:
        summary.already_recorded += 1
        if not recording.claim_for_filing(recorded):
            log.info("message %s already recorded as %s; another daemon files it",
                     MessageId(message_id or key.uid), recorded.outcome)
            return
        log.info("message %s already recorded as %s; filing it", MessageId(message_id or key.uid),
                 recorded.outcome)
        filing.add(message, recorded)
        return

    try:
        started = recording.record_start(key, message_id, message.raw, message.received_at,
                                         size=message.size)
    except OperationalError as exc:
        leave_for_next_pass(message_id or key.uid, exc, summary)
        return
    if started is None:
        # Another daemon sharing the database holds the message, and that daemon files it.
        summary.already_recorded += 1
        log.info("message %s is handled by another daemon; skipping it",
                 MessageId(message_id or key.uid))
        return

    added_before = filing.added
    try:
        handle_started(filing, message, key, message_id, started, context, summary)
    finally:
        # A message queued for filing keeps its claim until it is moved.
        if filing.added == added_before:
            recording.release(started)


def handle_started(filing: Filing, message, key, message_id, started, context,
                   summary: PassSummary) -> None:
    """Handle a message whose attempt is counted: set it aside, or store it and queue it for filing."""
    if started.attempts > MAX_ATTEMPTS:
        # Every earlier attempt ended the process before it could record a failure.
        quarantine(filing, message, started, summary, tr(
            "el programa se detuvo {n} veces al procesarlo", "the program stopped {n} times while "
            "handling it", n=started.attempts - 1))
        return

    try:
        with database_proxy.atomic():
            handled = handle_message(key, message, message_id, context)
    except MailboxError:
        raise
    except OperationalError as exc:
        # A locked or busy database is no fault of the message: it is left
        # for the next pass, and the attempt counted at its start is taken back.
        recording.undo_start(started)
        leave_for_next_pass(message_id or key.uid, exc, summary)
        return
    except Exception as exc:
        # The edge of the per-message loop: whatever went wrong was rolled
        # back, and the message is counted and retried on the next pass.
        fail_message(filing, message, key, message_id, exc, summary)
        return

    faults.fault_point(faults.AFTER_STORE)
    count_handled(handled, summary)
    filing.add(message, handled.inbound)


def count_handled(handled, summary: PassSummary) -> None:
    if handled.report is None:
        summary.not_answers += 1
        return
    summary.reports[handled.report.color] = summary.reports.get(handled.report.color, 0) + 1
    if handled.reply_skipped:
        summary.replies_skipped += 1


def fail_message(filing: Filing, message, key, message_id, error, summary) -> None:
    """Count a failed attempt, and quarantine the message once it has failed MAX_ATTEMPTS times."""
    try:
        row = recording.record_failure(key, message_id, message.raw, message.received_at, error,
                                       size=message.size)
    except OperationalError as exc:
        log.error("message %s failed (%s) and is left for the next pass: database error "
                  "while recording the failure: %s", MessageId(message_id or key.uid),
                  recording.describe_error(error), exc)
        summary.failed += 1
        return
    log.error("message %s failed (attempt %d of %d): %s", MessageId(message_id or key.uid),
              row.attempts, MAX_ATTEMPTS, loggable_error(error))
    log.debug("message %s failure traceback", MessageId(message_id or key.uid), exc_info=error)
    summary.failed += 1
    if row.attempts < MAX_ATTEMPTS:
        return

    quarantine(filing, message, row, summary, tr(
        "falló {n} veces; último error: {error}", "failed {n} times; last error: {error}",
        n=row.attempts, error=row.last_error))


def loggable_error(error: BaseException) -> str:
    """Describe a failure for the log without text that could quote the patient's message.

    A system error's reason ("No space left on device") is safe and is what
    the administrator needs; any other error's text may carry parsed content,
    so only its type is logged. The whole text is kept with the message for
    `mailtriage quarantine list`.
    """
    if isinstance(error, OSError) and error.strerror:
        return f"{type(error).__name__}: {error.strerror}"
    return type(error).__name__


def quarantine(filing: Filing, message, row, summary: PassSummary, reason: str) -> None:
    """Set the message aside with its reason; it goes to the quarantine folder with the batch."""
    recording.mark_quarantined(row, reason)
    log.error("message %s quarantined after %d attempts", MessageId(row.message_id or row.uid),
              row.attempts)
    summary.quarantined += 1
    filing.add(message, row)


def leave_for_next_pass(message_id: str, error: OperationalError, summary: PassSummary) -> None:
    log.warning("message %s left for the next pass: database error: %s", MessageId(message_id), error)
    summary.failed += 1


def send_outbox(config) -> int:
    """Send what waits in the outbox and return how many messages were sent."""
    from mailtriage.outbox import send_pending

    result = send_pending(config)
    if result.error:
        log.warning("outbox: sending stopped early: %s", result.error)
    return result.sent

