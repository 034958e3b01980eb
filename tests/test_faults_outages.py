"""Outages: the mail servers stop, refuse, the database is locked or the disk is full.

The real test servers are stopped and started again. In each case the
daemon must log one clear line, lose nothing, and finish the work on its
own once the fault is gone, with every reply reported and answered once.
"""

import resource
import sqlite3
import subprocess
import sys
import time

import pytest

from faultmail import (
    PROCESSED, RunDaemon, build_world, check_exactly_once, close_test_store, daemon_environment,
    deliver_replies, open_test_store, replies_received, run_daemon_once, wait_until,
)
from mailtriage.models import OutboxMessage, Report
from servers import free_port

pytestmark = [pytest.mark.faults, pytest.mark.servers]

# models.SQLITE_BUSY_TIMEOUT_MS is 10 s: the lock is held a little longer.
LOCK_HOLD_SECONDS = 11

# The outbox retries after outbox_retry_seconds (1 s in these tests), doubled each time.
RETRY_WAIT_SECONDS = 1.2


@pytest.fixture
def world(make_config, dovecot, smtp_server):
    return build_world(make_config, dovecot, smtp_server)


def all_filed(world, dovecot) -> bool:
    return dovecot.count(world.user, PROCESSED) == len(world.message_ids)


def all_replied(world, smtp_server) -> bool:
    return all(replies_received(smtp_server, world.patients).values())


def outbox_rows(world, kind="reply") -> list:
    open_test_store(world.config_path)
    try:
        return list(OutboxMessage.select().where(OutboxMessage.kind == kind).order_by(OutboxMessage.id))
    finally:
        close_test_store()


def report_count(world) -> int:
    open_test_store(world.config_path)
    try:
        return Report.select().count()
    finally:
        close_test_store()


def assert_one_line_error(stderr: str, *fragments: str) -> None:
    """The failure is one log or error line naming what failed, without a traceback."""
    assert "Traceback" not in stderr, stderr[-3000:]
    matching = [line for line in stderr.splitlines() if all(part in line for part in fragments)]
    assert matching, stderr[-3000:]


# --------------------------------------------------------------------------- IMAP

def test_imap_down_poll_fails_then_recovers(world, dovecot, smtp_server):
    dovecot.stop()
    try:
        down = run_daemon_once(world.config_path)
    finally:
        dovecot.start()

    assert down.returncode == 1
    assert_one_line_error(down.stderr, "Servidor IMAP", f"127.0.0.1:{dovecot.imap_port}")
    assert report_count(world) == 0

    back = run_daemon_once(world.config_path)
    assert back.returncode == 0, back.stderr[-3000:]
    check_exactly_once(world, dovecot, smtp_server)


def test_imap_closed_port_named(make_config, dovecot):
    user = dovecot.new_user()
    config_path = make_config(mailbox_url=f"imap://{user.name}@127.0.0.1:{free_port()}/INBOX",
                              mailbox_password=user.password)

    result = run_daemon_once(config_path)

    assert result.returncode == 1
    assert_one_line_error(result.stderr, "Servidor IMAP", "conectar")


def test_imap_down_run_daemon_recovers(world, dovecot, smtp_server, tmp_path):
    dovecot.stop()
    daemon = RunDaemon(world.config_path, tmp_path / "daemon.log")
    try:
        daemon.wait_for_log("job poll failed")
        dovecot.start()
        wait_until(lambda: all_filed(world, dovecot), "every message filed after IMAP came back")
        wait_until(lambda: all_replied(world, smtp_server), "every reply sent")
    finally:
        dovecot.start()
        exit_code = daemon.stop()

    assert exit_code == 0, daemon.log()[-3000:]
    assert_one_line_error(daemon.log(), "job poll failed", "Servidor IMAP")
    check_exactly_once(world, dovecot, smtp_server)


# --------------------------------------------------------------------------- SMTP

