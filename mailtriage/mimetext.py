"""The text a patient wrote, out of a MIME message.

Chooses the best text part (plain text first, HTML converted otherwise),
undoes the transfer encoding, decodes the charset the bytes really use and
unfolds format=flowed. Attachments are ignored.
"""

import email.message
import re

from charset_normalizer import from_bytes
from inscriptis import get_text
from inscriptis.css_profiles import CSS_PROFILES
from inscriptis.model.config import ParserConfig

from mailtriage.textnorm import clean_text

# Labels that mail clients put on text that is really Windows-1252: Outlook
# declares ISO-8859-1 while writing smart quotes and "…" in 0x80-0x9F.
_LATIN_LABELS = {"iso-8859-1", "iso8859-1", "latin-1", "latin1", "us-ascii", "ascii",
                 "windows-1252", "cp1252", "iso-8859-15"}
_HTML_CONFIG = ParserConfig(css=CSS_PROFILES["strict"], table_cell_separator="\n")
_HTML_BREAKS = re.compile(r"(?i)<br\s*/?>")


def body_text(message: email.message.Message) -> str:
    """Return the cleaned text of the message's best text parts, or "" when it has none.

    Plain text wins over HTML. Apple Mail splits a reply around an inline
    photo into several text/plain parts, so every inline plain part is kept,
    in order.
    """
    plain_parts, html_part = _text_parts(message)
    plain = "\n".join(_plain_text(part) for part in plain_parts)
    if plain.strip() or html_part is None:
        return clean_text(plain)
    return clean_text(html_to_text(decode_part(html_part)))


def _plain_text(part: email.message.Message) -> str:
    text = decode_part(part)
    # One parse of the Content-Type parameters for both. Like get_param(),
    # the first parameter of each name counts.
    params = {}
    for name, value in part.get_params() or ():
        params.setdefault(name.lower(), value)
    if (params.get("format") or "").lower() == "flowed":
        text = unfold_flowed(text, delsp=(params.get("delsp") or "").lower() == "yes")
    return text


def _text_parts(message: email.message.Message):
    """Return the inline text/plain parts and the first text/html part, skipping attachments."""
    plain, html = [], None
    pending = [message]
    while pending:
        part = pending.pop(0)
        if part.get_content_disposition() == "attachment":
            continue
        content_type = part.get_content_type()
        if part.is_multipart():
            if content_type == "multipart/alternative":
                pending[:0] = _preferred_alternative(part)
            else:
                pending[:0] = part.get_payload()
        elif content_type == "text/plain":
            plain.append(part)
        elif content_type == "text/html" and html is None:
            html = part
    return plain, html


def _preferred_alternative(part: email.message.Message) -> list:
    """Return the alternatives to read: the plain one and the first other one only."""
    plain, other = [], []
    for child in part.get_payload():
        if isinstance(child, email.message.Message):
            (plain if child.get_content_type() == "text/plain" else other).append(child)
    return plain[:1] + other[:1]


def decode_part(part: email.message.Message) -> str:
    """Undo the transfer encoding and decode the bytes with the charset they really use."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return str(payload or "")
    return decode_bytes(payload, part.get_content_charset())


def decode_bytes(payload: bytes, declared: str | None) -> str:
    """Decode ``payload``: valid UTF-8 wins, Latin labels mean Windows-1252, else detect."""
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        pass

    label = (declared or "").lower()
    if not label or label in _LATIN_LABELS or label == "utf-8":
        return _decode_windows_1252(payload)

    try:
        return payload.decode(label)
    except (LookupError, UnicodeDecodeError):
        best = from_bytes(payload).best()
        return str(best) if best is not None else _decode_windows_1252(payload)


def _decode_windows_1252(payload: bytes) -> str:
    # Five bytes are undefined in Windows-1252; Latin-1 maps them to C1 controls.
    try:
        return payload.decode("windows-1252")
    except UnicodeDecodeError:
        return payload.decode("latin-1")


def html_to_text(html: str) -> str:
    """Convert HTML to text, with one line per paragraph, <br> line and table cell."""
    # A break inside a cell would otherwise glue two answers together.
    html = _HTML_BREAKS.sub("<br>\n", html)
    return get_text(html, _HTML_CONFIG)


def unfold_flowed(text: str, delsp: bool = False) -> str:
    """Join the soft line breaks of RFC 3676 format=flowed text."""
    output: list[str] = []
    pending = None
    for line in text.replace("\r\n", "\n").split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]  # space-stuffing
        if pending is not None and pending[0] == depth:
            content = pending[1] + content
        elif pending is not None:
            output.append(_flowed_line(*pending))
        pending = None

        is_soft = content.endswith(" ") and content.rstrip() != "--"
        if is_soft:
            pending = (depth, content[:-1] if delsp else content)
        else:
            output.append(_flowed_line(depth, content))
    if pending is not None:
        output.append(_flowed_line(*pending))
    return "\n".join(output)


def _flowed_line(depth: int, content: str) -> str:
    return (">" * depth + " " + content) if depth else content
