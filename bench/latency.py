"""Reply latency: from the APPEND of a patient's reply to the answer reaching the SMTP server.

The daemon runs as `mailtriage run` in its own process. For each sample one
red reply is appended to its mailbox, and the sample ends when the SMTP
server's spool holds a message whose In-Reply-To is that reply's
Message-ID. The spool file's name starts with the server's own clock
(``time.time_ns`` in tests/servers.py), so the end time is when the server
accepted the DATA, not when this process noticed the file.
"""

import os
import random
import statistics
import subprocess
import sys
import time
from email.parser import BytesHeaderParser
from pathlib import Path

from benchsite import RED_ANSWERS, questionnaire_rows, reply_bytes

# How long one sample may take before the run fails: far above the worst
# polling case (poll_seconds plus a pass).
SAMPLE_TIMEOUT_SECONDS = 30
# The daemon needs about a second to start, connect and run its first pass.
START_WAIT_SECONDS = 30
# The daemon's poll_seconds: with IDLE the poll is only a fallback.
POLL_SECONDS = 1
# How often the spool directory is listed while a sample waits.
SPOOL_CHECK_SECONDS = 0.002


def measure(site, dovecot, user, patients, config_name: str, max_pause: float) -> dict:
    """Run the daemon on ``user``'s mailbox and time one reply per patient; return milliseconds.

    Before each APPEND the run pauses a random 0 to ``max_pause`` seconds.
    """
    # INFO makes the daemon log the line that shows it started.
    config_path = site.write_config(user, name=config_name, general={"log_level": "INFO"},
                                    schedule={"poll_seconds": POLL_SECONDS})
    rows = questionnaire_rows(patients)
    log_path = site.root / f"{config_name}.log"
    daemon = subprocess.Popen(
        [sys.executable, "-m", "mailtriage", "--config", str(config_path), "run"],
        stdout=subprocess.DEVNULL, stderr=log_path.open("ab"), start_new_session=True)
    try:
        _wait_until_started(log_path)
        samples = _take_samples(site.smtp.spool, dovecot, user, patients, rows, max_pause)
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)

    samples_ms = sorted(seconds * 1000 for seconds in samples)
    return {"p50_ms": statistics.median(samples_ms),
            "p95_ms": samples_ms[max(0, round(0.95 * len(samples_ms)) - 1)],
            "samples": len(samples_ms)}


def _wait_until_started(log_path: Path) -> None:
    deadline = time.monotonic() + START_WAIT_SECONDS
    while time.monotonic() < deadline:
        if b"daemon started" in log_path.read_bytes():
            # The first poll and the watcher's connection follow at once.
            time.sleep(1)
            return
        time.sleep(0.05)
    log_tail = log_path.read_text(errors="replace")[-2000:]
    raise RuntimeError(f"the daemon did not start within {START_WAIT_SECONDS} s; its log ends: {log_tail}")


def _take_samples(spool: Path, dovecot, user, patients, rows, max_pause: float) -> list[float]:
    """Append one reply at a time and return the seconds until each answer arrived."""
    chooser = random.Random(len(patients))
    samples = []
    with dovecot.client(user) as imap:
        for patient, row in zip(patients, rows):
            # Without a pause each APPEND would follow a pass at once, so
            # every polling sample would wait a whole poll interval.
            time.sleep(chooser.uniform(0, max_pause))
            raw = reply_bytes(patient, row, RED_ANSWERS)
            message_id = BytesHeaderParser().parsebytes(raw)["Message-ID"]
            known = set(os.listdir(spool))
            appended_ns = time.time_ns()
            imap.append("INBOX", raw)
            samples.append((_wait_for_answer(spool, known, message_id) - appended_ns) / 1e9)
    return samples


def _wait_for_answer(spool: Path, known: set[str], message_id: str) -> int:
    """Return the server's arrival time, in ns, of the answer to ``message_id``."""
    deadline = time.monotonic() + SAMPLE_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        for name in sorted(set(os.listdir(spool)) - known):
            if not name.endswith(".eml"):
                continue
            known.add(name)
            headers = BytesHeaderParser().parsebytes((spool / name).read_bytes())
            if headers["In-Reply-To"] == message_id:
                return int(name.split("-", 1)[0])
        time.sleep(SPOOL_CHECK_SECONDS)
    raise RuntimeError(f"no answer to {message_id} within {SAMPLE_TIMEOUT_SECONDS} s")
