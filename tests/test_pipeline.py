"""The pipeline on a local Maildir: one transaction per message, retries, quarantine, no repeats."""

import mailbox
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone

import pytest

from mailtriage import clock, faults, recording
from mailtriage.config import load_config
from mailtriage.daemon import open_store
from mailtriage.i18n import set_language
from mailtriage.models import InboundMessage, OutboxMessage, Report, database_proxy
from mailtriage.pipeline import MAX_ATTEMPTS, process_mailbox

from patient_mail import (
    MORNING, morning_store,
    GREEN_ANSWERS, RED_ANSWERS, YELLOW_ANSWERS, autoreply_to, deliver_to_maildir, enrol, reply_to,
    stranger_reply,
)

@pytest.fixture
def config(make_config):
    with morning_store(make_config()) as config:
        yield config


def deliver(config, raw: bytes, minutes_after_morning: int = 30) -> str:
    return deliver_to_maildir(config.mailbox.path, raw, MORNING + timedelta(minutes=minutes_after_morning))


def keys_in(config, folder: str | None = None) -> list[str]:
    box = mailbox.Maildir(config.mailbox.path, create=False)
    if folder is not None:
        box = box.get_folder(folder) if folder in box.list_folders() else None
    return sorted(box.keys()) if box is not None else []


def replies_of(report) -> list[OutboxMessage]:
    return list(OutboxMessage.select().where((OutboxMessage.report == report)
                                             & (OutboxMessage.kind == "reply")))


def test_answer_stored_with_reply_and_filed(config):
    patient = enrol(config)
    key = deliver(config, reply_to(patient, YELLOW_ANSWERS, MORNING))

    summary = process_mailbox(config)

    assert summary.messages_read == 1
    assert sum(summary.reports.values()) == 1
    report = Report.get(Report.patient == patient)
    inbound = report.inbound
    assert inbound.outcome == recording.REPORTED
    assert inbound.kind == "answer"
    assert inbound.handled_on_server
    assert bytes(inbound.raw).startswith(b"From:")
    assert report.answers["fever"] is True
    assert report.first_of_day is None
    assert report.ruleset_version
    assert len(replies_of(report)) == 1
    assert keys_in(config) == []
    assert keys_in(config, config.processed_folder) == [key]


def test_report_keeps_hits_and_color(config):
    patient = enrol(config)
    deliver(config, reply_to(patient, RED_ANSWERS, MORNING))

    summary = process_mailbox(config)

    report = Report.get(Report.patient == patient)
    assert report.color == "rojo"
    assert summary.reports["rojo"] == 1
    assert report.hits
    assert all(hit["reason"] for hit in report.hits)
    assert any(hit["color"] == "rojo" for hit in report.hits)


def test_autoreply_recorded_without_reply(config):
    patient = enrol(config)
    key = deliver(config, autoreply_to(patient, MORNING))

    summary = process_mailbox(config)

    inbound = InboundMessage.get()
    assert summary.not_answers == 1
    assert inbound.kind == "autoreply"
    assert inbound.outcome == recording.RECORDED
    assert Report.select().count() == 0
    assert OutboxMessage.select().where(OutboxMessage.kind == "reply").count() == 0
    assert keys_in(config, config.processed_folder) == [key]


def test_stranger_recorded_without_reply(config):
    patient = enrol(config)
    deliver(config, stranger_reply(patient, MORNING))

    process_mailbox(config)

    inbound = InboundMessage.get()
    assert inbound.kind in ("unknown_sender", "folio_mismatch")
    assert inbound.last_error
    assert inbound.patient is None
    assert Report.select().count() == 0
    assert OutboxMessage.select().where(OutboxMessage.kind == "reply").count() == 0


def test_failure_rolls_back_and_counts(config):
    patient = enrol(config)
    key = deliver(config, reply_to(patient, GREEN_ANSWERS, MORNING))
    faults.arm(f"{faults.BEFORE_STORE}={faults.ENOSPC}")

    summary = process_mailbox(config)

    inbound = InboundMessage.get()
    assert summary.failed == 1
    assert inbound.attempts == 1
    assert inbound.outcome == recording.PENDING
    assert "ENOSPC" in inbound.last_error or "No space" in inbound.last_error
    assert Report.select().count() == 0
    assert OutboxMessage.select().where(OutboxMessage.kind == "reply").count() == 0
    assert keys_in(config) == [key]


