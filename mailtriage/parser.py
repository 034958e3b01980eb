"""Reading one raw reply: its kind, folio, thread ids, sender and answers.

``parse_message`` never raises: a message it cannot make sense of becomes a
reading of kind ``answer`` with every question unanswered and a reason, so the
pipeline records it and triage asks the patient to answer again.
"""

import email
import email.message
import email.policy
import email.utils
import re

from mailtriage import limits
from mailtriage.answers import find_answer_texts
from mailtriage.answervalues import Value, read_value
from mailtriage.classify import autoreply_reason, bounce_reason
from mailtriage.contracts import ANSWER, AUTOREPLY, BOUNCE, CONFLICTING, OVERSIZE, MessageReading, \
    Unreadable
from mailtriage.mimetext import body_text
from mailtriage.questions import DEFAULT_QUESTIONS, Question
from mailtriage.quoting import split_reply

FOLIO_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
_FOLIO_HALF = f"[{FOLIO_ALPHABET}{FOLIO_ALPHABET.lower()}]{{4}}"
_LABELLED_FOLIO = re.compile(rf"folio\W{{0,3}}({_FOLIO_HALF})-?({_FOLIO_HALF})(?![A-Za-z0-9])",
                             re.IGNORECASE)
_DASHED_FOLIO = re.compile(rf"(?<![A-Za-z0-9-])({_FOLIO_HALF})-({_FOLIO_HALF})(?![A-Za-z0-9-])")
_PLUS_FOLIO = re.compile(rf"\+({_FOLIO_HALF})-?({_FOLIO_HALF})@")
_PLUS_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To")
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_HEADER_END = re.compile(rb"\r?\n\r?\n")


def parse_message(raw: bytes, max_bytes: int,
                  questions: tuple[Question, ...] = DEFAULT_QUESTIONS) -> MessageReading:
    """Read one raw message; oversize messages get their headers read, never their body."""
    try:
        if len(raw) > max_bytes:
            return _read_oversize(raw)
        if refusal := limits.check_structure(raw, max_bytes):
            return limits.refused_reading(raw, refusal)
        return _read_message(raw, questions)
    except Exception as exc:  # noqa: BLE001 - any input must give a reading, never an exception
        return MessageReading(kind=ANSWER, unanswered=[question.key for question in questions],
                              size=len(raw), reason=f"unreadable message: {type(exc).__name__}")


def _read_oversize(raw: bytes) -> MessageReading:
    header_end = _HEADER_END.search(raw)
    headers = raw[:header_end.end()] if header_end else raw[:64 * 1024]
    message = email.message_from_bytes(headers, policy=email.policy.default)
    reading = _read_envelope(message, len(raw))
    reading.kind = OVERSIZE
    reading.reason = f"size {len(raw)} bytes"
    reading.folio = find_folio(reading.subject, reading.plus_folio, "")
    return reading


def _read_message(raw: bytes, questions: tuple[Question, ...]) -> MessageReading:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    reading = _read_envelope(message, len(raw))
    text = body_text(message)
    reading.folio = find_folio(reading.subject, reading.plus_folio, text)

    for kind, reason in ((BOUNCE, bounce_reason(message, reading.sender)),
                         (AUTOREPLY, autoreply_reason(message, reading.subject))):
        if reason:
            reading.kind, reading.reason = kind, reason
            return reading

    _read_answers(reading, text, questions)
    return reading


def _header(message: email.message.Message, name: str) -> str:
    try:
        value = message.get(name)
        return "" if value is None else str(value)
    except (ValueError, TypeError, IndexError, AttributeError):
        # The default policy parses on access and can fail on a broken header.
        return ""


def _read_envelope(message: email.message.Message, size: int) -> MessageReading:
    sender = email.utils.parseaddr(_header(message, "From"))[1].strip().lower()
    message_ids = _MESSAGE_ID.findall(_header(message, "Message-ID"))
    thread_ids = _MESSAGE_ID.findall(_header(message, "In-Reply-To"))
    thread_ids += reversed(_MESSAGE_ID.findall(_header(message, "References")))
    plus = None
    for name in _PLUS_HEADERS:
        for value in message.get_all(name, []) if _header(message, name) else []:
            plus = plus or _normalise_folio(_PLUS_FOLIO.search(str(value)))
    return MessageReading(
        kind=ANSWER, sender=sender, size=size,
        message_id=message_ids[0] if message_ids else None,
        in_reply_to=list(dict.fromkeys(thread_ids)),
        subject=" ".join(_header(message, "Subject").split()),
        plus_folio=plus)


def _normalise_folio(match) -> str | None:
    return None if match is None else (match.group(1) + match.group(2)).upper()


def find_folio(subject: str, plus_folio: str | None, text: str) -> str | None:
    """Return the folio shown in the subject, else the plus address, else the body."""
    for found in (_normalise_folio(_LABELLED_FOLIO.search(subject)),
                  _normalise_folio(_DASHED_FOLIO.search(subject)),
                  plus_folio,
                  _normalise_folio(_LABELLED_FOLIO.search(text)),
                  _normalise_folio(_DASHED_FOLIO.search(text))):
        if found:
            return found
    return None


def _read_answers(reading: MessageReading, text: str, questions: tuple[Question, ...]) -> None:
    """Fill the reading's answers from the new text, else from the text below or inside the quote."""
    parts = split_reply(text)
    values: dict[str, Value] = {}
    for block in (parts.top, parts.bottom, parts.everything):
        values = _read_block(block, questions)
        if values:
            break

    for question in questions:
        value = values.get(question.key)
        if value is None:
            reading.unanswered.append(question.key)
        elif value.unreadable is not None:
            reading.unreadable[question.key] = value.unreadable
        else:
            reading.answers[question.key] = value.value


def _read_block(lines: list[str], questions: tuple[Question, ...]) -> dict[str, Value]:
    """Read every answered item of a block; two different answers to one item conflict."""
    by_key = {question.key: question for question in questions}
    read: dict[str, list[tuple[str, Value]]] = {}
    for key, raw in find_answer_texts(lines, questions):
        value = read_value(by_key[key], raw)
        if value.answered:
            read.setdefault(key, []).append((raw, value))

    values = {}
    for key, readings in read.items():
        distinct = {(value.value, value.unreadable) for _, value in readings}
        if len(distinct) == 1:
            values[key] = readings[0][1]
        else:
            raw = " / ".join(dict.fromkeys(raw for raw, _ in readings))
            values[key] = Value(unreadable=Unreadable(raw, CONFLICTING))
    return values
