"""Sending the outbox: MIME building, SMTP outcomes, retries, TLS and the Maildir sink."""

import mailbox
from datetime import date, datetime, timedelta, timezone
from email import message_from_bytes
from email.policy import default as default_policy

import pytest

from mailtriage import clock, outbox, smtpsend
from mailtriage.i18n import set_language
from mailtriage.models import Issuance, OutboxMessage, Patient, Unit
from mailtriage.outbox import send_pending
from servers import free_port

NOW = datetime(2026, 12, 4, 16, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def frozen_clock():
    set_language("en")
    clock.set_now(NOW)
    yield
    clock.set_now(None)
    set_language("es")


@pytest.fixture
def smtp_config(smtp_server, configure):
    return configure(smtp_url=smtp_server.url())


def queue(number=1, kind="reply", to="paciente@example.mx", **fields) -> OutboxMessage:
    values = dict(
        kind=kind, to_address=to, subject="Su semáforo de hoy: verde",
        message_id=f"<r-{number}@umf34.example.mx>", body_text="Siga con los cuidados en casa.\n",
        next_attempt_at=NOW, created_at=NOW - timedelta(minutes=5))
    values.update(fields)
    return OutboxMessage.create(**values)


def reload(row: OutboxMessage) -> OutboxMessage:
    return OutboxMessage.get_by_id(row.id)


# ---------------------------------------------------------------------- the message

@pytest.mark.servers
def test_reply_headers_and_envelope(smtp_server, smtp_config):
    queue(1, in_reply_to="<p-1@example.mx>", references="<q-1@umf34.example.mx> <p-1@example.mx>",
          extra_headers={"Reply-To": "automonitoreo@umf34.example.mx"})

    summary = send_pending(smtp_config)

    assert summary.sent == 1
    [received] = smtp_server.messages()
    assert received.envelope_from == "automonitoreo@umf34.example.mx"
    assert received.envelope_to == ["paciente@example.mx"]
    assert received["From"] == "Automonitoreo COVID-19 <automonitoreo@umf34.example.mx>"
    assert received["To"] == "paciente@example.mx"
    assert received["Subject"] == "Su semáforo de hoy: verde"
    assert received["Message-ID"] == "<r-1@umf34.example.mx>"
    assert received["In-Reply-To"] == "<p-1@example.mx>"
    assert received["References"] == "<q-1@umf34.example.mx> <p-1@example.mx>"
    assert received["Auto-Submitted"] == "auto-replied"
    assert received["Reply-To"] == "automonitoreo@umf34.example.mx"
    assert received["Date"].datetime == NOW - timedelta(minutes=5)
    assert received.get_content_type() == "text/plain"
    # SMTP carries CRLF line ends, which the decoded text keeps.
    assert received.get_content().splitlines() == ["Siga con los cuidados en casa."]


@pytest.mark.servers
def test_questionnaire_html_alternative(smtp_server, smtp_config):
    queue(1, kind="questionnaire", body_html="<p>1. ¿Tiene fiebre?</p>")

    send_pending(smtp_config)

    [received] = smtp_server.messages()
    assert received["Auto-Submitted"] == "auto-generated"
    assert received["In-Reply-To"] is None
    assert received.get_content_type() == "multipart/alternative"
    text = received.get_body(("plain",))
    html = received.get_body(("html",))
    assert text.get_content().splitlines() == ["Siga con los cuidados en casa."]
    assert html.get_content().strip() == "<p>1. ¿Tiene fiebre?</p>"
    assert html.get_content_charset() == "utf-8"


@pytest.mark.servers
def test_reminder_is_auto_replied(smtp_server, smtp_config):
    queue(1, kind="reminder")

    send_pending(smtp_config)

    assert smtp_server.messages()[0]["Auto-Submitted"] == "auto-replied"


# ---------------------------------------------------------------------- which rows

@pytest.mark.servers
def test_only_due_pending_rows_sent(smtp_server, smtp_config):
    due = queue(1)
    queue(2, next_attempt_at=NOW + timedelta(seconds=1))
    queue(3, status="sent")
    queue(4, status="failed")

    summary = send_pending(smtp_config)

    assert summary.sent == 1
    assert [m["Message-ID"] for m in smtp_server.messages()] == [due.message_id]
    assert send_pending(smtp_config).sent == 0


@pytest.mark.servers
def test_sent_row_recorded(smtp_config):
    row = queue(1)

    send_pending(smtp_config)

    row = reload(row)
    assert row.status == "sent"
    assert row.sent_at == NOW
    assert row.attempts == 1
    assert row.last_error is None


@pytest.mark.servers
def test_limit_bounds_rows(smtp_server, smtp_config):
    for number in range(1, 6):
        queue(number, next_attempt_at=NOW - timedelta(minutes=number))

    summary = send_pending(smtp_config, limit=2)

    assert summary.sent == 2
    # The oldest due rows go first.
    assert sorted(m["Message-ID"] for m in smtp_server.messages()) == [
        "<r-4@umf34.example.mx>", "<r-5@umf34.example.mx>"]


@pytest.mark.servers
def test_many_rows_each_sent_once(smtp_server, smtp_config):
    rows = [queue(number) for number in range(1, 31)]

    summary = send_pending(smtp_config)

    assert summary.sent == 30
    received = sorted(m["Message-ID"] for m in smtp_server.messages())
    assert received == sorted(row.message_id for row in rows)


@pytest.mark.servers
def test_questionnaire_marks_issuance_sent(smtp_config):
    unit = Unit.create(code="UMF-34", name="UMF 34", timezone="America/Mazatlan")
    patient = Patient.create(unit=unit, first_name="Ana", email="ana@example.mx",
                             birth_date=date(1980, 1, 1), enrolled_at=NOW)
    issuance = Issuance.create(patient=patient, local_date=date(2026, 12, 4), folio="K7M2Q9",
                               message_id="<q-20261204-K7M2Q9@umf34.example.mx>", created_at=NOW)
    queue(1, kind="reply", issuance=issuance, next_attempt_at=NOW - timedelta(minutes=1))
    reply_sent = send_pending(smtp_config)
    assert reply_sent.sent == 1
    assert Issuance.get_by_id(issuance.id).sent_at is None

    queue(2, kind="questionnaire", issuance=issuance, message_id=issuance.message_id)
    send_pending(smtp_config)

    assert Issuance.get_by_id(issuance.id).sent_at == NOW


# ---------------------------------------------------------------------- refusals and retries

@pytest.mark.servers
def test_temporary_refusal_defers_row(smtp_server, smtp_config):
    smtp_server.reject("paciente@example.mx", "451 4.3.0 Try again later")
    row = queue(1)

    summary = send_pending(smtp_config)

    row = reload(row)
    assert summary.deferred == 1
    assert row.status == "pending"
    assert row.attempts == 1
    assert row.next_attempt_at == NOW + timedelta(seconds=60)
    assert row.last_error == "451 4.3.0 Try again later"
    assert smtp_server.messages() == []


@pytest.mark.servers
def test_permanent_refusal_fails_row(smtp_server, smtp_config):
    smtp_server.reject("paciente@example.mx", "550 5.1.1 User unknown")
    row = queue(1)

    summary = send_pending(smtp_config)

    row = reload(row)
    assert summary.failed == 1
    assert row.status == "failed"
    assert row.last_error == "550 5.1.1 User unknown"


@pytest.mark.servers
def test_refusal_spares_other_rows(smtp_server, smtp_config, monkeypatch):
    monkeypatch.setattr(smtpsend, "MAX_CONNECTIONS", 1)  # all three on one connection
    smtp_server.reject("rechazado@example.mx", "550 5.1.1 User unknown")
    queue(1)
    refused = queue(2, to="rechazado@example.mx")
    queue(3)

    summary = send_pending(smtp_config)

    assert summary.sent == 2
    assert summary.failed == 1
    assert reload(refused).status == "failed"
    assert len(smtp_server.messages()) == 2


@pytest.mark.servers
def test_backoff_doubles_then_gives_up(smtp_server, smtp_config):
    smtp_server.reject("paciente@example.mx", "452 4.2.2 Mailbox full")
    row = queue(1)
    waits = []

    for _attempt in range(outbox.MAX_ATTEMPTS):
        send_pending(smtp_config)
        row = reload(row)
        if row.status != "pending":
            break
        waits.append(row.next_attempt_at - clock.now())
        clock.set_now(row.next_attempt_at)

    assert waits[:4] == [timedelta(seconds=seconds) for seconds in (60, 120, 240, 480)]
    assert max(waits) == outbox.MAX_RETRY_DELAY
    assert row.status == "failed"
    assert row.attempts == outbox.MAX_ATTEMPTS
    assert "452 4.2.2 Mailbox full" in row.last_error


def test_retry_delay_is_capped():
    base = timedelta(seconds=60)

    assert outbox.retry_delay(base, 1) == base
    assert outbox.retry_delay(base, 3) == 4 * base
    assert outbox.retry_delay(base, 30) == outbox.MAX_RETRY_DELAY


# ---------------------------------------------------------------------- connections

@pytest.mark.servers
def test_closed_port_defers_and_stops(configure):
    port = free_port()
    config = configure(smtp_url=f"smtp://127.0.0.1:{port}")
    rows = [queue(number) for number in range(1, 11)]

    summary = send_pending(config)

    attempts = [reload(row).attempts for row in rows]
    assert summary.sent == 0
    assert f"127.0.0.1:{port}" in summary.error
    # One row per connection was tried, and the rest were left for the next pass.
    assert 1 <= sum(attempts) <= smtpsend.MAX_CONNECTIONS
    assert all(reload(row).status == "pending" for row in rows)


@pytest.mark.servers
def test_outage_then_restart_delivers(smtp_server, smtp_config):
    row = queue(1)
    smtp_server.stop()
    try:
        assert send_pending(smtp_config).deferred == 1
    finally:
        smtp_server.start()

    clock.set_now(reload(row).next_attempt_at)
    summary = send_pending(smtp_config)

    assert summary.sent == 1
    assert reload(row).attempts == 2
    assert len(smtp_server.messages()) == 1


@pytest.mark.servers
def test_starttls_with_login(smtp_server, configure):
    config = configure(smtp_url=smtp_server.url("smtp+starttls", "automonitoreo"),
                       smtp_password=smtp_server.password)
    queue(1)

    assert send_pending(config).sent == 1

    [received] = smtp_server.messages()
    assert received.tls is True
    assert received.auth_user == "automonitoreo"
    assert received.port == smtp_server.starttls_port


@pytest.mark.servers
def test_smtps_verifies_ca_file(smtp_server, configure):
    config = configure(smtp_url=smtp_server.url("smtps"))
    queue(1)

    assert send_pending(config).sent == 1
    assert smtp_server.messages()[0].port == smtp_server.smtps_port


@pytest.mark.servers
def test_smtps_unknown_certificate_rejected(smtp_server, configure):
    config = configure(smtp_url=smtp_server.url("smtps"), smtp={"ca_file": ""})
    row = queue(1)

    summary = send_pending(config)

    assert "TLS certificate" in summary.error
    assert "failed verification" in summary.error
    assert reload(row).status == "pending"
    assert smtp_server.messages() == []


@pytest.mark.servers
def test_wrong_password_reported(smtp_server, configure):
    config = configure(smtp_url=smtp_server.url("smtp", "automonitoreo"), smtp_password="wrong")
    queue(1)

    summary = send_pending(config)

    assert "rejected the login" in summary.error
    assert "wrong" not in summary.error
    assert smtp_server.messages() == []


# ---------------------------------------------------------------------- the Maildir sink

def test_maildir_sink_writes_messages(configure, tmp_path):
    config = configure()
    row = queue(1, kind="questionnaire", body_html="<p>Hola</p>")

    summary = send_pending(config)

    assert summary.sent == 1
    assert reload(row).status == "sent"
    [stored] = [message_from_bytes(raw, policy=default_policy)
                for raw in (m.as_bytes() for m in mailbox.Maildir(tmp_path / "Enviados"))]
    assert stored["Message-ID"] == row.message_id
    assert stored["Auto-Submitted"] == "auto-generated"
    assert stored.get_content_type() == "multipart/alternative"
    assert send_pending(config).sent == 0


def test_silent_server_times_out(configure, silent_server, monkeypatch):
    monkeypatch.setattr(smtpsend, "SMTP_TIMEOUT_SECONDS", 0.3)
    config = configure(smtp_url=f"smtp://127.0.0.1:{silent_server}")
    row = queue(1)

    summary = send_pending(config)

    assert summary.error == f"SMTP server smtp://127.0.0.1:{silent_server}: timed out after 0.3 s"
    assert reload(row).attempts == 1
