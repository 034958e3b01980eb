"""Replies from a patient's address that are not read as answers: recorded, never answered, reviewed.

A mistyped folio, another patient's folio or a message too large or too
complex to read is never attached to a report, but its sender patient is
stored so staff see it under «Mensajes por revisar» in the call list.
"""

from datetime import timedelta
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import pytest
from click.testing import CliRunner

from mailtriage import recording
from mailtriage.calls import CallError, dismiss_message, log_call, messages_to_review
from mailtriage.cli import build_cli
from mailtriage.discharge import discharge_patient
from mailtriage.errors import NotFoundError
from mailtriage.folios import format_folio
from mailtriage.handling import raw_sender
from mailtriage.limits import MAX_PARTS
from mailtriage.models import AuditEvent, InboundMessage, OutboxMessage, Report
from mailtriage.parser import FOLIO_ALPHABET
from mailtriage.pipeline import process_mailbox

from patient_mail import (
    MORNING, morning_store,
    GREEN_ANSWERS, RED_ANSWERS, YELLOW_ANSWERS, deliver_to_maildir, enrol, questionnaire_of, reply_to,
    stranger_reply,
)
from staffing import add_report

MAX_MESSAGE_BYTES = 100_000


@pytest.fixture
def config(make_config):
    with morning_store(make_config(mailbox={"max_message_bytes": MAX_MESSAGE_BYTES})) as config:
        yield config


def deliver(config, raw: bytes, minutes_after_morning: int = 30) -> str:
    return deliver_to_maildir(config.mailbox.path, raw, MORNING + timedelta(minutes=minutes_after_morning))


def mistyped(folio: str) -> str:
    """Return the folio with its last character changed, as a patient retyping it might."""
    last = FOLIO_ALPHABET[(FOLIO_ALPHABET.index(folio[-1]) + 1) % len(FOLIO_ALPHABET)]
    return folio[:-1] + last


def with_folio(raw: bytes, folio: str, replacement: str) -> bytes:
    """Replace a folio everywhere in a reply: subject, body and the questionnaire's Message-ID."""
    raw = raw.replace(format_folio(folio).encode(), format_folio(replacement).encode())
    return raw.replace(folio.encode(), replacement.encode())


def oversize(raw: bytes) -> bytes:
    return raw.replace(b"\r\n\r\n", b"\r\n\r\n" + b"x" * (2 * MAX_MESSAGE_BYTES) + b"\r\n", 1)


def many_parts(patient) -> bytes:
    """Return a reply from the patient with more MIME parts than the structural check allows."""
    issuance, questionnaire = questionnaire_of(patient)
    message = MIMEMultipart("mixed")
    message["From"] = f"Ana <{patient.email}>"
    message["Subject"] = f"Re: {questionnaire.subject}"
    message["Message-ID"] = "<partes@example.com>"
    for number in range(MAX_PARTS + 1):
        message.attach(MIMEText(f"parte {number}", "plain", "utf-8"))
    return message.as_bytes()


def the_inbound() -> InboundMessage:
    return InboundMessage.get()


def replies() -> int:
    return OutboxMessage.select().where(OutboxMessage.kind == "reply").count()


def calls_list(config) -> str:
    result = CliRunner().invoke(build_cli(), ["--config", str(config.path), "calls", "list"])
    assert result.exit_code == 0, result.output
    return result.output


# ---------------------------------------------------------------------- recorded with the sender patient

def test_mistyped_folio_keeps_sender_patient(config):
    patient = enrol(config)
    issuance, _ = questionnaire_of(patient)
    deliver(config, with_folio(reply_to(patient, RED_ANSWERS, MORNING), issuance.folio,
                               mistyped(issuance.folio)))

    process_mailbox(config)

    inbound = the_inbound()
    assert inbound.kind == "unknown_folio"
    assert inbound.outcome == recording.RECORDED
    assert inbound.patient is None
    assert inbound.sender_patient.id == patient.id
    assert Report.select().count() == 0
    assert replies() == 0
    assert [message.id for message in messages_to_review()] == [inbound.id]


def test_other_patients_folio_not_attached(config):
    owner = enrol(config, email="melida@example.com", first_name="Mélida")
    relative = enrol(config, email="lia@example.com", first_name="Lía")
    deliver(config, stranger_reply(owner, MORNING, sender=relative.email))

    process_mailbox(config)

    inbound = the_inbound()
    assert inbound.kind == "folio_mismatch"
    assert inbound.patient is None
    assert inbound.sender_patient.id == relative.id
    assert Report.select().count() == 0
    assert replies() == 0


def test_oversize_reply_keeps_real_size(config):
    patient = enrol(config)
    raw = oversize(reply_to(patient, GREEN_ANSWERS, MORNING))
    deliver(config, raw)

    process_mailbox(config)

    inbound = the_inbound()
    assert inbound.kind == "oversize"
    assert inbound.size == len(raw)
    assert f"{len(raw)} bytes" in inbound.last_error
    assert f"límite {MAX_MESSAGE_BYTES}" in inbound.last_error
    assert inbound.sender_patient.id == patient.id
    assert replies() == 0


def test_too_many_parts_sender_read_from_raw(config):
    patient = enrol(config)
    deliver(config, many_parts(patient))

    process_mailbox(config)

    inbound = the_inbound()
    assert inbound.kind == "oversize"
    assert "MIME" in inbound.last_error
    assert inbound.sender_patient.id == patient.id
    assert [message.id for message in messages_to_review()] == [inbound.id]


