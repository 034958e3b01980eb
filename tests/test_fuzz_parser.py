"""Fuzzing of parse_message and check_structure, and the structural limits themselves.

CI runs each fuzz target with a few hundred examples. For a longer run by
hand, set the number of examples:

    MAILTRIAGE_FUZZ_EXAMPLES=100000 .venv/bin/python -m pytest -q tests/test_fuzz_parser.py
"""

import base64
import os
import random
import time
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailtriage import limits
from mailtriage.contracts import OVERSIZE, MessageReading
from mailtriage.limits import check_structure

CORPUS = Path(__file__).parent / "data" / "corpus"
CORPUS_MESSAGES = sorted(CORPUS.glob("S*/message.eml"))

# The limit the default config sets: 10 MiB.
MAX_BYTES = 10 * 1024 * 1024

FUZZ_EXAMPLES = int(os.environ.get("MAILTRIAGE_FUZZ_EXAMPLES", "300"))
FUZZ_SETTINGS = settings(
    max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=FUZZ_EXAMPLES <= 300,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# A structural check of a message under the size limit must stay cheap: it
# reads header blocks and boundary lines only.
MAX_CHECK_SECONDS = 0.5


def parse(raw: bytes):
    from mailtriage.parser import parse_message

    return parse_message(raw, MAX_BYTES)


def simple_message(body: str = "1. NO\n2.\n", headers: dict | None = None) -> bytes:
    lines = [f"{name}: {value}" for name, value in (headers or {}).items()]
    lines = ["From: paciente@example.com", "To: automonitoreo@salud.example.mx",
             "Subject: Re: Cuestionario", "Message-ID: <fuzz@example.com>"] + lines
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def wide_message(parts: int) -> bytes:
    """Return a multipart/mixed message with ``parts`` parts in all, itself included."""
    outer = MIMEMultipart("mixed")
    for number in range(parts - 1):
        outer.attach(MIMEText(f"parte {number}", "plain", "utf-8"))
    return outer.as_bytes()


def deep_message(depth: int) -> bytes:
    """Return a message whose innermost text part is ``depth`` levels below the top."""
    entity = MIMEText("1. NO", "plain", "utf-8")
    for _ in range(depth):
        container = MIMEMultipart("mixed")
        container.attach(entity)
        entity = container
    return entity.as_bytes()


# --------------------------------------------------------------------------- limits


@pytest.mark.parametrize("path", CORPUS_MESSAGES, ids=lambda path: path.parent.name[:3])
def test_structure_accepts_corpus(path):
    assert check_structure(path.read_bytes(), MAX_BYTES) is None


def test_structure_rejects_oversize():
    raw = simple_message("x" * 2000)

    assert check_structure(raw, 1000) is not None
    assert check_structure(raw, len(raw)) is None


def test_structure_counts_parts():
    assert check_structure(wide_message(limits.MAX_PARTS), MAX_BYTES) is None

    reason = check_structure(wide_message(limits.MAX_PARTS + 1), MAX_BYTES)
    assert reason is not None
    assert str(limits.MAX_PARTS) in reason


def test_structure_measures_depth():
    assert check_structure(deep_message(limits.MAX_DEPTH), MAX_BYTES) is None

    reason = check_structure(deep_message(limits.MAX_DEPTH + 1), MAX_BYTES)
    assert reason is not None
    assert str(limits.MAX_DEPTH) in reason


def test_structure_counts_embedded_message_depth():
    entity = MIMEText("1. NO", "plain", "utf-8")
    for _ in range(limits.MAX_DEPTH + 1):
        entity = MIMEMessage(entity)

    assert check_structure(entity.as_bytes(), MAX_BYTES) is not None


def test_structure_rejects_huge_header_field():
    long_references = " ".join(f"<m{number}@example.com>" for number in range(2000))
    raw = simple_message(headers={"References": long_references})

    assert len(long_references) > limits.MAX_HEADER_FIELD_BYTES
    reason = check_structure(raw, MAX_BYTES)
    assert reason is not None
    assert "References" in reason


def test_structure_rejects_folded_huge_header():
    folded = "\r\n ".join(f"<m{number}@example.com>" for number in range(2000))

    assert check_structure(simple_message(headers={"References": folded}), MAX_BYTES) is not None


def test_structure_rejects_many_header_fields():
    headers = "".join(f"X-Relleno-{number}: a\r\n" for number in range(limits.MAX_HEADER_FIELDS + 1))
    raw = simple_message().replace(b"\r\n\r\n", b"\r\n" + headers.encode() + b"\r\n", 1)

    assert check_structure(raw, MAX_BYTES) is not None


def test_structure_rejects_huge_header_block():
    headers = "".join(f"X-Relleno-{number}: {'a' * 1000}\r\n" for number in range(200))
    raw = simple_message().replace(b"\r\n\r\n", b"\r\n" + headers.encode() + b"\r\n", 1)

    assert len(headers) > limits.MAX_HEADER_BLOCK_BYTES
    assert check_structure(raw, MAX_BYTES) is not None


def test_structure_rejects_big_encoded_text():
    text = "1. NO\r\n" * (limits.MAX_TEXT_PART_BYTES // 7 + 1000)
    part = MIMEText(text, "plain", "utf-8")

    assert part["Content-Transfer-Encoding"] == "base64"
    reason = check_structure(part.as_bytes(), MAX_BYTES)
    assert reason is not None


def test_structure_ignores_big_attachment():
    photo = MIMEApplication(os.urandom(limits.MAX_TEXT_PART_BYTES + 1000), "octet-stream")
    message = MIMEMultipart("mixed")
    message.attach(MIMEText("1. NO", "plain", "utf-8"))
    message.attach(photo)

    assert check_structure(message.as_bytes(), MAX_BYTES) is None


def test_structure_rejects_base64_container():
    """A base64 message/rfc822 part hides a bomb of parts from a scan that does not decode."""
    inner = wide_message(limits.MAX_PARTS * 5)
    encoded = base64.encodebytes(inner).decode()
    raw = simple_message(
        "--b1\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + encoded + "\r\n--b1--\r\n",
        headers={"MIME-Version": "1.0", "Content-Type": 'multipart/mixed; boundary="b1"'})

    reason = check_structure(raw, MAX_BYTES)
    assert reason is not None
    assert "RFC 2045" in reason


def test_structure_counts_bounce_status_blocks():
    blocks = "\r\n\r\n".join(f"Final-Recipient: rfc822; x{number}@example.com"
                             for number in range(limits.MAX_PARTS + 10))
    raw = simple_message(
        "--b1\r\nContent-Type: message/delivery-status\r\n\r\n" + blocks + "\r\n--b1--\r\n",
        headers={"MIME-Version": "1.0", "Content-Type": 'multipart/report; boundary="b1"'})

    assert check_structure(raw, MAX_BYTES) is not None


def test_structure_ends_inner_parts_at_outer_boundary():
    """An inner multipart left unclosed ends at its parent's next delimiter, as in Python's parser."""
    raw = simple_message(
        "--outer\r\nContent-Type: multipart/alternative; boundary=inner\r\n\r\n"
        "--inner\r\nContent-Type: text/plain\r\n\r\n1. NO\r\n"
        "--outer\r\nContent-Type: text/plain\r\n\r\nfirma\r\n--outer--\r\n",
        headers={"MIME-Version": "1.0", "Content-Type": "multipart/mixed; boundary=outer"})
    scan = limits._StructureScan(raw)

    assert scan.run() is None
    assert scan.parts == 4


# Messages just under the size limit, built when the test runs.
FAST_CASES = {
    "long body": lambda: wide_message(limits.MAX_PARTS) + b"x" * (MAX_BYTES - 100_000),
    "dash lines": lambda: (b"Content-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\n\r\n"
                           + b"--a\r\n" * ((MAX_BYTES - 100) // 5)),
    "dash lines, no multipart": lambda: b"Subject: x\r\n\r\n" + b"--a\r\n" * ((MAX_BYTES - 100) // 5),
    "blank lines": lambda: b"Subject: x\r\n\r\n" + b"\r\n" * ((MAX_BYTES - 100) // 2),
}


@pytest.mark.parametrize("case", FAST_CASES)
def test_structure_is_fast_on_big_message(case):
    raw = FAST_CASES[case]()
    started = time.perf_counter()

    check_structure(raw, MAX_BYTES)

    assert time.perf_counter() - started < MAX_CHECK_SECONDS


# --------------------------------------------------------------------------- fuzz targets


def check_both(raw: bytes) -> None:
    """Run both entry points; each must return, never raise, and the check must be fast."""
    started = time.perf_counter()
    reason = check_structure(raw, MAX_BYTES)
    assert time.perf_counter() - started < MAX_CHECK_SECONDS
    assert reason is None or (isinstance(reason, str) and "\n" not in reason)

    reading = parse(raw)
    assert isinstance(reading, MessageReading)
    assert isinstance(reading.kind, str)


@FUZZ_SETTINGS
@given(st.binary(max_size=4096))
def test_fuzz_random_bytes(raw):
    check_both(raw)


def mutate(raw: bytes, seed: int, edits: int) -> bytes:
    """Return ``raw`` with ``edits`` random byte insertions, deletions and replacements."""
    chooser = random.Random(seed)
    data = bytearray(raw)
    specials = [b"\r\n", b"\n\n", b"--", b":", b"=?utf-8?b?", b"boundary=", b"\x00", b"\xff", b" "]
    for _ in range(edits):
        position = chooser.randrange(len(data) + 1)
        action = chooser.randrange(3)
        if action == 0:
            data[position:position] = chooser.choice(specials)
        elif action == 1:
            del data[position:position + chooser.randrange(1, 40)]
        else:
            data[position:position + 1] = bytes([chooser.randrange(256)])
    return bytes(data)


@FUZZ_SETTINGS
@given(st.sampled_from(CORPUS_MESSAGES), st.integers(0, 2**32), st.integers(1, 30))
def test_fuzz_mutated_corpus(path, seed, edits):
    check_both(mutate(path.read_bytes(), seed, edits))


header_names = st.sampled_from([
    "From", "To", "Cc", "Reply-To", "Subject", "Message-ID", "In-Reply-To", "References",
    "Content-Type", "Content-Transfer-Encoding", "Auto-Submitted", "Precedence",
    "X-Autoreply", "List-Id", "Return-Path", "Date", "MIME-Version", "X-Desconocido"])
header_values = st.one_of(
    st.text(max_size=200),
    st.sampled_from([
        "<>", "<a@b>", "a@", "@b", "=?utf-8?b?w6E=?=", "=?x-unknown?q?a?=", "=?utf-8?q?=ZZ?=",
        "multipart/mixed", "multipart/mixed; boundary=", 'text/plain; charset="x-no-existe"',
        "message/rfc822", "base64", "quoted-printable", "auto-replied", "bulk",
        "(((((comentario", "Nombre <sin-cierre@example.com", "\"\" <>", "Thu, 31 Feb 2026 99:99:99"]),
)


@FUZZ_SETTINGS
@given(st.lists(st.tuples(header_names, header_values), max_size=25), st.text(max_size=500))
def test_fuzz_random_headers(headers, body):
    lines = []
    for name, value in headers:
        clean = value.replace("\r", " ").replace("\n", " ")
        lines.append(f"{name}: {clean}")
    raw = ("\r\n".join(lines) + "\r\n\r\n" + body).encode("utf-8", "surrogatepass")

    check_both(raw)


def build_leaf(draw) -> Message:
    kind = draw(st.sampled_from(["plain", "html", "application", "broken_charset"]))
    text = draw(st.text(max_size=300))
    if kind == "application":
        return MIMEApplication(text.encode("utf-8", "surrogatepass"), "octet-stream")
    if kind == "broken_charset":
        part = MIMEText("", "plain")
        part.set_payload(text.encode("utf-8", "surrogatepass"))
        part.set_param("charset", "x-no-existe")
        return part
    charset = draw(st.sampled_from(["utf-8", "iso-8859-1", "us-ascii"]))
    encoded = text.encode(charset, "replace").decode(charset)
    return MIMEText(encoded, kind, charset)


@st.composite
def mime_trees(draw, depth=0):
    """A random MIME tree of text, HTML and binary parts, multiparts and embedded messages."""
    if depth >= 4 or draw(st.integers(0, 2)) == 0:
        return build_leaf(draw)

    if draw(st.booleans()) and depth < 3:
        return MIMEMessage(draw(mime_trees(depth=depth + 1)))
    container = MIMEMultipart(draw(st.sampled_from(["mixed", "alternative", "related"])))
    for _ in range(draw(st.integers(0, 4))):
        container.attach(draw(mime_trees(depth=depth + 1)))
    return container


def tree_shape(entity: Message, depth: int = 0) -> tuple[int, int]:
    """Return (parts, max depth) of a tree as Python's parser walks it."""
    payload = entity.get_payload()
    if not entity.is_multipart():
        return 1, depth
    parts, deepest = 1, depth
    for child in payload:
        child_parts, child_depth = tree_shape(child, depth + 1)
        parts += child_parts
        deepest = max(deepest, child_depth)
    return parts, deepest


@FUZZ_SETTINGS
@given(mime_trees())
def test_fuzz_mime_trees(tree):
    tree["From"] = "Paciente <paciente@example.com>"
    tree["Subject"] = "Re: Cuestionario de automonitoreo"
    tree["Message-ID"] = "<arbol@example.com>"
    raw = tree.as_bytes()
    parts, depth = tree_shape(tree)

    reason = check_structure(raw, MAX_BYTES)

    within_limits = parts <= limits.MAX_PARTS and depth <= limits.MAX_DEPTH
    assert (reason is None) == within_limits, (parts, depth, reason)
    check_both(raw)


def test_parser_rejects_deep_message():
    nested = MIMEMultipart("mixed")
    nested.attach(MIMEText("1. NO", "plain", "utf-8"))
    for _ in range(limits.MAX_DEPTH + 1):
        outer = MIMEMultipart("mixed")
        outer.attach(nested)
        nested = outer
    nested["Message-ID"] = "<profundo@example.com>"

    reading = parse(nested.as_bytes())

    assert reading.kind == OVERSIZE
    assert str(limits.MAX_DEPTH) in reading.reason
    assert reading.message_id == "<profundo@example.com>"
    assert reading.answers == {}
