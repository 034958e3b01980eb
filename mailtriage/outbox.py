"""Sending the outbox: every pending OutboxMessage that is due, over SMTP or into a Maildir.

Each row's outcome is committed as soon as the server has replied for it,
so a crash resends at most the messages in flight (one per connection).
Those carry the row's stable Message-ID, so a resend is recognisable. A 4xx
reply or a lost connection keeps the row pending with an exponential
backoff, and a 5xx reply marks it failed with the server's text. Daemons
sharing a PostgreSQL database claim rows before sending them (claims.py),
so each row is sent by one daemon.
"""

import asyncio
import logging
import mailbox
from dataclasses import dataclass
from datetime import timedelta

from mailtriage import claims, clock, faults
from mailtriage.i18n import tr
from mailtriage.logsetup import MessageId
from mailtriage.models import Issuance, OutboxMessage, database_proxy
from mailtriage.outmessage import build_message, message_bytes

log = logging.getLogger("mailtriage.outbox")

PENDING, SENT, FAILED = "pending", "sent", "failed"

# The outbox kinds that questionnaires.py gives a questionnaire's own row.
QUESTIONNAIRE_KINDS = ("welcome", "questionnaire")

# A temporary failure is retried after outbox_retry_seconds, then after
# twice as long each time up to MAX_RETRY_DELAY, and the row fails at
# MAX_ATTEMPTS. With the default 60 s, the ten attempts span about six
# hours, which rides out a relay outage of a morning. Advice older than that
# is stale, and staff see the failed row.
MAX_ATTEMPTS = 10

# Outbox rows loaded per round of sending. A row with both bodies takes a
# few KiB, so a round stays within a few MiB, and each round reopens at
# most smtpsend.MAX_CONNECTIONS connections.
SEND_BATCH_ROWS = 500
MAX_RETRY_DELAY = timedelta(hours=2)


@dataclass
class SendSummary:
    """Counts of one send pass, for the CLI and the log."""

    sent: int = 0
    deferred: int = 0  # kept pending after a temporary failure
    failed: int = 0
    # The connection failure that ended the pass early, for the operator.
    error: str | None = None


def send_pending(config, limit: int | None = None) -> SendSummary:
    """Send the due pending rows of the outbox, oldest first, at most ``limit``.

    Rows are loaded SEND_BATCH_ROWS at a time, so a morning's questionnaires
    or the replies to a large backlog never sit in memory all at once.
    """
    outcomes = Outcomes(timedelta(seconds=config.outbox_retry_seconds))
    handled: set[int] = set()
    while limit is None or len(handled) < limit:
        wanted = SEND_BATCH_ROWS if limit is None else min(SEND_BATCH_ROWS, limit - len(handled))
        # A row that is still due after its batch had no outcome recorded
        # (the pass stopped early), so it is left for the next pass.
        rows = [row for row in due_rows(wanted) if row.id not in handled]
        if not rows:
            break
        handled.update(row.id for row in rows)
        claimed = claim_rows(rows)
        try:
            send_rows(claimed, config, outcomes)
        finally:
            claims.release_many(claims.OUTBOX_MESSAGE, [row.id for row in claimed])
        if outcomes.summary.error is not None:
            break
    return outcomes.summary


def send_rows(rows: list[OutboxMessage], config, outcomes: "Outcomes") -> None:
    if config.smtp.scheme == "maildir":
        deliver_to_maildir(rows, config, outcomes)
    else:
        from mailtriage.smtpsend import send_over_smtp
        asyncio.run(send_over_smtp(rows, config, outcomes))


def claim_rows(rows: list[OutboxMessage]) -> list[OutboxMessage]:
    """Return the rows this daemon may send: those no other daemon holds, claimed (see claims.py).

    On PostgreSQL the claimed rows are read again, because another daemon
    may have sent or deferred one of them since it was loaded.
    """
    if not claims.is_shared():
        return rows
    claimed = claims.claim_many(claims.OUTBOX_MESSAGE, [row.id for row in rows])
    fresh = due_rows(None, OutboxMessage.id.in_(list(claimed))) if claimed else []
    claims.release_many(claims.OUTBOX_MESSAGE, claimed - {row.id for row in fresh})
    return fresh


