"""Non-reporting rules: what to do about a patient who has not answered.

The scheduler calls ``evaluate_nonreporting`` for every patient under
monitoring. It is a pure function of the patient's reports, calls,
reminders and profile at one moment; the rules themselves (N0-N4) are in
the rule file. A case stays open until a physician enters the discharge:
silence and unanswered calls never close it.
"""

from dataclasses import dataclass, field
from datetime import datetime

import cel

from mailtriage import clock
from mailtriage.contracts import AMARILLO, PatientProfile, RuleHit
from mailtriage.dayrecords import worst_color
from mailtriage.ruleinputs import NONREPORTING_INPUTS, profile_inputs
from mailtriage.rulereasons import fire
from mailtriage.ruleset import RuleSet

SECONDS_PER_HOUR = 3600


@dataclass(frozen=True)
class ReportStamp:
    """A report as these rules see it: when it arrived and the color it got."""

    received_at: datetime
    color: str


@dataclass(frozen=True)
class CallRecord:
    """A staff call, or a record confirming arrival at Urgencias."""

    made_at: datetime
    answered: bool
    er_confirmed: bool


@dataclass
class NonReportingResult:
    """The fired N rules, the call-list color and priority they give, and the actions to take."""

    rules: list[str] = field(default_factory=list)
    color: str | None = None
    priority: str | None = None
    actions: list[str] = field(default_factory=list)
    hits: list[RuleHit] = field(default_factory=list)


def evaluate_nonreporting(now: datetime, profile: PatientProfile, reports: list[ReportStamp],
                          calls: list[CallRecord], reminders: list[datetime],
                          enrolled_at: datetime, ruleset: RuleSet) -> NonReportingResult:
    """Evaluate the non-reporting rules for one patient at ``now``.

    ``enrolled_at`` is when the first questionnaire was sent; it stands for
    the last report and the last contact of a patient who never reported.
    The profile's illness day is the one of ``now``'s calendar day.
    """
    values = {**ruleset.parameters,
              **nonreporting_inputs(now, profile, reports, calls, reminders, enrolled_at, ruleset.parameters)}
    cel_context = cel.Context(variables=values)

    result = NonReportingResult()
    for rule in ruleset.nonreporting_rules:
        hit = fire(rule, values, cel_context, ruleset.source)
        if hit is None:
            continue
        result.rules.append(rule.id)
        result.hits.append(hit)
        result.actions.extend(action for action in rule.actions if action not in result.actions)

    priorities = {hit.priority for hit in result.hits if hit.color == AMARILLO}
    if priorities:
        result.color = AMARILLO
        result.priority = "A" if "A" in priorities else "N"
    return result


def nonreporting_inputs(now: datetime, profile: PatientProfile, reports: list[ReportStamp],
                        calls: list[CallRecord], reminders: list[datetime],
                        enrolled_at: datetime, parameters: dict) -> dict:
    """Compute every input of NONREPORTING_INPUTS."""
    def hours_ago(moment: datetime) -> float:
        return (now - moment).total_seconds() / SECONDS_PER_HOUR

    reports = [report for report in reports if report.received_at <= now]
    calls = [call for call in calls if call.made_at <= now]
    last_report = max((report.received_at for report in reports), default=None)
    last_contact = latest_contact(last_report, calls, enrolled_at)
    attempts = sorted(call.made_at for call in calls
                      if not call.answered and not call.er_confirmed and call.made_at > last_contact)
    past_reminders = [hours_ago(sent) for sent in reminders if sent <= now]
    unconfirmed = unconfirmed_red_reports(reports, calls)

    values = {
        "silence_hours": hours_ago(last_report or enrolled_at),
        "contact_hours": hours_ago(last_contact),
        "last_reminder_hours": min(past_reminders, default=None),
        "never_reported": last_report is None,
        "last_color": last_day_color(reports, profile.unit_timezone),
        "unanswered_attempts": len(attempts),
        "attempt_span_hours": (attempts[-1] - attempts[0]).total_seconds() / SECONDS_PER_HOUR if attempts else None,
        "unconfirmed_red_hours": max((hours_ago(report.received_at) for report in unconfirmed), default=None),
    }
    profile_values = profile_inputs(profile, parameters)
    values.update({name: profile_values[name] for name in NONREPORTING_INPUTS if name in profile_values})
    return values


def latest_contact(last_report: datetime | None, calls: list[CallRecord], enrolled_at: datetime) -> datetime:
    """Return the last report, answered call or arrival confirmation, or enrolment when the patient never reported."""
    contacts = [call.made_at for call in calls if call.answered or call.er_confirmed]
    contacts.append(last_report if last_report is not None else enrolled_at)
    return max(contacts)


def unconfirmed_red_reports(reports: list[ReportStamp], calls: list[CallRecord]) -> list[ReportStamp]:
    """ROJO reports with no arrival confirmation entered after them; later reports change nothing."""
    confirmations = [call.made_at for call in calls if call.er_confirmed]
    return [report for report in reports if report.color == "rojo"
            and not any(confirmed > report.received_at for confirmed in confirmations)]


def last_day_color(reports: list[ReportStamp], timezone_name: str) -> str | None:
    """Return the color of the last day record: the most severe color of the last calendar day with reports."""
    if not reports:
        return None
    days = {report: clock.local_date(report.received_at, timezone_name) for report in reports}
    last_day = max(days.values())
    return worst_color(report.color for report, day in days.items() if day == last_day)
