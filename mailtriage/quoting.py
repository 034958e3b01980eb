"""Split a reply into the patient's new text and the quoted original.

Clients mark quotes with ">" (Gmail, Apple Mail, Thunderbird), or put the
original unmarked below an attribution line ("El vie, 4 dic 2026 ... escribió:",
"On ... wrote:"), an Outlook De:/Enviado:/Para:/Asunto: block or a
"-----Mensaje original-----" separator. Signatures and legal disclaimers end
the new text.
"""

import re
from dataclasses import dataclass

from mailtriage.textnorm import fold

_QUOTE_PREFIX = re.compile(r"^(?:[ \t]*>)+[ \t]?")
_ATTRIBUTION_END = re.compile(r"(?:escribio|wrote|a ecrit|schrieb)\s*:?\s*$")
_ATTRIBUTION_START = re.compile(r"^(?:el|on|le|am)\s")
_SEPARATOR = re.compile(
    r"^-{2,}\s*(?:mensaje original|original message|mensaje reenviado|forwarded message)\s*-{2,}"
    r"|^(?:inicio del mensaje reenviado|begin forwarded message)\s*:")
_HEADER_FROM = re.compile(r"^\*?(?:de|from)\s*:\*?\s*\S")
_HEADER_SUBJECT = re.compile(r"^\*?(?:asunto|subject)\s*:")
_SIGNATURE = re.compile(
    r"^(?:--\s*$|__+\s*$|enviado desde|sent from|obtener outlook|get outlook|enviado con|"
    r"sent with|enviado a traves de|descarga |aviso de (?:confidencialidad|privacidad)|"
    r"aviso legal|confidencialidad:|este (?:correo|mensaje) (?:electronico )?(?:y sus anexos )?"
    r"(?:es|contiene|puede)|this (?:e-?mail|message) (?:is|contains|may))")
# An attribution wrapped by the client spans at most this many lines.
_ATTRIBUTION_LINES = 3
# Lines after "De:" within which "Asunto:" must follow for an Outlook header
# block; Enviado:, Para: and Cc: come between.
_HEADER_BLOCK_LINES = 6


@dataclass(frozen=True)
class ReplyParts:
    """A reply's lines, quote marks removed: new text above and below the quote, and the quote on."""

    top: list[str]
    bottom: list[str]
    # From the attribution, header block or first quoted line to the end.
    from_quote: list[str]


def split_reply(text: str) -> ReplyParts:
    """Split decoded reply text into the new text on top, the new text below the quote, and the quote on."""
    raw_lines = text.split("\n")
    quoted = [line.lstrip(" \t").startswith(">") for line in raw_lines]
    lines = [_QUOTE_PREFIX.sub("", line) if is_quoted else line
             for line, is_quoted in zip(raw_lines, quoted)]

    cut, folded_top = _first_quote_start(lines, quoted)
    top = cut_signature(lines[:cut], folded_top)

    last_quoted = max((index for index, is_quoted in enumerate(quoted) if is_quoted), default=None)
    bottom: list[str] = []
    if last_quoted is not None and last_quoted >= cut:
        bottom = cut_signature(lines[last_quoted + 1:])
    return ReplyParts(top=top, bottom=bottom, from_quote=lines[cut:])


def _first_quote_start(lines: list[str], quoted: list[bool]) -> tuple[int, list[str]]:
    """Return the index of the quote's first line, and the folded lines above it for cut_signature."""
    folded_lines = []
    for index, line in enumerate(lines):
        if quoted[index]:
            return index, folded_lines
        folded = fold(line)
        if _SEPARATOR.match(folded):
            return index, folded_lines
        if _ATTRIBUTION_END.search(folded):
            start = _attribution_start(lines, index)
            return start, folded_lines[:start]
        if _HEADER_FROM.match(folded) and _has_subject_below(lines, index):
            return index, folded_lines
        folded_lines.append(folded)
    return len(lines), folded_lines


def _attribution_start(lines: list[str], end: int) -> int:
    """Return the first line of an attribution that ends at line ``end``."""
    for index in range(end, max(-1, end - _ATTRIBUTION_LINES), -1):
        folded = fold(lines[index])
        if not folded:
            return index + 1
        if _ATTRIBUTION_START.match(folded):
            return index
    return end


def _has_subject_below(lines: list[str], start: int) -> bool:
    window = lines[start + 1:start + 1 + _HEADER_BLOCK_LINES]
    return any(_HEADER_SUBJECT.match(fold(line)) for line in window)


def cut_signature(lines: list[str], folded_lines: list[str] | None = None) -> list[str]:
    """Return ``lines`` up to the first signature or disclaimer line.

    ``folded_lines``, when given, are the lines already folded, so they are
    not folded again.
    """
    for index, line in enumerate(lines):
        folded = folded_lines[index] if folded_lines is not None else fold(line)
        if _SIGNATURE.match(folded):
            return lines[:index]
    return lines
