"""Read, match, triage and store one message, inside the caller's transaction.

This is the part of a pass that touches no mailbox: given a message's bytes
it writes the InboundMessage, and for an answer the Report and the reply's
OutboxMessage. The caller commits or rolls back all of it at once.
"""

import email.utils
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from mailtriage import clock, faults, recording
from mailtriage.alerts import enqueue_staff_alert
from mailtriage.contracts import (
    ANSWER, FOLIO_MISMATCH, ROJO, UNKNOWN_FOLIO, UNKNOWN_SENDER, MessageReading,
)
from mailtriage.i18n import tr
from mailtriage.logsetup import MessageId
from mailtriage.models import InboundMessage, OutboxMessage, Patient, Report

log = logging.getLogger("mailtriage.pipeline")

# The From field of a message's header block, with up to four folded lines.
# RFC 5322 section 2.1.1 limits a line to 998 characters.
FROM_FIELD = re.compile(rb"^From:[ \t]*([^\r\n]{0,998}(?:\r?\n[ \t][^\r\n]{0,998}){0,4})",
                        re.MULTILINE | re.IGNORECASE)
HEADER_END = re.compile(rb"\r?\n\r?\n")


@dataclass
class Handled:
    """The outcome of one message: its row, and its report when it was an answer."""

    inbound: InboundMessage
    report: Report | None = None
    reply_skipped: bool = False


@dataclass
class PassContext:
    """The inputs shared by every message of a pass, loaded once per pass."""

    config: object
    ruleset: object
    directory: object


def load_pass_context(config) -> PassContext:
    """Load the rule set and the patient directory for a pass.

    A bad rule file raises RulesError here, before any message is read, so
    it fails the pass instead of sending every message to quarantine.
    """
    from mailtriage.matching import StoreDirectory
    from mailtriage.ruleset import ruleset_for

    return PassContext(config=config, ruleset=ruleset_for(config), directory=StoreDirectory())


def read_message(message, context: PassContext):
    """Parse the message and match it to a patient; return (reading, match)."""
    from mailtriage.matching import match_reading
    from mailtriage.parser import parse_message

    # The inbox hands over only the header of an oversize message, so the
    # limit is checked on the size the server reported, never on len(raw).
    # Any length exceeds a limit of -1, which sends even an empty header
    # down the parser's oversize path: headers only, kind "oversize".
    max_bytes = context.config.max_message_bytes
    oversize = message.truncated or message.size > max_bytes
    reading = parse_message(message.raw, -1 if oversize else max_bytes)
    reading.size = message.size
    if oversize:
        reading.reason = tr("mensaje demasiado grande: {size} bytes (límite {limit})",
                            "message too large: {size} bytes (limit {limit})",
                            size=message.size, limit=max_bytes)
    if reading.kind != ANSWER:
        return reading, None
    return reading, match_reading(reading, context.directory)


def handle_message(key: recording.MessageKey, message, message_id: str | None,
                   context: PassContext) -> Handled:
    """Store the message as an answer or a non-answer, inside the caller's transaction.

    ``message`` is an ``inbox.InboxMessage``: its raw bytes (the header only
    when truncated), its size and its arrival time. ``message_id`` is the one
    the pipeline looked the message up by, so later passes find the same row.
    """
    raw, received_at = message.raw, message.received_at
    reading, match = read_message(message, context)
    kind = match.kind if match is not None else reading.kind

    inbound = recording.inbound_row(key, message_id, raw, received_at, size=message.size)
    inbound.kind = kind
    inbound.size = message.size
    inbound.message_id = message_id
    inbound.folio = (match.folio if match is not None else None) or reading.folio

    if kind != ANSWER:
        inbound.sender_patient = sender_patient_id(reading, raw, context)
        return record_not_answer(inbound, reading)

    inbound.patient = match.patient_id
    faults.fault_point(faults.BEFORE_STORE)
    return record_answer(inbound, reading, match, received_at, context)


def record_not_answer(inbound: InboundMessage, reading: MessageReading) -> Handled:
    """Record a message that is not an answer, with why, and never reply to it."""
    inbound.outcome = recording.RECORDED
    inbound.last_error = reading.reason or match_reason(inbound.kind)
    inbound.save()
    log.info("message %s recorded as %s (sender patient %s)", MessageId(inbound.message_id or inbound.uid),
             inbound.kind, inbound.sender_patient_id or "-")
    return Handled(inbound=inbound)


def sender_patient_id(reading: MessageReading, raw: bytes, context: PassContext) -> int | None:
    """Return the id of the patient (monitored or discharged) whose address sent the message, or None.

    The structural check rejects some messages before their header is
    parsed, so their sender is read from the raw From field.
    """
    sender = reading.sender or raw_sender(raw)
    if not sender:
        return None
    return context.directory.patient_by_email(sender)


def raw_sender(raw: bytes) -> str:
    """Return the lower-cased address of the From field, found without the email parser, or ""."""
    header_end = HEADER_END.search(raw)
    found = FROM_FIELD.search(raw, 0, header_end.start() if header_end else len(raw))
    if found is None:
        return ""
    value = re.sub(r"\r?\n[ \t]", " ", found.group(1).decode("utf-8", "replace"))
    return email.utils.parseaddr(value)[1].strip().lower()


