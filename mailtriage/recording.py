"""The pipeline's database records of each message read from the mailbox.

A message is identified by its mailbox, UIDVALIDITY and UID, and, across a
UIDVALIDITY change, by its Message-ID. The functions here run inside the
caller's transaction, except ``record_start`` and ``record_failure``, which
commit on their own: one before the message's transaction, the other after
it was rolled back.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from peewee import IntegrityError, OperationalError

from mailtriage import claims, clock
from mailtriage.models import InboundMessage, OutboxMessage, Report, database_proxy

PENDING = "pending"
REPORTED = "reported"
RECORDED = "recorded"
QUARANTINED = "quarantined"

# Maximum length of the error text stored with a message. The traceback goes to the log.
MAX_ERROR_CHARS = 500

REPLY_KIND = "reply"
# An outbox row that was never meant to be sent, with the reason in last_error.
SKIPPED = "skipped"


@dataclass(frozen=True)
class MessageKey:
    """The location of a message: mailbox, UIDVALIDITY (None for a Maildir), and UID or Maildir key."""

    mailbox: str
    uidvalidity: int | None
    uid: str


def _key_filter(key: MessageKey):
    # SQLite's unique index treats NULLs as distinct, so a Maildir key
    # (no UIDVALIDITY) is looked up with IS NULL explicitly.
    same_validity = (InboundMessage.uidvalidity.is_null() if key.uidvalidity is None
                     else InboundMessage.uidvalidity == key.uidvalidity)
    return (InboundMessage.mailbox == key.mailbox) & same_validity & (InboundMessage.uid == key.uid)


def find_recorded(key: MessageKey, message_id: str | None) -> InboundMessage | None:
    """Return the row of a message already seen: by key, else a finished row with its Message-ID.

    The Message-ID look-up covers a UIDVALIDITY change, after which every
    message of the mailbox comes back with a new UID.
    """
    row = InboundMessage.get_or_none(_key_filter(key))
    if row is not None or not message_id:
        return row

    return (InboundMessage.select()
            .where((InboundMessage.mailbox == key.mailbox)
                   & (InboundMessage.message_id == message_id)
                   & (InboundMessage.outcome != PENDING))
            .order_by(InboundMessage.id)
            .first())


def inbound_row(key: MessageKey, message_id: str | None, raw: bytes, received_at: datetime,
                size: int | None = None) -> InboundMessage:
    """Return the message's row, created as pending when it has none yet.

    ``size`` is the whole message's size as the server reported it, which
    exceeds ``len(raw)`` when only the header of an oversize message was read.
    """
    row = InboundMessage.get_or_none(_key_filter(key))
    if row is not None:
        return row
    return InboundMessage.create(
        mailbox=key.mailbox, uidvalidity=key.uidvalidity, uid=key.uid, message_id=message_id,
        received_at=received_at, size=len(raw) if size is None else size, raw=raw,
        outcome=PENDING, created_at=clock.now())


def record_start(key: MessageKey, message_id: str | None, raw: bytes, received_at: datetime,
                 size: int | None = None) -> InboundMessage | None:
    """Claim a message and count an attempt at it before handling it, in a transaction of its own.

    Counting before the work, not after a failure, is what lets a message
    that kills the process (memory, a crash in C code) reach the quarantine:
    its failed attempts are on record even though nothing ran after them.

    Returns None when another daemon sharing the database is handling the
    message or has finished it. Otherwise the caller holds the message's
    claim (see claims.py) and gives the row to ``release`` when done.
    """
    claimed_id = None
    try:
        with database_proxy.atomic():
            row = inbound_row(key, message_id, raw, received_at, size)
            if not claims.claim(claims.INBOUND_MESSAGE, row.id):
                return None
            claimed_id = row.id
            return count_attempt(row)
    except BaseException as exc:
        # The claim outlives a rolled-back transaction, so it is released here.
        if claimed_id is not None:
            claims.release(claims.INBOUND_MESSAGE, claimed_id)
        if isinstance(exc, IntegrityError):
            # Another daemon stored the message's row first, so it handles it.
            return None
        raise


def count_attempt(row: InboundMessage) -> InboundMessage | None:
    if claims.is_shared():
        # Another daemon may have finished the message after the row was read.
        row = InboundMessage.get_by_id(row.id)
        if row.outcome != PENDING:
            claims.release(claims.INBOUND_MESSAGE, row.id)
            return None
    row.attempts += 1
    row.save()
    return row


def claim_for_filing(row: InboundMessage) -> bool:
    """Claim a recorded message for filing, and return False when another daemon files it or did.

    The caller passes the claim to the filing, which releases it once the
    message is moved.
    """
    if not claims.claim(claims.INBOUND_MESSAGE, row.id):
        return False
    if claims.is_shared() and InboundMessage.get_by_id(row.id).handled_on_server:
        claims.release(claims.INBOUND_MESSAGE, row.id)
        return False
    return True


def release(row: InboundMessage) -> None:
    """Release the claim ``record_start`` took, once the message is handled or set aside."""
    claims.release(claims.INBOUND_MESSAGE, row.id)


def undo_start(row: InboundMessage) -> None:
    """Take back the attempt ``record_start`` counted, when the database, not the message, failed.

    Best effort: when the database is still locked the count stays, and the
    message comes closer to the quarantine only through repeated locks.
    """
    try:
        InboundMessage.update(attempts=InboundMessage.attempts - 1).where(
            (InboundMessage.id == row.id) & (InboundMessage.attempts > 0)).execute()
    except OperationalError:
        pass


def record_failure(key: MessageKey, message_id: str | None, raw: bytes, received_at: datetime,
                   error: BaseException, size: int | None = None) -> InboundMessage:
    """Record why an attempt failed, in a transaction of its own, and return the message's row."""
    with database_proxy.atomic():
        row = inbound_row(key, message_id, raw, received_at, size)
        row.last_error = describe_error(error)
        row.save()
    return row


def describe_error(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:MAX_ERROR_CHARS]


def mark_quarantined(row: InboundMessage, reason: str) -> None:
    row.outcome = QUARANTINED
    row.last_error = reason[:MAX_ERROR_CHARS]
    row.save()


def first_report_of_day(patient_id: int, local_date) -> Report | None:
    """Return the patient's first report of that local day, to which a re-reply is linked."""
    return (Report.select()
            .where((Report.patient == patient_id) & (Report.local_date == local_date)
                   & Report.first_of_day.is_null())
            .order_by(Report.received_at, Report.id)
            .first())


def replies_in_last_hour(address: str, now: datetime) -> int:
    """Count the replies queued to ``address`` in the hour before ``now``, skipped ones excluded."""
    return (OutboxMessage.select()
            .where((OutboxMessage.kind == REPLY_KIND)
                   & (OutboxMessage.to_address == address)
                   & (OutboxMessage.status != SKIPPED)
                   & (OutboxMessage.created_at > now - timedelta(hours=1)))
            .count())


def skip_reply(outbox: OutboxMessage, reason: str) -> None:
    """Keep the reply's row for the record, but never send it."""
    outbox.status = SKIPPED
    outbox.last_error = reason
    outbox.save()
