"""Properties of parse_message: it never raises, and answers survive encodings and reordering.

The default runs are short; the ``slow``-marked variants run the same
properties with many more examples.
"""

import base64
import quopri

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailtriage.contracts import MessageReading
from mailtriage.parser import parse_message
from mailtriage.questions import DEFAULT_QUESTIONS

MAX_BYTES = 1024 * 1024
QUICK = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LONG = settings(max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow])

CHARSETS = ("utf-8", "iso-8859-1", "windows-1252")
TRANSFER_ENCODINGS = ("7bit", "8bit", "quoted-printable", "base64")

# Answer texts a patient may type for each kind of question, with the value they read as.
YES_NO = [("si", True), ("sí", True), ("Sí.", True), ("SI", True), ("x", True), ("no", False),
          ("NO.", False), ("ninguno", False), ("sí, un poco", True), ("no gracias", False)]
CHOICES = {
    "temperature_c": [("38.5", 38.5), ("37,2", 37.2), ("36.8 °C", 36.8), ("38 grados", 38.0)],
    "dyspnea_level": [("a", 0), ("B", 1), ("la C", 2), ("d", 3)],
    "spo2": [("95", 95), ("92 %", 92), ("sat 97", 97)],
    "overall_trend": [("mejor", "better"), ("Igual", "same"), ("peor", "worse")],
    "comments": [("me duele la cabeza en la mañana", "me duele la cabeza en la mañana"),
                 ("todo bien, gracias", "todo bien, gracias")],
}
HEADERS = ("From: Ana <ana@example.com>\r\nTo: automonitoreo@salud.example.mx\r\n"
           "Subject: Re: Cuestionario [Folio K7QM-2XPD]\r\nMessage-ID: <r1@example.com>\r\n"
           "MIME-Version: 1.0\r\n")


def answer_choices(number: int):
    key = DEFAULT_QUESTIONS[number - 1].key
    return st.sampled_from(CHOICES.get(key, YES_NO))


@st.composite
def answered_items(draw):
    """A non-empty set of (number, text, value) for distinct questions."""
    numbers = draw(st.sets(st.integers(1, len(DEFAULT_QUESTIONS)), min_size=1))
    return [(number, *draw(answer_choices(number))) for number in sorted(numbers)]


def build_message(body: str, charset: str, transfer_encoding: str) -> bytes:
    encoded = body.replace("\n", "\r\n").encode(charset)
    if transfer_encoding == "quoted-printable":
        encoded = quopri.encodestring(encoded).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    elif transfer_encoding == "base64":
        encoded = base64.encodebytes(encoded).replace(b"\n", b"\r\n")
    head = HEADERS + (f"Content-Type: text/plain; charset={charset}\r\n"
                      f"Content-Transfer-Encoding: {transfer_encoding}\r\n\r\n")
    return head.encode("ascii") + encoded


def expected_answers(items) -> dict:
    return {DEFAULT_QUESTIONS[number - 1].key: value for number, _, value in items}


def check_any_bytes(raw):
    reading = parse_message(raw, MAX_BYTES)

    assert isinstance(reading, MessageReading)
    # The catch-all in parse_message is a last resort, not the way malformed mail is read.
    assert not reading.reason.startswith(("no se pudo leer el mensaje", "the message could not be read")), \
        reading.reason


def check_mail_like_bytes(head, body):
    check_any_bytes(head + b"\r\n\r\n" + body)


def check_encodings(items, charset, transfer_encoding):
    body = "Buenos días, mis respuestas:\n\n" + "".join(
        f"{number}. {text}\n" for number, text, _ in items) + "\nSaludos\n"
    if transfer_encoding == "7bit" and not body.isascii():
        transfer_encoding = "8bit"  # 7bit cannot carry accents; the 8bit path reads them

    reading = parse_message(build_message(body, charset, transfer_encoding), MAX_BYTES)

    assert reading.answers == expected_answers(items)
    assert not reading.unreadable


