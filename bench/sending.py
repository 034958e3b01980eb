"""Sending the day's questionnaires: issue one per monitored patient, then send the outbox."""

import time
from datetime import timedelta

from mailtriage import clock
from mailtriage.outbox import send_pending
from mailtriage.questionnaires import issue_due_questionnaires


def measure(config, patients: int) -> dict:
    """Move the clock to the next day, issue and send its questionnaires; return seconds."""
    # Every patient was enrolled today, so the next day's questionnaire is due
    # for all of them (the bench config sets questionnaire_time to 00:00).
    clock.set_now(clock.now() + timedelta(days=1))
    try:
        started = time.perf_counter()
        issued = issue_due_questionnaires(config)
        issued_at = time.perf_counter()
        summary = send_pending(config)
        finished = time.perf_counter()
    finally:
        clock.set_now(None)

    if issued != patients or summary.sent != patients:
        raise RuntimeError(f"expected {patients} questionnaires issued and sent, "
                           f"got {issued} issued and {summary.sent} sent ({summary.error})")
    return {"issue_s": issued_at - started, "send_s": finished - issued_at,
            "total_s": finished - started}
