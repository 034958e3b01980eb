"""Sending the outbox in rounds of SEND_BATCH_ROWS rows, on the real SMTP server."""

from datetime import datetime, timedelta, timezone

import pytest

from mailtriage import clock, outbox
from mailtriage.config import load_config
from mailtriage.models import OutboxMessage, database_proxy, open_database
from mailtriage.outbox import send_pending

NOW = datetime(2026, 12, 4, 16, 0, tzinfo=timezone.utc)


@pytest.fixture
def config(make_config, tmp_path, smtp_server, monkeypatch):
    clock.set_now(NOW)
    # Rounds of two rows, so five rows need three rounds.
    monkeypatch.setattr(outbox, "SEND_BATCH_ROWS", 2)
    loaded = load_config(make_config(tmp_path, smtp_url=smtp_server.url()))
    open_database(loaded.database_url)
    yield loaded
    database_proxy.close()
    clock.set_now(None)


def queue(count: int) -> list[OutboxMessage]:
    return [OutboxMessage.create(
        kind="reply", to_address=f"paciente{number}@example.mx", subject="Su semáforo de hoy: verde",
        message_id=f"<r-{number}@umf34.example.mx>", body_text="Siga con los cuidados en casa.\n",
        next_attempt_at=NOW, created_at=NOW - timedelta(minutes=5))
        for number in range(count)]


def test_send_pending_sends_every_round(config, smtp_server):
    queue(5)

    summary = send_pending(config)

    assert summary.sent == 5
    assert len(smtp_server.wait_for_messages(5)) == 5
    assert OutboxMessage.select().where(OutboxMessage.status == "pending").count() == 0


def test_send_pending_limit_spans_rounds(config, smtp_server):
    queue(5)

    summary = send_pending(config, limit=3)

    assert summary.sent == 3
    assert OutboxMessage.select().where(OutboxMessage.status == "pending").count() == 2


def test_send_pending_stops_after_connection_failure(config, smtp_server):
    queue(5)
    smtp_server.stop()
    try:
        summary = send_pending(config)
    finally:
        smtp_server.start()

    assert summary.sent == 0
    assert summary.error is not None
    # Only the first round was tried: its rows were deferred, the rest wait untouched.
    assert OutboxMessage.select().where(OutboxMessage.attempts == 0).count() == 3