def test_smtp_down_replies_wait(world, dovecot, smtp_server):
    smtp_server.stop()
    try:
        down = run_daemon_once(world.config_path)
    finally:
        smtp_server.start()

    assert down.returncode == 0, down.stderr[-3000:]
    assert_one_line_error(down.stderr, "outbox", "Servidor SMTP", str(smtp_server.port))
    assert report_count(world) == 3
    assert all_filed(world, dovecot)
    for row in outbox_rows(world):
        assert row.status == "pending"

    time.sleep(RETRY_WAIT_SECONDS)
    back = run_daemon_once(world.config_path)
    assert back.returncode == 0, back.stderr[-3000:]
    check_exactly_once(world, dovecot, smtp_server)


def test_smtp_down_run_daemon_recovers(world, dovecot, smtp_server, tmp_path):
    smtp_server.stop()
    daemon = RunDaemon(world.config_path, tmp_path / "daemon.log")
    try:
        wait_until(lambda: all_filed(world, dovecot), "every message filed while SMTP is down")
        daemon.wait_for_log("deferred")
        smtp_server.start()
        wait_until(lambda: all_replied(world, smtp_server), "every reply sent after SMTP came back")
    finally:
        smtp_server.start()
        exit_code = daemon.stop()

    assert exit_code == 0, daemon.log()[-3000:]
    assert_one_line_error(daemon.log(), "outbox", "Servidor SMTP")
    check_exactly_once(world, dovecot, smtp_server)


def test_smtp_4xx_retried_later(world, dovecot, smtp_server):
    refused = world.patients[0].email
    smtp_server.reject(refused, "451 4.3.0 Mailbox busy, try again later")

    first = run_daemon_once(world.config_path)

    assert first.returncode == 0, first.stderr[-3000:]
    assert_one_line_error(first.stderr, "deferred")
    by_address = {row.to_address: row for row in outbox_rows(world)}
    assert by_address[refused].status == "pending"
    assert "451" in by_address[refused].last_error
    assert replies_received(smtp_server, world.patients[:1]) == {refused.lower(): []}

    smtp_server.accept_all()
    time.sleep(RETRY_WAIT_SECONDS)
    second = run_daemon_once(world.config_path)
    assert second.returncode == 0, second.stderr[-3000:]
    check_exactly_once(world, dovecot, smtp_server)


def test_smtp_5xx_failed_not_retried(world, dovecot, smtp_server):
    refused = world.patients[0].email
    smtp_server.reject(refused, "550 5.1.1 Mailbox unavailable")

    first = run_daemon_once(world.config_path)

    assert first.returncode == 0, first.stderr[-3000:]
    assert_one_line_error(first.stderr, "ERROR", "failed after 1 attempt")
    smtp_server.accept_all()
    time.sleep(RETRY_WAIT_SECONDS)
    second = run_daemon_once(world.config_path)
    assert second.returncode == 0, second.stderr[-3000:]

    by_address = {row.to_address: row for row in outbox_rows(world)}
    assert by_address[refused].status == "failed"
    assert by_address[refused].attempts == 1
    assert "550" in by_address[refused].last_error
    received = replies_received(smtp_server, world.patients)
    assert received[refused.lower()] == []
    for patient in world.patients[1:]:
        assert len(set(received[patient.email.lower()])) == 1
    assert report_count(world) == 3
    assert all_filed(world, dovecot)


# --------------------------------------------------------------------------- database

def lock_database(database_path, seconds: float) -> subprocess.Popen:
    """Hold SQLite's write lock from another process for ``seconds``; return once it is held."""
    locker = subprocess.Popen(
        [sys.executable, "-c",
         "import sqlite3, sys, time\n"
         "connection = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
         "connection.execute('BEGIN IMMEDIATE')\n"
         "print('locked', flush=True)\n"
         "time.sleep(float(sys.argv[2]))\n"
         "connection.execute('ROLLBACK')\n",
         str(database_path), str(seconds)],
        stdout=subprocess.PIPE, text=True)
    assert locker.stdout.readline() == "locked\n"
    return locker


