"""Exactly once across crashes: the daemon is killed at each fault point and restarted.

Each test runs the real daemon as its own process against the test Dovecot
and SMTP servers. MAILTRIAGE_FAULT kills it with SIGKILL at a named line
(see mailtriage/faults.py); a second run without the fault must finish the
work. Afterwards every reply is reported once, answered with exactly one
reply (a resend after a crash repeats the same Message-ID, which the check
allows), and sits in the processed folder.

CI puts three replies in the inbox per test. For a longer run by hand, set
the number of replies and a file that collects the counts, one JSON object
per test:

    MAILTRIAGE_FAULT_MESSAGES=30 MAILTRIAGE_FAULT_REPORT=/tmp/faults.jsonl \
        .venv/bin/python -m pytest -q tests/test_faults_crash.py
"""

import dataclasses
import json
import os
import signal
import subprocess
import sys

import pytest

from faultmail import (
    PROCESSED, RunDaemon, build_world, check_exactly_once, daemon_environment, replies_by_message,
    run_daemon_once, wait_until,
)
from mailtriage import faults

pytestmark = [pytest.mark.faults, pytest.mark.servers]

KILLED = -signal.SIGKILL

FAULT_MESSAGES = int(os.environ.get("MAILTRIAGE_FAULT_MESSAGES", "3"))
FAULT_REPORT = os.environ.get("MAILTRIAGE_FAULT_REPORT")


@pytest.fixture
def world(make_config, dovecot, smtp_server):
    """Enrol patients, send their welcomes, then put FAULT_MESSAGES replies in the inbox."""
    return build_world(make_config, dovecot, smtp_server, messages=FAULT_MESSAGES)


def check_and_record(scenario: str, world, dovecot, smtp_server) -> None:
    """Check exactly-once delivery, and append the counts to FAULT_REPORT when it is set."""
    counted = check_exactly_once(world, dovecot, smtp_server)
    if FAULT_REPORT:
        with open(FAULT_REPORT, "a", encoding="utf-8") as report:
            report.write(json.dumps({"scenario": scenario, **dataclasses.asdict(counted)}) + "\n")


# --------------------------------------------------------------------------- fault points

def test_fault_point_parses_hit_and_action():
    armed = faults.parse_fault("after_store:3=enospc")

    assert armed.point == faults.AFTER_STORE
    assert armed.fire_at_hit == 3
    assert armed.action == faults.ENOSPC


@pytest.mark.parametrize("spec", ["after_stor", "after_store:0", "after_store:x", "after_store=boom"])
def test_fault_point_rejects_bad_spec(spec):
    with pytest.raises(ValueError, match="MAILTRIAGE_FAULT"):
        faults.parse_fault(spec)


def test_fault_point_enospc_from_nth_hit():
    faults.arm("before_store:2=enospc")
    try:
        faults.fault_point(faults.BEFORE_STORE)
        faults.fault_point(faults.AFTER_STORE)
        for _ in range(2):
            with pytest.raises(OSError) as raised:
                faults.fault_point(faults.BEFORE_STORE)
            assert raised.value.errno == 28
    finally:
        faults.arm(None)


def test_fault_point_kills_on_nth_hit():
    code = ("from mailtriage import faults\n"
            "faults.fault_point('before_mark')\n"
            "print('first', flush=True)\n"
            "faults.fault_point('before_mark')\n"
            "print('second', flush=True)\n")
    result = subprocess.run([sys.executable, "-c", code], env=daemon_environment("before_mark:2"),
                            capture_output=True, text=True, timeout=30)

    assert result.returncode == KILLED
    assert result.stdout == "first\n"


def test_fault_point_unset_is_noop():
    faults.arm(None)

    for name in faults.POINTS:
        faults.fault_point(name)


# --------------------------------------------------------------------------- crashes

# Each fault with the hit it fires on: the first message, or one in the
# middle, so that some messages are done and one is caught half-way.
# before_mark has one hit per pass, because the pass moves the recorded
# messages to the processed folder in batches.
CRASHES = [
    "after_fetch", "after_fetch:2",
    "before_store", "before_store:3",
    "after_store", "after_store:2",
    "before_mark",
    "before_send", "before_send:2",
    "after_send", "after_send:3",
]
if FAULT_MESSAGES > 3:
    # A longer run also crashes half-way through the messages.
    CRASHES += [f"{point}:{FAULT_MESSAGES // 2 + 1}"
                for point in ("after_fetch", "after_store", "before_send", "after_send")]


