"""The reply to a patient's report: the color's text, its extra blocks, and its outbox row.

The reply follows the patient's thread: ``Re:`` their subject, In-Reply-To
their Message-ID, and References their References plus that Message-ID.
It never lists rule ids or the reasons staff see.
"""

import logging
from dataclasses import dataclass, replace
from email.parser import BytesHeaderParser
from email.policy import default as default_policy

from mailtriage import clock
from mailtriage.contracts import MessageReading, TriageResult, Unreadable
from mailtriage.folios import InvalidFolioError, format_folio, normalize_folio
from mailtriage.mailtemplates import (
    RenderedMail, configured_unit, in_language, patient_language, render_pair,
)
from mailtriage.messageids import (
    random_message_id, references_after, sender_address, sender_domain, split_message_ids,
)
from mailtriage.models import OutboxMessage, Report
from mailtriage.questions import DEFAULT_QUESTIONS, question_number

log = logging.getLogger("mailtriage.replies")

REPLY_KIND = "reply"

# The blocks follow the color text in this order. "nothing_read" replaces
# "could_not_read" because it begins the same request in other words.
BLOCK_ORDER = ("nothing_read", "could_not_read", "very_low_spo2", "measure_spo2", "comment_go_now")


@dataclass(frozen=True)
class ReplyContext:
    """The parts of the patient's message that a reply uses: subject, folio, ids and the SpO2 text."""

    subject: str = ""
    folio: str | None = None
    message_id: str | None = None
    references: tuple[str, ...] = ()
    spo2_text: str = ""

    @classmethod
    def from_reading(cls, reading: MessageReading) -> "ReplyContext":
        spo2 = reading.unreadable.get("spo2")
        return cls(subject=reading.subject, folio=_stored_folio(reading.folio),
                   message_id=reading.message_id, references=_thread_order(reading.in_reply_to),
                   spo2_text=spo2.raw if spo2 is not None else "")

    @classmethod
    def from_report(cls, report: Report) -> "ReplyContext":
        """Rebuild the context from a stored report and the raw message kept with it."""
        headers = _raw_headers(report)
        references = split_message_ids(headers.get("References")) or split_message_ids(
            headers.get("In-Reply-To"))
        folio = report.issuance.folio if report.issuance_id else None
        return cls(subject=str(headers.get("Subject", "")), folio=folio,
                   message_id=str(headers.get("Message-ID", "")).strip() or None,
                   references=tuple(references),
                   spo2_text=_raw_text((report.unreadable or {}).get("spo2")))


def _thread_order(thread_ids: list[str]) -> tuple[str, ...]:
    """Return a reading's thread ids oldest first, as References lists them.

    The parser lists In-Reply-To first and then References newest first.
    """
    return tuple(reversed(thread_ids))


def _stored_folio(text: str | None) -> str | None:
    try:
        return normalize_folio(text) if text else None
    except InvalidFolioError:
        return None


def _raw_headers(report: Report):
    raw = report.inbound.raw if report.inbound_id else None
    if not raw:
        return {}
    return BytesHeaderParser(policy=default_policy).parsebytes(bytes(raw))


def _raw_text(stored) -> str:
    """Return the patient's text of an unreadable answer as Report.unreadable stores it."""
    if isinstance(stored, Unreadable):
        return stored.raw
    if isinstance(stored, dict):
        return str(stored.get("raw", ""))
    if isinstance(stored, (list, tuple)) and stored:
        return str(stored[0])
    return str(stored or "")


def reply_subject(patient_subject: str, folio: str | None, language: str) -> str:
    """Return ``Re:`` and the patient's subject, or a default subject naming the folio."""
    subject = " ".join((patient_subject or "").split())
    if subject:
        return subject if subject.lower().startswith("re:") else f"Re: {subject}"

    default = in_language(language, "Respuesta a su cuestionario de automonitoreo COVID-19",
                          "Reply to your COVID-19 self-monitoring questionnaire")
    return f"{default} [Folio {format_folio(folio)}]" if folio else default


def ordered_blocks(blocks) -> list[str]:
    """Return the result's blocks once each, in reading order, with unknown names last."""
    chosen = list(dict.fromkeys(blocks))
    if "nothing_read" in chosen and "could_not_read" in chosen:
        chosen.remove("could_not_read")
    known = [name for name in BLOCK_ORDER if name in chosen]
    return known + [name for name in chosen if name not in BLOCK_ORDER]


