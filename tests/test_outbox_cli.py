"""`mailtriage outbox`: listing pending and failed mail, and queueing a failed message again."""

import logging
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from mailtriage import clock
from mailtriage.cli import build_cli
from mailtriage.config import load_config
from mailtriage.errors import MailtriageError, NotFoundError
from mailtriage.i18n import set_language
from mailtriage.models import AuditEvent, OutboxMessage, database_proxy, open_database
from mailtriage.outbox import send_pending

NOW = datetime(2026, 12, 4, 16, 0, tzinfo=timezone.utc)
REFUSED_ADDRESS = "ana.lopez@example.mx"
BODY = "Su semáforo de hoy es rojo: acuda a Urgencias."


@pytest.fixture
def config(make_config, smtp_server):
    set_language("es")
    clock.set_now(NOW)
    config = load_config(make_config(smtp_url=smtp_server.url()))
    open_database(config.database_url)
    yield config
    clock.set_now(None)
    set_language("es")
    if not database_proxy.is_closed():
        database_proxy.close()


def queue(number: int, kind: str = "reply", to: str = REFUSED_ADDRESS, **fields) -> OutboxMessage:
    values = dict(kind=kind, to_address=to, subject="Su semáforo de hoy: rojo",
                  message_id=f"<r-{number}@umf34.example.mx>", body_text=BODY,
                  next_attempt_at=NOW, created_at=NOW - timedelta(minutes=number))
    return OutboxMessage.create(**(values | fields))


def run(config, *arguments):
    return CliRunner().invoke(build_cli(), ["--config", str(config.path), "outbox", *arguments])


def reload(row: OutboxMessage) -> OutboxMessage:
    return OutboxMessage.get_by_id(row.id)


@pytest.mark.servers
def test_refusal_logged_without_address(config, smtp_server, caplog):
    smtp_server.reject(REFUSED_ADDRESS, f"550 5.1.1 <{REFUSED_ADDRESS}>: User unknown")
    row = queue(1)

    with caplog.at_level(logging.WARNING, logger="mailtriage.outbox"):
        send_pending(config)

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert reload(row).status == "failed"
    assert "550 5.1.1" in logged
    assert "User unknown" in logged
    assert REFUSED_ADDRESS not in logged


@pytest.mark.servers
def test_list_failed_shows_reply_not_body(config, smtp_server):
    smtp_server.reject(REFUSED_ADDRESS, "550 5.1.1 User unknown")
    failed = queue(1)
    send_pending(config)
    pending = queue(2, next_attempt_at=NOW + timedelta(hours=1))

    result = run(config, "list", "--failed")

    assert result.exit_code == 0, result.output
    (line,) = [text for text in result.output.splitlines() if text.startswith(f"{failed.id}\t")]
    assert "\trespuesta\t" in line
    assert "\tfallido\t" in line
    assert "550 5.1.1 User unknown" in line
    assert f"{pending.id}\t" not in result.output
    assert BODY not in result.output
    assert "semáforo" not in result.output


def test_list_pending_only(config):
    pending = queue(1, kind="questionnaire", next_attempt_at=NOW + timedelta(hours=1))
    failed = queue(2, status="failed", attempts=10, last_error="550 User unknown")

    result = run(config, "list", "--pending")

    assert result.exit_code == 0, result.output
    assert f"{pending.id}\tcuestionario\tpendiente\t" in result.output
    assert f"{failed.id}\t" not in result.output


def test_list_default_shows_both_not_sent(config):
    pending = queue(1, next_attempt_at=NOW + timedelta(hours=1))
    failed = queue(2, status="failed", attempts=10, last_error="550 User unknown")
    sent = queue(3, status="sent", sent_at=NOW)

    result = run(config, "list")

    assert f"{pending.id}\t" in result.output
    assert f"{failed.id}\t" in result.output
    assert f"{sent.id}\t" not in result.output


def test_list_both_filters_rejected(config):
    result = run(config, "list", "--failed", "--pending")

    assert result.exit_code == 2
    assert "--failed" in result.output


def test_list_empty_says_so(config):
    result = run(config, "list")

    assert result.exit_code == 0
    assert "No hay correos pendientes ni fallidos." in result.output


@pytest.mark.servers
def test_retry_requeues_and_sends(config, smtp_server):
    smtp_server.reject(REFUSED_ADDRESS, "550 5.1.1 User unknown")
    row = queue(1)
    send_pending(config)
    smtp_server.accept_all()

    result = run(config, "retry", str(row.id), "--staff", "admin")

    requeued = reload(row)
    assert result.exit_code == 0, result.output
    assert requeued.status == "pending"
    assert requeued.attempts == 0
    assert requeued.next_attempt_at <= clock.now()
    event = AuditEvent.get(AuditEvent.action == "outbox_retry")
    assert event.actor == "admin"
    assert event.detail == {"outbox": row.id, "attempts": 1}
    assert send_pending(config).sent == 1
    assert reload(row).status == "sent"


def test_retry_all_failed(config):
    first = queue(1, status="failed", attempts=10)
    second = queue(2, status="failed", attempts=3)
    sent = queue(3, status="sent", attempts=1, sent_at=NOW)

    result = run(config, "retry", "--all-failed")

    assert result.exit_code == 0, result.output
    assert reload(first).status == "pending"
    assert reload(second).status == "pending"
    assert reload(sent).status == "sent"
    assert AuditEvent.select().where(AuditEvent.action == "outbox_retry").count() == 2


def test_retry_of_sent_row_rejected(config):
    sent = queue(1, status="sent", attempts=1, sent_at=NOW)

    result = run(config, "retry", str(sent.id))

    assert isinstance(result.exception, MailtriageError)
    assert "no falló" in str(result.exception)
    assert reload(sent).status == "sent"


def test_retry_of_unknown_row_rejected(config):
    result = run(config, "retry", "999")

    assert isinstance(result.exception, NotFoundError)
    assert "999" in str(result.exception)


def test_retry_needs_id_or_all(config):
    result = run(config, "retry")

    assert result.exit_code == 2
    assert "--all-failed" in result.output
