"""Cheap structural limits, checked on a message's raw bytes before it is parsed.

Python's email parser recurses into nested parts, builds an object for each
part and parses some header fields in time that grows faster than their
length. A hostile or broken message could therefore cost seconds of CPU or
much memory before the parser could report that it is not an answer. This module
scans the bytes once, reads header blocks and boundary lines only, and
never decodes a body, so it costs about one pass over the message.
"""

import re
from dataclasses import dataclass
from email.message import Message

from mailtriage.contracts import OVERSIZE, MessageReading
from mailtriage.i18n import tr

# A daily reply has 1 to 10 parts (text, HTML, a signature's images, an
# attached photo); a forwarded thread a few dozen.
MAX_PARTS = 200

# multipart/mixed > alternative > related, plus a forwarded message or two,
# is 6 levels deep.
MAX_DEPTH = 10

# The slowest header fields to parse (address lists, long References) take
# about 0.15 s at 16 KiB with Python 3.11's email.policy.default, and about
# 2 s at 64 KiB, on one core of a 2-core x86_64 development machine.
MAX_HEADER_FIELD_BYTES = 16 * 1024
MAX_HEADER_BLOCK_BYTES = 128 * 1024
MAX_HEADER_FIELDS = 500

# The parser decodes every text part and runs its readers over the text. A
# questionnaire reply with its quoted thread and HTML is under 100 KiB.
# NOTE: an HTML body with images inlined as data: URIs can pass this limit
# and is then rejected. No mail client seen so far in replies does that.
MAX_TEXT_PART_BYTES = 2 * 1024 * 1024

# RFC 2045 section 6.4: multipart and message/* entities take no encoding
# but these. A base64 container would hide its parts from this scan and
# could unfold into far more parts once decoded.
IDENTITY_ENCODINGS = ("", "7bit", "8bit", "binary")

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_MESSAGE_ID_FIELD = re.compile(rb"^Message-ID:[ \t]*(?:\r?\n[ \t]+)?(<[^<>\s]{1,500}>)",
                               re.MULTILINE | re.IGNORECASE)


@dataclass
class _Headers:
    """The facts the scan takes from one header block."""

    end: int  # offset of the body's first byte
    content_type: str = "text/plain"
    boundary: bytes | None = None
    encoding: str = ""
    problem: str | None = None


@dataclass
class _Multipart:
    """An open multipart entity: its boundary and its depth."""

    boundary: bytes
    depth: int


def check_structure(raw: bytes, max_bytes: int) -> str | None:
    """Return why the message ``raw`` must not be parsed, or None when it may be.

    The reason is one line for staff in the active language. It checks the
    size, the number and depth of MIME parts, the header sizes, encoded
    containers and the decoded size of each text part.
    """
    if len(raw) > max_bytes:
        return tr("mensaje demasiado grande: {n} bytes (límite {limit})",
                  "message too large: {n} bytes (limit {limit})", n=len(raw), limit=max_bytes)
    return _StructureScan(raw).run()


def rejected_reading(raw: bytes, reason: str) -> MessageReading:
    """Return the reading of a message that check_structure rejected, with its Message-ID only.

    The Message-ID is found with one regular expression instead of the email
    parser, whose cost is what the rejection avoids. It lets the pipeline
    recognise the message again after a UIDVALIDITY change.
    """
    head = raw[:MAX_HEADER_BLOCK_BYTES]
    header_end = _HEADER_END.search(head)
    if header_end:
        head = head[:header_end.start()]
    found = _MESSAGE_ID_FIELD.search(head)
    message_id = found.group(1).decode("ascii", "replace") if found else None
    return MessageReading(kind=OVERSIZE, size=len(raw), reason=reason, message_id=message_id)