def numbered_short_names(keys, language: str, questions=DEFAULT_QUESTIONS) -> list[dict]:
    """Return the questions of ``keys`` by number and short name, in questionnaire order."""
    by_key = {question.key: question for question in questions}
    numbered = sorted((question_number(key, questions), by_key[key]) for key in set(keys) if key in by_key)
    return [{"number": number, "short_name": question.short_name(language)} for number, question in numbered]


def render_reply(result: TriageResult, patient, unit, language: str, context,
                 config=None, questions=DEFAULT_QUESTIONS) -> RenderedMail:
    """Render the reply for a triage result in ``language``.

    ``context`` is a ReplyContext, a MessageReading or a stored Report.
    """
    context = _as_context(context)
    folio = format_folio(context.folio) if context.folio else ""
    subject = reply_subject(context.subject, context.folio, language)
    return render_pair(
        config, language, "reply", subject,
        first_name=patient.first_name, unit=unit, color=result.color, priority=result.priority,
        blocks=ordered_blocks(result.blocks), folio=folio, spo2_text=context.spo2_text.strip(),
        unreadable_questions=numbered_short_names(result.unreadable_keys, language, questions),
        spo2_number=question_number("spo2", questions) if "spo2" in _keys(questions) else "",
    )


def _as_context(context) -> ReplyContext:
    if isinstance(context, ReplyContext):
        return context
    if isinstance(context, MessageReading):
        return ReplyContext.from_reading(context)
    if isinstance(context, Report):
        return ReplyContext.from_report(context)
    raise TypeError(f"expected ReplyContext, MessageReading or Report, got {type(context).__name__}")


def _keys(questions) -> set[str]:
    return {question.key for question in questions}


def result_from_report(report: Report) -> TriageResult:
    """Rebuild what the reply needs of a TriageResult from the stored report.

    NOTE: the stored report keeps only this message's unreadable and
    unanswered items, so the "could not read" block names this message's
    unreadable answers and blank alarm items, not the whole day's merged
    record. Pass the TriageResult to build_reply_outbox to name the latter.
    """
    alarm_keys = {question.key for question in DEFAULT_QUESTIONS if question.alarm}
    unreadable = list(report.unreadable or {})
    blank_alarms = [key for key in report.unanswered or [] if key in alarm_keys]
    return TriageResult(color=report.color, priority=report.priority, hits=[],
                        flags=list(report.flags or []), blocks=list(report.blocks or []),
                        unreadable_keys=unreadable + blank_alarms,
                        ruleset_version=report.ruleset_version)


def build_reply_outbox(report: Report, reading: MessageReading | None, config,
                       result: TriageResult | None = None, now=None) -> OutboxMessage:
    """Create the reply's outbox row for a stored report, with a new stable Message-ID.

    The caller's transaction should also hold the report, so the report and
    its reply are stored together or not at all.
    """
    patient = report.patient
    unit = configured_unit(patient, config)
    language = patient_language(patient, config)
    context = ReplyContext.from_reading(reading) if reading is not None else ReplyContext.from_report(report)
    if not context.folio and report.issuance_id:
        context = replace(context, folio=report.issuance.folio)

    mail = render_reply(result or result_from_report(report), patient, unit, language, context, config)
    moment = now or clock.now()
    message = OutboxMessage.create(
        kind=REPLY_KIND, patient=patient, report=report, issuance=report.issuance_id,
        to_address=patient.email, subject=mail.subject,
        message_id=random_message_id("r", sender_domain(config)),
        in_reply_to=context.message_id,
        references=references_after(list(context.references), context.message_id) or None,
        body_text=mail.text, body_html=mail.html,
        extra_headers={"Reply-To": sender_address(config)},
        next_attempt_at=moment, created_at=moment)
    # The caller logs the reply after its hourly-limit check, so a skipped reply is not logged as queued.
    return message


def render_staff_alert(patient_id: int, unit, config, language: str | None = None) -> RenderedMail:
    """Render the alert telling a unit's staff that a patient needs attention.

    It names only the patient's database id and the unit, because the alert
    travels by ordinary email: no symptoms, answers or color reasons.
    """
    language = language or (config.language if config is not None else "es")
    subject = in_language(language, "Automonitoreo: el paciente {id} de {unit} necesita atención",
                          "Self-monitoring: patient {id} of {unit} needs attention",
                          id=patient_id, unit=unit.code)
    return render_pair(config, language, "staff_alert", subject, patient_id=patient_id, unit=unit)