def test_repeated_failure_quarantines(config):
    patient = enrol(config)
    key = deliver(config, reply_to(patient, GREEN_ANSWERS, MORNING))
    faults.arm(f"{faults.BEFORE_STORE}={faults.ENOSPC}")

    summaries = [process_mailbox(config) for _ in range(MAX_ATTEMPTS)]

    inbound = InboundMessage.get()
    assert [summary.quarantined for summary in summaries] == [0] * (MAX_ATTEMPTS - 1) + [1]
    assert inbound.outcome == recording.QUARANTINED
    assert inbound.attempts == MAX_ATTEMPTS
    assert str(MAX_ATTEMPTS) in inbound.last_error
    assert inbound.handled_on_server
    assert keys_in(config) == []
    assert keys_in(config, config.quarantine_folder) == [key]
    assert process_mailbox(config).messages_read == 0


def test_failure_then_success_keeps_one_row(config):
    patient = enrol(config)
    deliver(config, reply_to(patient, GREEN_ANSWERS, MORNING))
    faults.arm(f"{faults.BEFORE_STORE}={faults.ENOSPC}")
    process_mailbox(config)
    faults.arm(None)

    summary = process_mailbox(config)

    inbound = InboundMessage.get()
    assert sum(summary.reports.values()) == 1
    assert InboundMessage.select().count() == 1
    assert inbound.outcome == recording.REPORTED
    assert inbound.attempts == 2  # the failed try and the one that succeeded


def test_crash_before_filing_resumes(config):
    patient = enrol(config)
    key = deliver(config, reply_to(patient, GREEN_ANSWERS, MORNING))
    faults.arm(f"{faults.BEFORE_MARK}={faults.ENOSPC}")
    with pytest.raises(OSError):
        process_mailbox(config)
    faults.arm(None)
    assert keys_in(config) == [key]

    summary = process_mailbox(config)

    assert summary.already_recorded == 1
    assert sum(summary.reports.values()) == 0
    assert Report.select().count() == 1
    assert OutboxMessage.select().where(OutboxMessage.kind == "reply").count() == 1
    assert InboundMessage.get().handled_on_server
    assert keys_in(config, config.processed_folder) == [key]


def test_same_message_id_reported_once(config):
    patient = enrol(config)
    raw = reply_to(patient, GREEN_ANSWERS, MORNING, message_id="<copia-1@example.com>")
    deliver(config, raw)
    process_mailbox(config)
    second_key = deliver(config, raw, minutes_after_morning=40)

    summary = process_mailbox(config)

    assert summary.already_recorded == 1
    assert Report.select().count() == 1
    assert InboundMessage.select().count() == 1
    assert second_key in keys_in(config, config.processed_folder)


def test_second_reply_same_day_linked_to_first(config):
    patient = enrol(config)
    deliver(config, reply_to(patient, GREEN_ANSWERS, MORNING), minutes_after_morning=30)
    deliver(config, reply_to(patient, YELLOW_ANSWERS, MORNING), minutes_after_morning=90)

    process_mailbox(config)

    first, second = Report.select().order_by(Report.received_at)
    assert first.first_of_day is None
    assert second.first_of_day == first
    assert second.local_date == first.local_date


def test_reply_over_hourly_limit_skipped(make_config):
    set_language("es")
    clock.set_now(MORNING)
    config = load_config(make_config(smtp={"max_replies_per_sender_per_hour": 1}))
    open_store(config)
    try:
        patient = enrol(config)
        deliver(config, reply_to(patient, GREEN_ANSWERS, MORNING), minutes_after_morning=10)
        deliver(config, reply_to(patient, GREEN_ANSWERS, MORNING), minutes_after_morning=20)

        summary = process_mailbox(config)

        first, second = Report.select().order_by(Report.received_at)
        assert summary.replies_skipped == 1
        assert replies_of(first)[0].status == "pending"
        assert replies_of(second)[0].status == recording.SKIPPED
        assert "hora" in replies_of(second)[0].last_error
    finally:
        clock.set_now(None)
        database_proxy.close()