def test_oversize_from_stranger_recorded_not_listed(config):
    patient = enrol(config)
    deliver(config, oversize(stranger_reply(patient, MORNING)))

    process_mailbox(config)

    inbound = the_inbound()
    assert inbound.kind == "oversize"
    assert inbound.outcome == recording.RECORDED
    assert inbound.sender_patient is None
    assert messages_to_review() == []


def test_unknown_sender_not_listed(config):
    patient = enrol(config)
    deliver(config, stranger_reply(patient, MORNING, sender="vecino@example.org"))

    process_mailbox(config)

    assert the_inbound().kind in ("unknown_sender", "folio_mismatch")
    assert the_inbound().sender_patient is None
    assert messages_to_review() == []


def test_discharged_patient_message_listed(config):
    patient = enrol(config)
    issuance, _ = questionnaire_of(patient)
    discharge_patient(patient.id, "recuperado", "medico")
    deliver(config, with_folio(reply_to(patient, YELLOW_ANSWERS, MORNING), issuance.folio,
                               mistyped(issuance.folio)))

    process_mailbox(config)

    assert the_inbound().sender_patient.id == patient.id
    assert "(alta)" in calls_list(config)


# ---------------------------------------------------------------------- the call list and closing a review

def test_review_section_before_normal_priority(config):
    typist = enrol(config, email="beto@example.com", first_name="Beto")
    high = enrol(config, email="carla@example.com", first_name="Carla")
    normal = enrol(config, email="dora@example.com", first_name="Dora")
    add_report(high, "amarillo", "A")
    add_report(normal, "amarillo", "N", at=MORNING - timedelta(hours=5))
    issuance, _ = questionnaire_of(typist)
    deliver(config, with_folio(reply_to(typist, RED_ANSWERS, MORNING), issuance.folio,
                               mistyped(issuance.folio)), minutes_after_morning=10)
    process_mailbox(config)
    inbound = the_inbound()

    output = calls_list(config)

    section = output.index("[Mensajes por revisar]")
    review_line = next(line for line in output.splitlines() if f"Mensaje {inbound.id}," in line)
    assert "folio desconocido" in review_line
    assert f"paciente {typist.id}: Beto" in review_line
    assert "04/12/2026 09:10" in review_line
    assert output.index(f"Paciente {high.id}:") < section
    assert section < output.index(f"Paciente {normal.id}:")


def test_answered_call_closes_review(config):
    patient = enrol(config)
    deliver(config, oversize(reply_to(patient, GREEN_ANSWERS, MORNING)))
    process_mailbox(config)

    call, _ = log_call(patient.id, "contestada", "Envió fotos; está bien", "enfermera")

    inbound = the_inbound()
    assert inbound.reviewed_at == call.made_at
    assert messages_to_review() == []
    event = AuditEvent.get(AuditEvent.action == "call")
    assert event.detail["reviewed_messages"] == [inbound.id]
    assert "No hay llamadas pendientes." in calls_list(config)


def test_unanswered_call_keeps_review(config):
    patient = enrol(config)
    deliver(config, oversize(reply_to(patient, GREEN_ANSWERS, MORNING)))
    process_mailbox(config)

    log_call(patient.id, "sin_respuesta", "", "enfermera")

    assert [message.id for message in messages_to_review()] == [the_inbound().id]


def test_dismiss_closes_review_with_audit(config):
    patient = enrol(config)
    deliver(config, oversize(reply_to(patient, GREEN_ANSWERS, MORNING)))
    process_mailbox(config)
    inbound = the_inbound()

    result = CliRunner().invoke(build_cli(), [
        "--config", str(config.path), "calls", "dismiss", str(inbound.id),
        "--note", "Reenvío de fotos sin respuestas", "--staff", "enfermera"])

    assert result.exit_code == 0, result.output
    inbound = the_inbound()
    assert inbound.reviewed_at is not None
    assert inbound.review_note == "Reenvío de fotos sin respuestas"
    assert messages_to_review() == []
    event = AuditEvent.get(AuditEvent.action == "dismiss_message")
    assert event.actor == "enfermera"
    assert event.patient_id == patient.id
    assert event.detail == {"message": inbound.id, "with_note": True}
    trail = CliRunner().invoke(build_cli(), ["--config", str(config.path), "audit"])
    assert "con nota" in trail.output
    assert "Reenvío de fotos" not in trail.output


def test_dismiss_needs_note(config):
    patient = enrol(config)
    deliver(config, oversize(reply_to(patient, GREEN_ANSWERS, MORNING)))
    process_mailbox(config)

    with pytest.raises(CallError):
        dismiss_message(the_inbound().id, "  ", "enfermera")


def test_dismiss_rejects_message_not_under_review(config):
    patient = enrol(config)
    deliver(config, reply_to(patient, GREEN_ANSWERS, MORNING))
    process_mailbox(config)

    with pytest.raises(NotFoundError):
        dismiss_message(the_inbound().id, "nada", "enfermera")


# ---------------------------------------------------------------------- the From field of a refused message

def test_raw_sender_reads_folded_encoded_from():
    raw = (b"Subject: x\r\nFrom: =?utf-8?q?M=C3=A9lida?=\r\n <Melida@Example.org>\r\n"
           b"X-Junk: " + b"a" * 200_000 + b"\r\n\r\nFrom: otro@example.org\r\n")

    assert raw_sender(raw) == "melida@example.org"


def test_raw_sender_without_from():
    assert raw_sender(b"Subject: x\r\n\r\nFrom: cuerpo@example.org\r\n") == ""
    assert raw_sender(b"") == ""