class _StructureScan:
    """One pass over the raw bytes: header blocks are read, bodies are only measured."""

    def __init__(self, raw: bytes):
        self.raw = raw
        self.open_multiparts: list[_Multipart] = []
        self.parts = 0
        self.pattern: re.Pattern | None = None
        self.first_line_pattern: re.Pattern | None = None
        self.pattern_boundaries: tuple[bytes, ...] = ()

    def run(self) -> str | None:
        position, depth = 0, 0
        while position is not None:
            position, depth, problem = self.read_entity(position, depth)
            if problem:
                return problem
        return None

    def count_parts(self, more: int) -> str | None:
        self.parts += more
        if self.parts > MAX_PARTS:
            return tr("demasiadas partes MIME (más de {limit})",
                      "too many MIME parts (more than {limit})", limit=MAX_PARTS)
        return None

    def read_entity(self, start: int, depth: int) -> tuple[int | None, int, str | None]:
        """Read one entity's headers and body; return where the next entity starts."""
        problem = self.count_parts(1)
        if problem:
            return None, depth, problem
        if depth > MAX_DEPTH:
            return None, depth, tr("partes MIME anidadas a más de {limit} niveles",
                                   "MIME parts nested more than {limit} levels deep",
                                   limit=MAX_DEPTH)

        headers = read_headers(self.raw, start)
        if headers.problem:
            return None, depth, headers.problem

        is_container = headers.content_type.startswith(("multipart/", "message/"))
        if is_container and headers.encoding not in IDENTITY_ENCODINGS:
            return None, depth, tr(
                "parte {t} codificada como {e}, lo que RFC 2045 no permite",
                "{t} part encoded as {e}, which RFC 2045 does not allow",
                t=headers.content_type, e=headers.encoding)

        if headers.content_type in ("message/rfc822", "message/global"):
            # The embedded message's own headers start right after these.
            return headers.end, depth + 1, None
        if headers.content_type.startswith("multipart/") and headers.boundary:
            self.open_multiparts.append(_Multipart(headers.boundary, depth))
        return self.skip_body(headers, depth)

    def skip_body(self, headers: _Headers, depth: int) -> tuple[int | None, int, str | None]:
        """Find the next boundary line of an open multipart, measuring the body on the way."""
        search_from = headers.end
        body_start = headers.end
        while True:
            found = self.next_boundary(search_from)
            body_end = found[0] if found else len(self.raw)
            problem = self.check_leaf(headers, body_start, body_end)
            if problem or found is None:
                return None, depth, problem

            _, after_line, multipart, closing = found
            if not closing:
                return after_line, multipart.depth + 1, None
            # A closing delimiter is followed by the parent's epilogue, which
            # is no part and is only scanned for the parent's next boundary.
            search_from = body_start = after_line
            headers = _Headers(end=after_line, content_type="")

    def next_boundary(self, start: int):
        """Return (line start, next line start, multipart, closing?) of the next delimiter line."""
        if not self.open_multiparts:
            return None
        found = self.find_delimiter(start)
        if found is None:
            return None

        line_start, match = found
        boundary, closing = match.group(1), match.group(2) is not None
        index = max(position for position, multipart in enumerate(self.open_multiparts)
                    if multipart.boundary == boundary)
        multipart = self.open_multiparts[index]
        # A delimiter of an outer multipart also ends every inner one.
        del self.open_multiparts[index + (0 if closing else 1):]
        return line_start, _next_line(self.raw, match.end()), multipart, closing

    def find_delimiter(self, start: int) -> tuple[int, re.Match] | None:
        """Return the start of the first delimiter line at or after ``start``, and its match."""
        pattern = self.delimiter_pattern()
        if start == 0:
            # The first line has no line break before it.
            first_line = self.first_line_pattern.match(self.raw)
            if first_line:
                return 0, first_line
        # The pattern starts at the line break before the delimiter line.
        match = pattern.search(self.raw, max(start - 1, 0))
        return None if match is None else (match.start() + 1, match)

    def delimiter_pattern(self) -> re.Pattern:
        """Return a pattern matching the delimiter lines of the open multiparts only.

        Lines that merely start with "--" then cost nothing in Python, so a
        body of such lines cannot make the scan slow. The pattern begins with
        the literal line break and dashes, so the regex engine skips ahead to
        each occurrence instead of trying a match at every byte.
        """
        boundaries = tuple(sorted({multipart.boundary for multipart in self.open_multiparts},
                                  key=len, reverse=True))
        if boundaries != self.pattern_boundaries:
            alternatives = b"|".join(re.escape(boundary) for boundary in boundaries)
            delimiter = rb"--(" + alternatives + rb")(--)?[ \t]*\r?$"
            self.pattern = re.compile(rb"\n" + delimiter, re.MULTILINE)
            self.first_line_pattern = re.compile(delimiter, re.MULTILINE)
            self.pattern_boundaries = boundaries
        return self.pattern

    def check_leaf(self, headers: _Headers, body_start: int, body_end: int) -> str | None:
        if headers.content_type == "message/delivery-status":
            # Python's parser makes one part of each blank-line separated
            # block of a bounce's status fields.
            body = self.raw[body_start:body_end].replace(b"\r\n", b"\n").strip(b"\n")
            problem = self.count_parts(body.count(b"\n\n") + 1)
            if problem:
                return problem
        if not headers.content_type.startswith("text/"):
            return None
        size = body_end - body_start
        # Base64 turns 3 bytes into 4 characters plus line breaks, so this
        # bounds the decoded size from above without decoding.
        decoded = size * 3 // 4 if headers.encoding == "base64" else size
        if decoded > MAX_TEXT_PART_BYTES:
            return tr("parte de texto de unos {n} bytes al decodificarla (límite {limit})",
                      "text part of about {n} bytes once decoded (limit {limit})",
                      n=decoded, limit=MAX_TEXT_PART_BYTES)
        return None