def due_rows(limit: int | None, *conditions) -> list[OutboxMessage]:
    query = (OutboxMessage.select()
             .where((OutboxMessage.status == PENDING) & (OutboxMessage.next_attempt_at <= clock.now()),
                    *conditions)
             .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id))
    if limit is not None:
        query = query.limit(limit)
    return list(query)


def retry_delay(retry_base: timedelta, attempts: int) -> timedelta:
    """Return the wait after the ``attempts``-th temporary failure: doubling, capped."""
    return min(retry_base * 2 ** (attempts - 1), MAX_RETRY_DELAY)


class Outcomes:
    """Recorder of each row's outcome: it commits the outcome at once and counts it in ``summary``."""

    def __init__(self, retry_base: timedelta):
        self.retry_base = retry_base
        self.summary = SendSummary()

    def sent(self, row: OutboxMessage) -> None:
        now = clock.now()
        with database_proxy.atomic():
            row.status, row.sent_at, row.last_error = SENT, now, None
            row.attempts += 1
            # Only the changed columns, so each send does not rewrite both bodies.
            row.save(only=[OutboxMessage.status, OutboxMessage.sent_at, OutboxMessage.last_error,
                           OutboxMessage.attempts])
            # The questionnaire's own row carries the issuance's Message-ID.
            # Replies and reminders point at the issuance too, but do not count.
            if row.issuance_id is not None and row.kind in QUESTIONNAIRE_KINDS:
                (Issuance.update(sent_at=now)
                 .where((Issuance.id == row.issuance_id) & (Issuance.message_id == row.message_id)
                        & Issuance.sent_at.is_null())
                 .execute())
        self.summary.sent += 1
        log.info("outbox %d message %s sent", row.id, MessageId(row.message_id))

    def deferred(self, row: OutboxMessage, error: str) -> None:
        """Keep the row pending with a later next_attempt_at, or fail it at MAX_ATTEMPTS."""
        if row.attempts + 1 >= MAX_ATTEMPTS:
            self.failed(row, tr("se abandonó tras {n} intentos; último error: {error}",
                                "gave up after {n} attempts; last error: {error}",
                                n=row.attempts + 1, error=error))
            return

        row.attempts += 1
        delay = retry_delay(self.retry_base, row.attempts)
        row.next_attempt_at = clock.now() + delay
        row.last_error = error
        with database_proxy.atomic():
            row.save()
        self.summary.deferred += 1
        log.warning("outbox %d message %s deferred (attempt %d of %d), next try in %d s",
                    row.id, MessageId(row.message_id), row.attempts, MAX_ATTEMPTS,
                    delay.total_seconds())

    def failed(self, row: OutboxMessage, error: str) -> None:
        row.attempts += 1
        row.status, row.last_error = FAILED, error
        with database_proxy.atomic():
            row.save()
        self.summary.failed += 1
        log.error("outbox %d message %s failed after %d attempt(s)",
                  row.id, MessageId(row.message_id), row.attempts)


def deliver_to_maildir(rows: list[OutboxMessage], config, outcomes: Outcomes) -> None:
    """Write each message into the configured Maildir instead of sending it (the demo's default)."""
    try:
        sent_folder = mailbox.Maildir(config.smtp.path, factory=None, create=True)
    except OSError as exc:
        outcomes.summary.error = maildir_error(config, exc)
        log.error("outbox: %s", outcomes.summary.error)
        return

    for row in rows:
        faults.fault_point(faults.BEFORE_SEND)
        try:
            sent_folder.add(message_bytes(build_message(row, config)))
        except OSError as exc:
            outcomes.deferred(row, maildir_error(config, exc))
            continue
        faults.fault_point(faults.AFTER_SEND)
        outcomes.sent(row)


def maildir_error(config, exc: OSError) -> str:
    return tr("no se pudo escribir en el Maildir {path}: {why}. Revise la ruta y los permisos",
              "cannot write to the Maildir {path}: {why}. Check the path and its permissions",
              path=config.smtp.path, why=exc.strerror or exc)
