"""Replies matched by the thread ids of any mail sent with an issuance: reminders and replies."""

from datetime import datetime, timedelta
from email.utils import format_datetime, make_msgid

import pytest

from mailtriage.models import OutboxMessage, Report
from mailtriage.pipeline import process_mailbox
from mailtriage.questionnaires import issue_reminder

from patient_mail import (
    GREEN_ANSWERS, MORNING, compact, deliver_to_maildir, enrol, morning_store, questionnaire_of,
)

@pytest.fixture
def config(make_config):
    with morning_store(make_config()) as config:
        yield config


def threaded_reply(patient, in_reply_to: str, written: datetime) -> bytes:
    """Return a reply that names no folio anywhere, so only its In-Reply-To can find the issuance."""
    headers = (f"From: {patient.email}\r\nTo: automonitoreo@umf34.example.mx\r\n"
               f"Subject: Re: mis respuestas\r\nDate: {format_datetime(written)}\r\n"
               f"Message-ID: {make_msgid(domain='example.com')}\r\nIn-Reply-To: {in_reply_to}\r\n"
               "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n")
    return (headers + "\r\n" + compact(GREEN_ANSWERS) + "\r\n").encode("utf-8")


def deliver(config, raw: bytes, minutes: int) -> None:
    deliver_to_maildir(config.mailbox.path, raw, MORNING + timedelta(minutes=minutes))


def test_reply_to_reminder_finds_issuance(config):
    patient = enrol(config)
    issuance, _ = questionnaire_of(patient)
    reminder = issue_reminder(patient, None, config)
    assert reminder.message_id.startswith("<rem-")
    deliver(config, threaded_reply(patient, reminder.message_id, MORNING), minutes=5)

    process_mailbox(config)

    report = Report.get()
    assert report.issuance_id == issuance.id
    assert report.matched_by == "in_reply_to"


def test_reply_to_our_reply_finds_issuance(config):
    patient = enrol(config)
    issuance, questionnaire = questionnaire_of(patient)
    deliver(config, threaded_reply(patient, questionnaire.message_id, MORNING), minutes=5)
    process_mailbox(config)
    our_reply = OutboxMessage.get(OutboxMessage.kind == "reply")
    assert our_reply.message_id.startswith("<r-")

    deliver(config, threaded_reply(patient, our_reply.message_id, MORNING), minutes=10)
    process_mailbox(config)

    second = Report.select().order_by(Report.id.desc()).first()
    assert second.issuance_id == issuance.id
    assert second.matched_by == "in_reply_to"


def test_unknown_thread_id_falls_back_to_sender(config):
    patient = enrol(config)
    deliver(config, threaded_reply(patient, "<rem-0000@umf34.example.mx>", MORNING), minutes=5)

    process_mailbox(config)

    report = Report.get()
    assert report.issuance_id is None
    assert report.matched_by == "sender"
