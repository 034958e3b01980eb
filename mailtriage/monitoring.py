"""The non-reporting check: reminders and calls for patients who stopped replying.

The daemon runs ``run_nonreporting_check`` every ``nonreport_check_minutes``.
For each patient under monitoring it gathers the facts the non-reporting
rules read (reports, calls, reminders, profile), lets the pure rule
evaluation decide, and acts: N0 queues a reminder, N1, N2 and N4 put the
patient on the call list, N3 lists an escalation with the alternative
contact. Every action is guarded by what is already stored (the last
reminder, an open call-list entry), so a second run finds nothing new to do.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from mailtriage import clock
from mailtriage.calls import open_rule_entry, sync_report_entries
from mailtriage.models import Call, Issuance, Patient, Reminder, Report, database_proxy

log = logging.getLogger("mailtriage.monitoring")

SEND_REMINDER = "send_reminder"
# Actions that put the patient on the call list.
LISTING_ACTIONS = ("staff_call", "escalate_to_physician", "call_alt_contact")
# The rule that checks arrival at Urgencias. Each of its entries belongs to one red report.
RED_CONFIRM_RULE = "N4"


@dataclass
class CheckSummary:
    """Counts of what one run of the check did, for the daemon's log."""

    patients: int = 0
    reminders: int = 0
    entries_opened: dict = field(default_factory=dict)
    failures: int = 0

    def count_entry(self, rule: str) -> None:
        self.entries_opened[rule] = self.entries_opened.get(rule, 0) + 1

    def as_log(self) -> str:
        opened = ", ".join(f"{rule}={count}" for rule, count in sorted(self.entries_opened.items()))
        return (f"patients={self.patients} reminders={self.reminders} "
                f"entries_opened=[{opened}] failures={self.failures}")


def first_questionnaire_time(patient: Patient) -> datetime:
    """Return when the first questionnaire went out, the start of silence for a patient who never reported."""
    first = (Issuance.select().where(Issuance.patient == patient)
             .order_by(Issuance.created_at, Issuance.id).first())
    if first is None:
        return patient.enrolled_at
    return first.created_at


def unconfirmed_red_reports(patient: Patient, now: datetime, hours: float) -> list[Report]:
    """Return the red reports at least ``hours`` old with no arrival confirmation logged after them."""
    last_confirmation = (Call.select(Call.made_at)
                         .where(Call.patient == patient, Call.er_confirmed == True)  # noqa: E712
                         .order_by(Call.made_at.desc()).first())
    reports = Report.select().where(Report.patient == patient, Report.color == "rojo",
                                    Report.received_at <= now - timedelta(hours=hours))
    if last_confirmation is not None:
        reports = reports.where(Report.received_at > last_confirmation.made_at)
    return list(reports.order_by(Report.received_at))


def gather_facts(patient: Patient, now: datetime) -> dict:
    """Return the reports, calls, reminders and start of monitoring that the rules read."""
    from mailtriage.nonreporting import CallRecord, ReportStamp

    enrolled_at = first_questionnaire_time(patient)
    reports = (Report.select(Report.received_at, Report.color)
               .where(Report.patient == patient, Report.received_at >= patient.enrolled_at))
    calls = Call.select(Call.made_at, Call.answered, Call.er_confirmed).where(Call.patient == patient)
    reminders = Reminder.select(Reminder.sent_at).where(Reminder.patient == patient)
    return {
        "reports": [ReportStamp(report.received_at, report.color) for report in reports],
        "calls": [CallRecord(call.made_at, call.answered, call.er_confirmed) for call in calls],
        "reminders": [reminder.sent_at for reminder in reminders],
        "enrolled_at": enrolled_at,
    }


def evaluate_patient(patient: Patient, unit, ruleset, now: datetime):
    """Run the non-reporting rules for one patient at ``now`` and return their result."""
    from mailtriage.nonreporting import evaluate_nonreporting
    from mailtriage.triage_inputs import profile_for

    today = clock.local_date(now, unit.timezone if unit else patient.unit.timezone)
    profile = profile_for(patient, unit, today)
    return evaluate_nonreporting(now=now, profile=profile, ruleset=ruleset,
                                 **gather_facts(patient, now))


def act_on_result(patient: Patient, unit, config, ruleset, result, summary: CheckSummary) -> None:
    """Queue the reminder and open the call-list entries the fired rules ask for."""
    from mailtriage.questionnaires import issue_reminder

    actions_by_rule = {rule.id: rule.actions for rule in ruleset.nonreporting_rules}
    for hit in result.hits:
        actions = actions_by_rule.get(hit.rule_id, ())
        if SEND_REMINDER in actions:
            issue_reminder(patient, unit, config)
            summary.reminders += 1
        if not any(action in LISTING_ACTIONS for action in actions):
            continue

        if hit.rule_id == RED_CONFIRM_RULE:
            hours = ruleset.parameters["RED_CONFIRM_HOURS"]
            for report in unconfirmed_red_reports(patient, clock.now(), hours):
                if open_rule_entry(patient, hit.rule_id, "A", [hit.reason], report=report):
                    summary.count_entry(hit.rule_id)
        elif open_rule_entry(patient, hit.rule_id, hit.priority or "N", [hit.reason]):
            summary.count_entry(hit.rule_id)


def check_patient(patient: Patient, config, ruleset, summary: CheckSummary) -> None:
    unit = config.unit(patient.unit.code)
    result = evaluate_patient(patient, unit, ruleset, clock.now())
    if not result.hits:
        return
    with database_proxy.atomic():
        act_on_result(patient, unit, config, ruleset, result, summary)
    log.info("patient %s: non-reporting rules %s", patient.id, ",".join(result.rules))


def run_nonreporting_check(config) -> CheckSummary:
    """Evaluate the non-reporting rules for every patient under monitoring and act on them.

    A failure with one patient is logged and counted, and the check goes on
    with the next patient, so one bad record cannot silence the others.
    """
    from mailtriage.ruleset import ruleset_for

    ruleset = ruleset_for(config)
    summary = CheckSummary()
    sync_report_entries()
    for patient in Patient.select().where(Patient.status == "monitoring").order_by(Patient.id):
        summary.patients += 1
        try:
            check_patient(patient, config, ruleset, summary)
        except Exception:  # noqa: BLE001 - the per-patient edge of the scheduled job
            summary.failures += 1
            log.exception("patient %s: non-reporting check failed", patient.id)

    log.info("non-reporting check: %s", summary.as_log())
    return summary