def test_database_locked_run_daemon_recovers(make_config, dovecot, smtp_server, tmp_path):
    """A write lock held beyond the busy timeout while the daemon runs fails a pass, not the daemon."""
    world = build_world(make_config, dovecot, smtp_server, deliver=False)
    daemon = RunDaemon(world.config_path, tmp_path / "daemon.log")
    locker = None
    try:
        daemon.wait_for_log("daemon started")
        locker = lock_database(tmp_path / "mailtriage.db", LOCK_HOLD_SECONDS)
        deliver_replies(world, dovecot)
        locker.wait(timeout=LOCK_HOLD_SECONDS + 10)
        wait_until(lambda: all_filed(world, dovecot), "every message filed after the lock")
        wait_until(lambda: all_replied(world, smtp_server), "every reply sent after the lock")
    finally:
        if locker is not None and locker.poll() is None:
            locker.kill()
        exit_code = daemon.stop()

    assert exit_code == 0, daemon.log()[-3000:]
    assert "database is locked" in daemon.log(), daemon.log()[-3000:]
    check_exactly_once(world, dovecot, smtp_server)


def test_database_locked_at_start_one_line(world, tmp_path):
    locker = lock_database(tmp_path / "mailtriage.db", LOCK_HOLD_SECONDS)
    try:
        result = run_daemon_once(world.config_path)
    finally:
        locker.kill()

    assert result.returncode == 1
    assert_one_line_error(result.stderr, "bloqueada")


# --------------------------------------------------------------------------- disk full

def test_disk_full_simulated_then_recovers(world, dovecot, smtp_server):
    full = run_daemon_once(world.config_path, fault="before_store=enospc")

    assert full.returncode == 0, full.stderr[-3000:]
    assert_one_line_error(full.stderr, "ERROR", "No space left on device")
    assert report_count(world) == 0
    assert dovecot.count(world.user, world.folder) == len(world.message_ids)

    back = run_daemon_once(world.config_path)
    assert back.returncode == 0, back.stderr[-3000:]
    check_exactly_once(world, dovecot, smtp_server)


def limit_file_size(max_bytes: int):
    """Return a preexec_fn that caps the size of any file the child writes (RLIMIT_FSIZE).

    Python ignores SIGXFSZ, so a write past the cap fails with EFBIG, which
    SQLite reports as "disk I/O error". A full file system gives "database or
    disk is full" instead. Both are failed writes the daemon must survive.
    """
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))
    return apply


def run_with_file_cap(world, tmp_path, max_bytes: int) -> subprocess.CompletedProcess:
    """Run one pass with every file write capped at ``max_bytes``, after emptying the SQLite log."""
    # Fold the write-ahead log into the database, so the daemon's first
    # write must grow the empty log file past the cap.
    with sqlite3.connect(tmp_path / "mailtriage.db") as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    command = [sys.executable, "-m", "mailtriage", "--config", str(world.config_path),
               "poll", "--once"]
    return subprocess.run(command, env=daemon_environment(), capture_output=True, text=True,
                          timeout=60, preexec_fn=limit_file_size(max_bytes))


def test_disk_full_real_loses_nothing(world, dovecot, smtp_server, tmp_path):
    full = run_with_file_cap(world, tmp_path, 1024)

    assert full.returncode != 0
    assert "disk I/O error" in full.stderr or "disk is full" in full.stderr, full.stderr[-3000:]
    assert report_count(world) == 0
    assert dovecot.count(world.user, world.folder) == len(world.message_ids)

    back = run_daemon_once(world.config_path)
    assert back.returncode == 0, back.stderr[-3000:]
    check_exactly_once(world, dovecot, smtp_server)


def test_disk_full_real_one_line(world, tmp_path):
    full = run_with_file_cap(world, tmp_path, 1024)

    assert full.returncode == 1
    assert_one_line_error(full.stderr, "Error:", "disk I/O error")