def check_shuffled_lines(items, order):
    lines = [f"{items[index][0]}. {items[index][1]}" for index in order]
    body = "Hola:\n\n" + "\n".join(lines) + "\n"

    reading = parse_message(build_message(body, "utf-8", "8bit"), MAX_BYTES)

    assert reading.answers == expected_answers(items)


mail_headers = st.lists(st.sampled_from([
    b"From: a@example.com", b"Content-Type: multipart/mixed; boundary=x",
    b"Content-Type: text/html; charset=bogus", b"Content-Transfer-Encoding: base64",
    b"Content-Transfer-Encoding: quoted-printable", b"Subject: =?utf-8?q?=ZZ?=",
    b"Auto-Submitted: no", b"To: automonitoreo+K7QM2XPD@salud.example.mx", b"In-Reply-To: <",
    b"Content-Type: text/plain; format=flowed; delsp=yes", b"Return-Path: <>",
]), max_size=6).map(b"\r\n".join)
mail_bodies = st.one_of(st.binary(max_size=2000), st.text(max_size=500).map(str.encode),
                        st.just(b"--x\r\nContent-Type: text/plain\r\n\r\n1 si\r\n--x--"))


@QUICK
@given(st.binary(max_size=3000))
def test_any_bytes_give_a_reading(raw):
    check_any_bytes(raw)


@QUICK
@given(mail_headers, mail_bodies)
def test_mail_like_bytes_give_a_reading(head, body):
    check_mail_like_bytes(head, body)


@QUICK
@given(answered_items(), st.sampled_from(CHARSETS), st.sampled_from(TRANSFER_ENCODINGS))
def test_answers_survive_encodings(items, charset, transfer_encoding):
    check_encodings(items, charset, transfer_encoding)


@QUICK
@given(answered_items().flatmap(lambda items: st.tuples(
    st.just(items), st.permutations(range(len(items))))))
def test_line_order_does_not_matter(items_and_order):
    check_shuffled_lines(*items_and_order)


@pytest.mark.slow
@LONG
@given(st.binary(max_size=20000))
def test_any_bytes_give_a_reading_long(raw):
    check_any_bytes(raw)


@pytest.mark.slow
@LONG
@given(mail_headers, mail_bodies)
def test_mail_like_bytes_give_a_reading_long(head, body):
    check_mail_like_bytes(head, body)


@pytest.mark.slow
@LONG
@given(answered_items(), st.sampled_from(CHARSETS), st.sampled_from(TRANSFER_ENCODINGS))
def test_answers_survive_encodings_long(items, charset, transfer_encoding):
    check_encodings(items, charset, transfer_encoding)


@pytest.mark.slow
@LONG
@given(answered_items().flatmap(lambda items: st.tuples(
    st.just(items), st.permutations(range(len(items))))))
def test_line_order_does_not_matter_long(items_and_order):
    check_shuffled_lines(*items_and_order)


def test_parser_failure_keeps_envelope(monkeypatch):
    import mailtriage.parser as parser

    def fail(raw, questions):
        raise RuntimeError("simulated parser bug")

    monkeypatch.setattr(parser, "_read_message", fail)
    raw = b"From: Ana <ana@example.com>\r\nSubject: Re: [Folio K7QM-2XPD]\r\n\r\n1 no\r\n"

    reading = parse_message(raw, MAX_BYTES)

    assert reading.kind == "answer"
    assert reading.sender == "ana@example.com"
    assert reading.folio == "K7QM2XPD"
    assert len(reading.unanswered) == len(DEFAULT_QUESTIONS)
    assert "RuntimeError" in reading.reason


@pytest.mark.parametrize("charset", ["utf-8", "windows-1252"])
def test_raw_8bit_subject_is_decoded(charset):
    raw = ("From: José <ana@example.com>\r\nSubject: Re: Cuestionario ñandú [Folio K7QM-2XPD]\r\n\r\n"
           "1 no\r\n").encode(charset)

    reading = parse_message(raw, MAX_BYTES)

    assert reading.subject == "Re: Cuestionario ñandú [Folio K7QM-2XPD]"
