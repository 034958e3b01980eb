"""Reading one raw reply: its kind, folio, thread ids, sender and answers.

``parse_message`` never raises: a message it cannot make sense of becomes a
reading of kind ``answer`` with every question unanswered and a reason, so the
pipeline records it and triage asks the patient to answer again.
"""

import email
import email.message
import email.utils
import re
from email.errors import HeaderParseError
from email.header import decode_header, make_header

from mailtriage import limits
from mailtriage.answers import find_answer_texts
from mailtriage.answervalues import Value, read_value
from mailtriage.classify import autoreply_reason, bounce_reason
from mailtriage.contracts import ANSWER, AUTOREPLY, BOUNCE, CONFLICTING, OVERSIZE, MessageReading, \
    Unreadable
from mailtriage.i18n import tr
from mailtriage.mimetext import body_text, decode_bytes
from mailtriage.questions import DEFAULT_QUESTIONS, Question
from mailtriage.quoting import ReplyParts, split_reply

FOLIO_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
_FOLIO_HALF = f"[{FOLIO_ALPHABET}{FOLIO_ALPHABET.lower()}]{{4}}"
_LABELLED_FOLIO = re.compile(
    rf"folio\W{{0,3}}(?:(?:es|is|de|no|n[uú]mero|number)\W{{1,3}})?({_FOLIO_HALF})-?({_FOLIO_HALF})"
    rf"(?![A-Za-z0-9])", re.IGNORECASE)
_BARE_FOLIO = re.compile(rf"(?<![A-Za-z0-9-])({_FOLIO_HALF})({_FOLIO_HALF})(?![A-Za-z0-9-])")
_DASHED_FOLIO = re.compile(rf"(?<![A-Za-z0-9-])({_FOLIO_HALF})-({_FOLIO_HALF})(?![A-Za-z0-9-])")
_PLUS_FOLIO = re.compile(rf"\+({_FOLIO_HALF})-?({_FOLIO_HALF})@")
_PLUS_HEADERS = ("to", "cc", "delivered-to", "x-original-to")
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_HEADER_END = re.compile(rb"\r?\n\r?\n")
# Bytes of an oversize message searched for the end of its header block.
MAX_OVERSIZE_HEADER_BYTES = 64 * 1024


def parse_message(raw: bytes, max_bytes: int,
                  questions: tuple[Question, ...] = DEFAULT_QUESTIONS) -> MessageReading:
    """Read one raw message; oversize messages get their headers read, never their body."""
    try:
        if len(raw) > max_bytes:
            return _read_oversize(raw, max_bytes)
        if rejection := limits.check_structure(raw, max_bytes):
            return limits.rejected_reading(raw, rejection)
        return _read_message(raw, questions)
    except Exception as exc:  # noqa: BLE001 - any input must give a reading, never an exception
        return _unreadable_message(raw, questions, exc)


def _unreadable_message(raw: bytes, questions: tuple[Question, ...], error: Exception) -> MessageReading:
    """Return an answer with every question unanswered, keeping the envelope when it can be read."""
    try:
        reading = _read_oversize(raw, len(raw))
    except Exception:  # noqa: BLE001 - the headers are as broken as the body
        reading = MessageReading(kind=ANSWER, size=len(raw))
    reading.kind = ANSWER
    reading.unanswered = [question.key for question in questions]
    reading.reason = tr("no se pudo leer el mensaje ({error})", "the message could not be read ({error})",
                        error=type(error).__name__)
    return reading


def _read_oversize(raw: bytes, max_bytes: int) -> MessageReading:
    """Read only the envelope: sender, ids, subject and the folio in the subject or address."""
    header_end = _HEADER_END.search(raw)
    headers = raw[:header_end.end()] if header_end else raw[:MAX_OVERSIZE_HEADER_BYTES]
    fields = header_fields(email.message_from_bytes(headers))
    reading = _read_envelope(fields, len(raw))
    reading.kind = OVERSIZE
    reading.reason = tr("mensaje demasiado grande: {size} bytes (límite {limit})",
                        "message too large: {size} bytes (limit {limit})", size=len(raw), limit=max_bytes)
    reading.folio = find_folio(reading.subject, reading.plus_folio, "")
    return reading


def _read_message(raw: bytes, questions: tuple[Question, ...]) -> MessageReading:
    # The compat32 policy skips the structured header parsing of email.policy.default,
    # which took about half of the parse time.
    message = email.message_from_bytes(raw)
    fields = header_fields(message)
    reading = _read_envelope(fields, len(raw))

    for kind, reason in ((BOUNCE, bounce_reason(fields, message.get_content_type(), reading.sender)),
                         (AUTOREPLY, autoreply_reason(fields, reading.subject))):
        if reason:
            # Not an answer: the folio is only informational, so the body is not decoded.
            reading.kind, reading.reason = kind, reason
            reading.folio = find_folio(reading.subject, reading.plus_folio, "")
            return reading

    text = body_text(message)
    reading.folio = find_folio(reading.subject, reading.plus_folio, text)
    _read_answers(reading, text, questions)
    return reading


