"""The numbers ``mailtriage status`` shows: is the daemon polling, and is anything piling up.

Only counts and times, never patient data, so the output can go to a
monitoring system as is.
"""

from peewee import fn

from mailtriage import clock, heartbeat
from mailtriage.models import InboundMessage, OutboxMessage, Patient, Report

COLORS = ("verde", "amarillo", "rojo")


def collect_status(config) -> dict:
    """Gather the status counts; the models must be bound to the database."""
    today = clock.local_date(clock.now(), config.timezone)
    return {
        "now": clock.now().isoformat(),
        "daemons": _daemons(),
        "inbound": _inbound_counts(),
        "outbox": _outbox_counts(),
        "patients_monitoring": Patient.select().where(Patient.status == "monitoring").count(),
        "reports_today": _reports_on(today),
    }


def _daemons() -> list[dict]:
    now = clock.now()
    return [
        {"host": host, "last_poll_at": at.isoformat(),
         "seconds_since_poll": int((now - at).total_seconds()), "last_poll_summary": summary}
        for host, at, summary in heartbeat.last_polls()
    ]


def _inbound_counts() -> dict:
    """Messages read but not yet handled: waiting for their first try, or failed and retried."""
    waiting = InboundMessage.outcome == "pending"
    return {
        "pending": InboundMessage.select().where(waiting & (InboundMessage.attempts == 0)).count(),
        "failed": InboundMessage.select().where(waiting & (InboundMessage.attempts > 0)).count(),
        "quarantined": InboundMessage.select().where(InboundMessage.outcome == "quarantined").count(),
    }


def _outbox_counts() -> dict:
    """Mail not yet sent: never tried, failing and retried, or given up on."""
    pending = OutboxMessage.status == "pending"
    return {
        "pending": OutboxMessage.select().where(pending & (OutboxMessage.attempts == 0)).count(),
        "retrying": OutboxMessage.select().where(pending & (OutboxMessage.attempts > 0)).count(),
        "failed": OutboxMessage.select().where(OutboxMessage.status == "failed").count(),
    }


def _reports_on(day) -> dict:
    """Reports of one local day by color; each report's day is its unit's local date."""
    rows = (Report
            .select(Report.color, fn.COUNT(Report.id).alias("count"))
            .where(Report.local_date == day)
            .group_by(Report.color))
    counts = {color: 0 for color in COLORS}
    counts.update({row.color: row.count for row in rows})
    return {"date": day.isoformat(), **counts}