def test_stop_request_ends_pass(config):
    patient = enrol(config)
    deliver(config, reply_to(patient, GREEN_ANSWERS, MORNING))
    stop = threading.Event()
    stop.set()

    summary = process_mailbox(config, stop=stop)

    assert summary.messages_read == 0
    assert InboundMessage.select().count() == 0
    assert len(keys_in(config)) == 1


def test_oversize_recorded_not_read(make_config):
    set_language("es")
    clock.set_now(MORNING)
    config = load_config(make_config(mailbox={"max_message_bytes": 2000}))
    open_store(config)
    try:
        patient = enrol(config)
        raw = reply_to(patient, GREEN_ANSWERS, MORNING)
        deliver(config, raw.replace(b"\r\n\r\n", b"\r\n\r\n" + b"x" * 3000 + b"\r\n", 1))

        process_mailbox(config)

        inbound = InboundMessage.get()
        assert inbound.kind == "oversize"
        assert inbound.size > 3000
        assert Report.select().count() == 0
    finally:
        clock.set_now(None)
        database_proxy.close()


def test_header_message_id_read_without_body():
    from mailtriage.pipeline import header_message_id

    assert header_message_id(b"Message-ID: <a@b>\r\nSubject: x\r\n\r\nbody") == "<a@b>"
    assert header_message_id(b"Message-ID:\r\n <a@b> (folded)\r\n\r\nbody") == "<a@b>"
    assert header_message_id(b"Subject: x\r\n\r\nbody") is None



def test_kill_after_store_resumes(make_config):
    set_language("es")
    path = make_config()
    config = load_config(path)
    open_store(config)
    try:
        patient = enrol(config)
        now = datetime.now(timezone.utc)
        key = deliver_to_maildir(config.mailbox.path, reply_to(patient, YELLOW_ANSWERS, now), now)
    finally:
        database_proxy.close()
    command = [sys.executable, "-m", "mailtriage", "--config", str(path), "poll", "--once"]

    killed = subprocess.run(command, capture_output=True, text=True, timeout=60,
                            env={**os.environ, faults.FAULT_ENV: faults.AFTER_STORE})
    restarted = subprocess.run(command, capture_output=True, text=True, timeout=60,
                               env={**os.environ, faults.FAULT_ENV: ""})

    assert killed.returncode == -signal.SIGKILL
    assert restarted.returncode == 0, restarted.stderr
    assert "Ya registrados antes: 1" in restarted.stdout
    open_store(config)
    report = Report.get(Report.patient == patient)
    assert Report.select().count() == 1
    assert report.inbound.handled_on_server
    assert keys_in(config, config.processed_folder) == [key]
    reply, = replies_of(report)
    assert reply.status == "sent"
    sent = mailbox.Maildir(config.smtp.path, create=False)
    assert sum(1 for message in sent if message["Message-ID"] == reply.message_id) == 1


def test_bad_rule_file_stops_daemon_start(make_config, tmp_path):
    rules = tmp_path / "reglas.toml"
    rules.write_text("esto no es TOML [", encoding="utf-8")
    path = make_config(triage={"rules_file": str(rules)})
    open_store(load_config(path))
    database_proxy.close()

    result = subprocess.run([sys.executable, "-m", "mailtriage", "--config", str(path), "run"],
                            capture_output=True, text=True, timeout=60)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"Error: {rules}" in result.stderr


def test_red_reply_exempt_from_hourly_limit(make_config):
    set_language("es")
    clock.set_now(MORNING)
    config = load_config(make_config(smtp={"max_replies_per_sender_per_hour": 1}))
    open_store(config)
    try:
        patient = enrol(config)
        deliver(config, reply_to(patient, GREEN_ANSWERS, MORNING), minutes_after_morning=10)
        deliver(config, reply_to(patient, GREEN_ANSWERS, MORNING), minutes_after_morning=20)
        deliver(config, reply_to(patient, RED_ANSWERS, MORNING), minutes_after_morning=30)

        summary = process_mailbox(config)

        first, second, red = Report.select().order_by(Report.received_at)
        assert red.color == "rojo"
        assert summary.replies_skipped == 1
        assert replies_of(second)[0].status == recording.SKIPPED
        assert replies_of(red)[0].status == "pending"
    finally:
        clock.set_now(None)
        database_proxy.close()