def _next_line(raw: bytes, position: int) -> int:
    newline = raw.find(b"\n", position)
    return len(raw) if newline < 0 else newline + 1


def read_headers(raw: bytes, start: int) -> _Headers:
    """Read the header block at ``start`` up to its blank line, within the header limits."""
    fields: list[bytes] = []
    position, size = start, len(raw)
    while position < size:
        newline = raw.find(b"\n", position)
        line_end = size if newline < 0 else newline + 1
        line = raw[position:line_end]
        if not line.strip(b"\r\n"):
            position = line_end
            break
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += line
        elif b":" in line:
            fields.append(line)
        else:
            # Python's parser also ends the headers at a line that is not a field.
            break
        position = line_end

        # The limits are compared here, once per line, and described only
        # when one is exceeded.
        if (position - start > MAX_HEADER_BLOCK_BYTES or len(fields) > MAX_HEADER_FIELDS
                or len(fields[-1]) > MAX_HEADER_FIELD_BYTES):
            return _Headers(end=position, problem=_header_problem(fields, position - start))
    return _describe(fields, position)


def _header_problem(fields: list[bytes], block_bytes: int) -> str | None:
    if block_bytes > MAX_HEADER_BLOCK_BYTES:
        return tr("encabezados de más de {limit} bytes", "headers larger than {limit} bytes",
                  limit=MAX_HEADER_BLOCK_BYTES)
    if len(fields) > MAX_HEADER_FIELDS:
        return tr("más de {limit} campos de encabezado", "more than {limit} header fields",
                  limit=MAX_HEADER_FIELDS)
    if fields and len(fields[-1]) > MAX_HEADER_FIELD_BYTES:
        name = fields[-1].split(b":", 1)[0].decode("ascii", "replace")[:40]
        return tr("encabezado {name} de más de {limit} bytes",
                  "header field {name} larger than {limit} bytes",
                  name=name, limit=MAX_HEADER_FIELD_BYTES)
    return None


def _describe(fields: list[bytes], end: int) -> _Headers:
    """Read Content-Type, its boundary and Content-Transfer-Encoding from the fields."""
    values: dict[str, list[str]] = {"content-type": [], "content-transfer-encoding": []}
    for field in fields:
        # Only the name is decoded first: most fields are neither of the two.
        colon = field.find(b":")
        found = values.get(field[:colon].decode("latin-1").strip().lower())
        if found is not None:
            found.append(" ".join(field[colon + 1:].decode("latin-1").split()))

    # The first field of each name counts, as in email.message.Message, whose
    # get_content_type() this repeats without building a message per part.
    content_type = "text/plain"
    if values["content-type"]:
        declared = values["content-type"][0].partition(";")[0].strip().lower()
        content_type = declared if declared.count("/") == 1 else "text/plain"
    encodings = values["content-transfer-encoding"]
    boundary = _boundary(values["content-type"]) if content_type.startswith("multipart/") else None
    return _Headers(end=end, content_type=content_type, boundary=boundary,
                    encoding=encodings[0].strip().lower() if encodings else "")


def _boundary(content_types: list[str]) -> bytes | None:
    """Return the boundary parameter as the email parser reads it, or None."""
    # compat32 Message parses parameters only, which is cheap on fields
    # already bounded by MAX_HEADER_FIELD_BYTES. get_boundary() unquotes and
    # joins RFC 2231 parts as the parser does.
    message = Message()
    for value in content_types:
        message["Content-Type"] = value
    boundary = message.get_boundary()
    return boundary.encode("latin-1", "replace") if boundary else None
