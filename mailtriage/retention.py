"""Retention: purge the health data of patients discharged longer ago than policy allows.

For a patient discharged more than ``[retention] days`` ago this empties
the raw messages, the answers and unreadable text of reports, the reasons and
values behind rule hits and call-list entries, and the bodies of emails no
longer waiting to be sent. Each report keeps its date, color, priority, rule ids and
flags, so statistics and "how many reds in May" still work. Raw messages
from unknown senders (no patient matched) go after the same number of days
from receipt. The patient record itself (name, contact details), staff call
notes and the audit trail stay: they belong to the unit's clinical record,
which has its own retention rules.
"""

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from peewee import Value

from mailtriage import audit, clock
from mailtriage.models import CallListEntry, InboundMessage, OutboxMessage, Patient, Report

log = logging.getLogger("mailtriage.retention")

AUDIT_ACTION = "retention_purge"

# The stored text of an empty JSON list, compared as is: peewee would read a
# Python [] as an empty IN list.
EMPTY_JSON_LIST = Value("[]", converter=False)


@dataclass
class PurgeSummary:
    """Counts of the rows a purge emptied (or, in a dry run, would empty)."""

    cutoff: datetime
    patients: int = 0
    raw_messages: int = 0
    reports: int = 0
    call_list_entries: int = 0
    outbox_messages: int = 0

    @property
    def total(self) -> int:
        return self.raw_messages + self.reports + self.call_list_entries + self.outbox_messages


def purge_expired(config, dry_run: bool = False, days: int | None = None) -> PurgeSummary:
    """Purge what retention allows no longer; ``days`` overrides ``config.retention_days``.

    The models must be bound to the database (``open_database``). The purge
    runs in one transaction and records an audit event with its counts; a
    dry run changes nothing.
    """
    cutoff = clock.now() - timedelta(days=days if days is not None else config.retention_days)
    expired = Patient.select(Patient.id).where(
        (Patient.status == "discharged") & (Patient.discharged_at < cutoff))
    summary = PurgeSummary(cutoff=cutoff, patients=expired.count())

    database = Patient._meta.database
    with database.atomic() as transaction:
        summary.raw_messages = _purge_raw_messages(expired, cutoff)
        summary.reports = _purge_reports(expired)
        summary.call_list_entries = _purge_call_list_reasons(expired)
        summary.outbox_messages = _purge_outbox_bodies(expired)
        # A dry run makes the same changes and rolls them back, so its counts
        # are exactly what a real run would change.
        if dry_run:
            transaction.rollback()
        elif summary.total:
            audit.record("retention", AUDIT_ACTION, **_counts(summary))

    if not dry_run:
        log.info("retention purge before %s: %s", cutoff.date().isoformat(), _counts(summary))
    return summary


def _counts(summary: PurgeSummary) -> dict:
    counts = asdict(summary)
    counts["cutoff"] = summary.cutoff.isoformat()
    return counts


def _purge_raw_messages(expired, cutoff: datetime) -> int:
    unknown_sender = (
        InboundMessage.patient.is_null()
        & (InboundMessage.received_at < cutoff)
        # A message still waiting for its pass is not yet handled.
        & (InboundMessage.outcome != "pending"))
    return (InboundMessage
            .update(raw=None)
            .where(InboundMessage.raw.is_null(False)
                   & (InboundMessage.patient.in_(expired) | unknown_sender))
            .execute())


def _purge_reports(expired) -> int:
    purged = 0
    for report in Report.select().where(Report.patient.in_(expired)):
        hits = [_bare_hit(hit) for hit in report.hits]
        if (report.answers, report.unanswered, report.unreadable, report.hits) == ({}, [], {}, hits):
            continue
        (Report
         .update(answers={}, unanswered=[], unreadable={}, hits=hits)
         .where(Report.id == report.id)
         .execute())
        purged += 1
    return purged


def _bare_hit(hit: dict) -> dict:
    """Keep which rule fired with what color; drop the reason text and values."""
    return {key: hit[key] for key in ("rule_id", "color", "priority") if key in hit}


def _purge_call_list_reasons(expired) -> int:
    return (CallListEntry
            .update(reasons=[])
            .where(CallListEntry.patient.in_(expired) & (CallListEntry.reasons != EMPTY_JSON_LIST))
            .execute())


def _purge_outbox_bodies(expired) -> int:
    # Every status but pending: sent, failed, and skipped (never meant to go out).
    finished = OutboxMessage.status != "pending"
    has_body = (OutboxMessage.body_text != "") | OutboxMessage.body_html.is_null(False)
    return (OutboxMessage
            .update(body_text="", body_html=None)
            .where(OutboxMessage.patient.in_(expired) & finished & has_body)
            .execute())