def hold_write_lock(config) -> sqlite3.Connection:
    """Take the database's write lock from a second connection, as a concurrent `poll` would."""
    holder = sqlite3.connect(config.database_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def shorten_busy_wait() -> None:
    # The pipeline waits models.SQLITE_BUSY_TIMEOUT_MS for a lock; the test need not.
    database_proxy.execute_sql("PRAGMA busy_timeout = 50")


def test_locked_database_leaves_message(config):
    patient = enrol(config)
    key = deliver(config, reply_to(patient, GREEN_ANSWERS, MORNING))
    shorten_busy_wait()
    holder = hold_write_lock(config)
    try:
        summary = process_mailbox(config)
    finally:
        holder.rollback()
        holder.close()

    assert summary.failed == 1
    assert InboundMessage.select().count() == 0
    assert keys_in(config) == [key]
    assert sum(process_mailbox(config).reports.values()) == 1


def test_locked_database_while_recording_failure(config, monkeypatch):
    patient = enrol(config)
    key = deliver(config, reply_to(patient, GREEN_ANSWERS, MORNING))
    faults.arm(f"{faults.BEFORE_STORE}={faults.ENOSPC}")
    shorten_busy_wait()
    record_failure = recording.record_failure
    holders = []

    def record_failure_when_locked(*args, **kwargs):
        # Another process takes the lock between the rollback and the
        # failure's own transaction.
        holders.append(hold_write_lock(config))
        return record_failure(*args, **kwargs)

    monkeypatch.setattr(recording, "record_failure", record_failure_when_locked)
    try:
        summary = process_mailbox(config)
    finally:
        for holder in holders:
            holder.rollback()
            holder.close()

    assert len(holders) == 1
    assert summary.failed == 1
    assert summary.quarantined == 0
    inbound = InboundMessage.get()
    assert inbound.outcome == recording.PENDING
    assert inbound.attempts == 1
    assert keys_in(config) == [key]


def test_locked_database_is_one_line_error(config):
    from mailtriage.daemon import run_once
    from mailtriage.errors import DatabaseError

    enrol(config)
    shorten_busy_wait()
    holder = hold_write_lock(config)
    try:
        with pytest.raises(DatabaseError, match="otro proceso") as raised:
            run_once(config)
    finally:
        holder.rollback()
        holder.close()

    assert "\n" not in str(raised.value)


def write_broken_template(directory) -> None:
    (directory / "es").mkdir(parents=True)
    (directory / "es" / "reply_verde.txt").write_text("Hola {{ nombre \n", encoding="utf-8")


def test_broken_template_stops_poll_before_reading(make_config, tmp_path):
    from mailtriage.daemon import run_once
    from mailtriage.mailtemplates import TemplateRenderError

    write_broken_template(tmp_path / "plantillas")
    set_language("es")
    clock.set_now(MORNING)
    config = load_config(make_config(templates={"directory": str(tmp_path / "plantillas")}))
    open_store(config)
    try:
        patient = enrol(config)
        key = deliver(config, reply_to(patient, GREEN_ANSWERS, MORNING))

        with pytest.raises(TemplateRenderError, match="es/reply_verde.txt") as raised:
            run_once(config)

        assert "línea 1" in str(raised.value)
        assert InboundMessage.select().count() == 0
        assert keys_in(config) == [key]
    finally:
        clock.set_now(None)
        database_proxy.close()


def test_missing_template_folder_stops_run(make_config, tmp_path):
    missing = tmp_path / "no-existe"
    path = make_config(templates={"directory": str(missing)})
    open_store(load_config(path))
    database_proxy.close()

    result = subprocess.run([sys.executable, "-m", "mailtriage", "--config", str(path), "run"],
                            capture_output=True, text=True, timeout=60)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert str(missing) in result.stderr


def test_broken_template_stops_run(make_config, tmp_path):
    write_broken_template(tmp_path / "plantillas")
    path = make_config(templates={"directory": str(tmp_path / "plantillas")})
    open_store(load_config(path))
    database_proxy.close()

    result = subprocess.run([sys.executable, "-m", "mailtriage", "--config", str(path), "run"],
                            capture_output=True, text=True, timeout=60)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1
    assert "es/reply_verde.txt" in error_lines[0]


def alerting_config(make_config, **overrides):
    """Load a config whose unit has a staff address, so red reports queue staff alerts."""
    from conftest import DEFAULT_UNIT

    units = [DEFAULT_UNIT | {"staff_email": "personal@umf34.example.mx"}]
    return load_config(make_config(units=units, **overrides))


def staff_alerts() -> list[OutboxMessage]:
    return list(OutboxMessage.select().where(OutboxMessage.kind == "staff_alert")
                .order_by(OutboxMessage.id))


def test_red_day_flood_caps_replies_and_alerts(make_config, caplog):
    set_language("es")
    clock.set_now(MORNING)
    config = alerting_config(make_config, smtp={"max_replies_per_sender_per_hour": 2})
    open_store(config)
    try:
        patient = enrol(config)
        deliver(config, reply_to(patient, RED_ANSWERS, MORNING), minutes_after_morning=1)
        for minute in range(2, 8):
            deliver(config, reply_to(patient, GREEN_ANSWERS, MORNING), minutes_after_morning=minute)

        with caplog.at_level("INFO", logger="mailtriage"):
            summary = process_mailbox(config)

        reports = list(Report.select().order_by(Report.received_at))
        statuses = [replies_of(report)[0].status for report in reports]
        assert [report.color for report in reports] == ["rojo"] * 7
        assert statuses == ["pending", "pending"] + [recording.SKIPPED] * 5
        assert summary.replies_skipped == 5
        assert len(staff_alerts()) == 1
        skipped_ids = {replies_of(report)[0].message_id for report in reports[2:]}
        queued_lines = [record.getMessage() for record in caplog.records
                        if "reply queued" in record.getMessage()]
        assert len(queued_lines) == 2
        assert not any(message_id in line for line in queued_lines for message_id in skipped_ids)
        assert not [record for record in caplog.records
                    if record.levelname == "WARNING" and "skipped" in record.getMessage()]
    finally:
        clock.set_now(None)
        database_proxy.close()


def test_red_reply_exempt_again_after_hour(make_config):
    set_language("es")
    clock.set_now(MORNING)
    config = alerting_config(make_config, smtp={"max_replies_per_sender_per_hour": 1})
    open_store(config)
    try:
        patient = enrol(config)
        deliver(config, reply_to(patient, RED_ANSWERS, MORNING), minutes_after_morning=1)
        process_mailbox(config)
        clock.set_now(MORNING + timedelta(minutes=30))
        deliver(config, reply_to(patient, GREEN_ANSWERS, MORNING), minutes_after_morning=30)
        process_mailbox(config)
        clock.set_now(MORNING + timedelta(minutes=95))
        deliver(config, reply_to(patient, GREEN_ANSWERS, MORNING), minutes_after_morning=95)
        process_mailbox(config)

        first, held, later = Report.select().order_by(Report.received_at)
        assert replies_of(first)[0].status == "pending"
        assert replies_of(held)[0].status == recording.SKIPPED
        assert replies_of(later)[0].status == "pending"
        assert len(staff_alerts()) == 2
    finally:
        clock.set_now(None)
        database_proxy.close()


def test_new_red_rule_alerts_within_hour(make_config):
    from mailtriage.alerts import red_rule_ids

    set_language("es")
    clock.set_now(MORNING)
    config = alerting_config(make_config)
    open_store(config)
    try:
        patient = enrol(config)
        chest_pain_only = {**GREEN_ANSWERS, 11: "si"}
        deliver(config, reply_to(patient, chest_pain_only, MORNING), minutes_after_morning=1)
        deliver(config, reply_to(patient, chest_pain_only, MORNING), minutes_after_morning=2)
        deliver(config, reply_to(patient, RED_ANSWERS, MORNING), minutes_after_morning=3)

        process_mailbox(config)

        first, repeat, worse = Report.select().order_by(Report.received_at)
        assert red_rule_ids(first)
        assert red_rule_ids(worse) - red_rule_ids(first)
        assert [alert.report_id for alert in staff_alerts()] == [first.id, worse.id]
    finally:
        clock.set_now(None)
        database_proxy.close()