def match_reason(kind: str) -> str | None:
    """Return why matching rejected a message, for staff, when the parser gave no reason."""
    reasons = {
        UNKNOWN_SENDER: tr("el remitente no es un paciente en seguimiento",
                           "the sender is not a patient under monitoring"),
        UNKNOWN_FOLIO: tr("el folio no existe", "the folio does not exist"),
        FOLIO_MISMATCH: tr("el folio es de otro paciente", "the folio belongs to another patient"),
    }
    return reasons.get(kind)


def record_answer(inbound: InboundMessage, reading: MessageReading, match,
                  received_at: datetime, context: PassContext) -> Handled:
    """Triage the answers and store the report and the reply."""
    patient = Patient.get_by_id(match.patient_id)
    unit = context.config.unit(patient.unit.code)
    timezone = unit.timezone if unit else context.config.timezone
    local_date = clock.local_date(received_at, timezone)

    result = triage_answers(reading, patient, unit, local_date, received_at, context)
    inbound.outcome = recording.REPORTED
    inbound.save()
    report = store_report(inbound, reading, match, result, received_at, local_date)
    # The loaded patient, with its unit, spares the reply two queries.
    report.patient = patient

    skipped = queue_reply(report, inbound, reading, result, context.config)
    alert_staff_if_red(report, context.config)
    log.info("message %s: report %s (folio %s) is %s", MessageId(inbound.message_id or inbound.uid),
             report.id, inbound.folio or "-", report.color)
    return Handled(inbound=inbound, report=report, reply_skipped=skipped)


def triage_answers(reading, patient, unit, local_date, received_at, context):
    from mailtriage.rules import triage
    from mailtriage.triage_inputs import history_for, profile_for

    # Unreadable answers go to triage as Unreadable values, so an alarm item
    # that could not be read is never taken for "no".
    answers = {**reading.answers, **reading.unreadable}
    profile = profile_for(patient, unit, local_date)
    history = history_for(patient, received_at)
    return triage(answers, profile, history, received_at, context.ruleset)


def store_report(inbound, reading, match, result, received_at, local_date) -> Report:
    first = recording.first_report_of_day(match.patient_id, local_date)
    return Report.create(
        patient=match.patient_id,
        # The match found this issuance in the same transaction, so its id is valid.
        issuance=match.issuance_id,
        inbound=inbound,
        first_of_day=first,
        received_at=received_at,
        local_date=local_date,
        matched_by=match.matched_by or "folio",
        answers=reading.answers,
        unanswered=list(reading.unanswered),
        unreadable={key: {"raw": item.raw, "why": item.why} for key, item in reading.unreadable.items()},
        color=result.color,
        priority=result.priority,
        hits=[hit_record(hit) for hit in result.hits],
        flags=list(result.flags),
        blocks=list(result.blocks),
        ruleset_version=result.ruleset_version,
        created_at=clock.now(),
    )


def hit_record(hit) -> dict:
    return {"rule_id": hit.rule_id, "color": hit.color, "priority": hit.priority,
            "reason": hit.reason, "values": dict(hit.values)}


def queue_reply(report: Report, inbound: InboundMessage, reading: MessageReading, result,
                config) -> bool:
    """Queue the color's reply; return True when the sender's hourly limit skipped it.

    The first red reply within an hour is exempt from the limit, because it
    sends the patient to Urgencias now. Later red replies in that hour count
    against the limit like any other: after one red report every later
    report of the day is red too, so a patient who keeps writing would
    otherwise get one reply per message.
    """
    from mailtriage.replies import build_reply_outbox

    now = clock.now()
    address = report.patient.email
    exempt = report.color == ROJO and not red_reply_in_last_hour(address, now)
    already = recording.replies_in_last_hour(address, now)
    outbox = build_reply_outbox(report, reading, config, result=result)
    if exempt or already < config.max_replies_per_sender_per_hour:
        log.info("report %s: reply queued as %s", report.id, outbox.message_id)
        return False

    recording.skip_reply(outbox, tr(
        "no se envió: ya se enviaron {n} respuestas a este remitente en la última hora",
        "not sent: {n} replies were already sent to this sender in the last hour", n=already))
    # The pass summary logs how many replies were skipped, once per pass.
    log.debug("message %s: reply to report %s skipped, sender over %d replies per hour",
              MessageId(inbound.message_id or inbound.uid), report.id,
              config.max_replies_per_sender_per_hour)
    return True


def red_reply_in_last_hour(address: str, now: datetime) -> bool:
    """Return True when a red report's reply to ``address`` was queued, and not skipped, in the last hour."""
    return (OutboxMessage.select()
            .join(Report, on=(OutboxMessage.report == Report.id))
            .where((OutboxMessage.kind == recording.REPLY_KIND)
                   & (OutboxMessage.to_address == address)
                   & (OutboxMessage.status != recording.SKIPPED)
                   & (OutboxMessage.created_at > now - timedelta(hours=1))
                   & (Report.color == ROJO))
            .exists())


def alert_staff_if_red(report: Report, config) -> None:
    if report.color == ROJO:
        enqueue_staff_alert(report, config)