@pytest.mark.parametrize("fault", CRASHES)
def test_crash_then_restart_exactly_once(world, dovecot, smtp_server, fault):
    crashed = run_daemon_once(world.config_path, fault=fault)
    assert crashed.returncode == KILLED, f"fault {fault} never fired: {crashed.stderr[-2000:]}"

    restarted = run_daemon_once(world.config_path)
    assert restarted.returncode == 0, restarted.stderr[-2000:]
    again = run_daemon_once(world.config_path)
    assert again.returncode == 0, again.stderr[-2000:]

    check_and_record(fault, world, dovecot, smtp_server)


def test_crash_twice_in_a_row(world, dovecot, smtp_server):
    for fault in ("after_store:2", "after_send"):
        crashed = run_daemon_once(world.config_path, fault=fault)
        assert crashed.returncode == KILLED, crashed.stderr[-2000:]

    restarted = run_daemon_once(world.config_path)
    assert restarted.returncode == 0, restarted.stderr[-2000:]

    check_and_record("after_store:2 then after_send", world, dovecot, smtp_server)


def test_run_daemon_killed_then_restarted(world, dovecot, smtp_server, tmp_path):
    crashed = RunDaemon(world.config_path, tmp_path / "crashed.log", fault="after_store:2")
    try:
        exit_code = crashed.wait()
    finally:
        if crashed.process.poll() is None:
            crashed.process.kill()
    assert exit_code == KILLED, crashed.log()[-2000:]

    daemon = RunDaemon(world.config_path, tmp_path / "daemon.log")
    try:
        wait_until(lambda: dovecot.count(world.user, PROCESSED) == len(world.message_ids),
                   "every message in the processed folder")
        wait_until(lambda: set(world.message_ids) <= set(replies_by_message(smtp_server)),
                   "a reply to every message")
    finally:
        exit_code = daemon.stop()
    assert exit_code == 0, daemon.log()[-2000:]
    assert "daemon stopped" in daemon.log()

    check_and_record("run: after_store:2", world, dovecot, smtp_server)


# --------------------------------------------------------------------------- UIDVALIDITY

def recreate_folder(dovecot, user, folder: str) -> int:
    """Delete and re-create ``folder`` with the same messages; return the new UIDVALIDITY."""
    messages = dovecot.messages(user, folder)
    with dovecot.client(user) as imap:
        old = imap.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"]
        imap.delete_folder(folder)
        imap.create_folder(folder)
        if messages:
            imap.multiappend(folder, messages)
        new = imap.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"]
    assert new != old
    return new


def test_uidvalidity_change_after_crash(make_config, dovecot, smtp_server):
    """A crash leaves stored messages in the folder; the folder is then re-created."""
    world = build_world(make_config, dovecot, smtp_server, folder="Respuestas",
                        messages=FAULT_MESSAGES)
    crashed = run_daemon_once(world.config_path, fault="after_store:2")
    assert crashed.returncode == KILLED, crashed.stderr[-2000:]
    # Two messages are stored; at least those two and the third are still in the folder.
    assert dovecot.count(world.user, "Respuestas") >= 2

    recreate_folder(dovecot, world.user, "Respuestas")
    restarted = run_daemon_once(world.config_path, verbose=True)

    assert restarted.returncode == 0, restarted.stderr[-2000:]
    assert "UIDVALIDITY changed" in restarted.stderr
    check_and_record("after_store:2, then UIDVALIDITY change", world, dovecot, smtp_server)


def test_uidvalidity_change_with_handled_messages(make_config, dovecot, smtp_server):
    """Handled messages put back into a re-created folder are filed again, not re-reported."""
    world = build_world(make_config, dovecot, smtp_server, folder="Respuestas",
                        messages=FAULT_MESSAGES)
    first = run_daemon_once(world.config_path)
    assert first.returncode == 0, first.stderr[-2000:]

    handled = dovecot.messages(world.user, PROCESSED)
    with dovecot.client(world.user) as imap:
        imap.delete_folder(PROCESSED)
    dovecot.append_many(world.user, handled, folder="Respuestas")
    recreate_folder(dovecot, world.user, "Respuestas")
    again = run_daemon_once(world.config_path)

    assert again.returncode == 0, again.stderr[-2000:]
    assert "UIDVALIDITY changed" in again.stderr
    check_and_record("UIDVALIDITY change after a clean pass", world, dovecot, smtp_server)