def header_fields(message: email.message.Message) -> dict[str, list[str]]:
    """Return every header's values by lower-case name, read in one pass.

    Raw 8-bit bytes that a client put in a header, against RFC 5322, are
    decoded as the body would be: UTF-8 when valid, else Windows-1252.
    """
    fields: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        value = str(value)
        if not value.isascii():
            value = decode_bytes(value.encode("utf-8", "surrogateescape"), None)
        fields.setdefault(name.lower(), []).append(value)
    return fields


def _decoded(fields: dict[str, list[str]], name: str) -> str:
    """Return a header with its RFC 2047 encoded-words decoded and folding removed, or ""."""
    values = fields.get(name.lower())
    if not values:
        return ""
    text = values[0]
    if "=?" in text:
        try:
            text = str(make_header(decode_header(text)))
        except (HeaderParseError, UnicodeError, LookupError, ValueError):
            pass  # a broken encoded-word stays as it was sent
    return " ".join(text.split())


def _read_envelope(fields: dict[str, list[str]], size: int) -> MessageReading:
    sender = email.utils.parseaddr(_decoded(fields, "From"))[1].strip().lower()
    message_ids = _MESSAGE_ID.findall(_decoded(fields, "Message-ID"))
    thread_ids = _MESSAGE_ID.findall(_decoded(fields, "In-Reply-To"))
    thread_ids += reversed(_MESSAGE_ID.findall(_decoded(fields, "References")))

    plus = None
    for name in _PLUS_HEADERS:
        for value in fields.get(name, []):
            plus = plus or _normalise_folio(_PLUS_FOLIO.search(value))

    return MessageReading(
        kind=ANSWER, sender=sender, size=size,
        message_id=message_ids[0] if message_ids else None,
        in_reply_to=list(dict.fromkeys(thread_ids)),
        subject=_decoded(fields, "Subject"),
        plus_folio=plus)


def _normalise_folio(match) -> str | None:
    return None if match is None else (match.group(1) + match.group(2)).upper()


def _dashed_folio(text: str) -> str | None:
    """Return the first XXXX-XXXX that looks typed as a folio: letters in upper case or beside digits.

    Lower-case word pairs such as "mama-papa" and phone numbers such as
    "5552-3456" fit the folio alphabet too.
    """
    for found in _DASHED_FOLIO.finditer(text):
        token = found.group(0)
        has_letter = any(char.isalpha() for char in token)
        if has_letter and (token.isupper() or any(char.isdigit() for char in token)):
            return _normalise_folio(found)
    return None


def _bare_folio(text: str) -> str | None:
    """Return the first folio typed without dash or label: 8 characters of one case, letters and digits.

    Requiring both a letter and a digit keeps words and phone numbers out.
    """
    for found in _BARE_FOLIO.finditer(text):
        token = found.group(0)
        has_digit = any(char.isdigit() for char in token)
        has_letter = any(char.isalpha() for char in token)
        if has_digit and has_letter and (token.isupper() or token.islower()):
            return token.upper()
    return None


def find_folio(subject: str, plus_folio: str | None, text: str) -> str | None:
    """Return the folio shown in the subject, else the plus address, else the body.

    In the body a folio needs its label or its dash, because a bare token there is
    often something else, such as a code in a signature. A wrong folio would turn a
    reply that the sender identifies into an unknown folio.
    """
    for find in (lambda: _normalise_folio(_LABELLED_FOLIO.search(subject)),
                 lambda: _dashed_folio(subject),
                 lambda: _bare_folio(subject),
                 lambda: plus_folio,
                 lambda: _normalise_folio(_LABELLED_FOLIO.search(text)),
                 lambda: _dashed_folio(text)):
        found = find()
        if found:
            return found
    return None


def _read_answers(reading: MessageReading, text: str, questions: tuple[Question, ...]) -> None:
    """Fill the reading's answers from the new text, else from the text below or inside the quote."""
    values = _choose_block(split_reply(text), questions)
    for question in questions:
        value = values.get(question.key)
        if value is None:
            reading.unanswered.append(question.key)
        elif value.unreadable is not None:
            reading.unreadable[question.key] = value.unreadable
        else:
            reading.answers[question.key] = value.value


def _choose_block(parts: ReplyParts, questions: tuple[Question, ...]) -> dict[str, Value]:
    """Return the values of the first block that holds answers, else of the first with any item.

    One unreadable item alone, such as a question typed above the quote ("1
    pregunta: ..."), does not make a block hold answers, so it cannot hide the
    answers typed in the quote. It is still read when no block has better.
    """
    read_blocks = []
    for block in (parts.top, parts.bottom, parts.from_quote):
        values = _read_block(block, questions) if block else {}
        readable = any(value.unreadable is None for value in values.values())
        if readable or len(values) > 1:
            return values
        read_blocks.append(values)
    return next((values for values in read_blocks if values), {})


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
