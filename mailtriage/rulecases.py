"""Running a table of cases against a rule set: triage cases and non-reporting cases.

A triage case describes the moment a report arrives: the profile, today's
answers and the earlier reports, timed by ``days_ago``/``hours_ago`` or by
``received_at`` in the unit's time zone. A non-reporting case describes one
run of the scheduler. The ``date_header`` and ``questionnaire_days_ago`` of
a case are ignored on purpose: a reply is a report of the day it arrived.
"""

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

from mailtriage.caseshape import nonreporting_case_problem, triage_case_problem
from mailtriage.contracts import PastReport, PatientProfile, Unreadable
from mailtriage.errors import MailtriageError
from mailtriage.i18n import tr
from mailtriage.nonreporting import CallRecord, ReportStamp, evaluate_nonreporting
from mailtriage.rules import triage
from mailtriage.ruleset import RuleSet

# The unit's local time at which a case's current report arrives when the
# case gives only relative times. It is late enough that a report 6 h
# earlier still falls on the same calendar day.
CASE_LOCAL_TIME = time(18, 0)
CASE_DATE = date(2026, 12, 4)
DEFAULT_CASE_TIMEZONE = "America/Mexico_City"
UNREADABLE_MARK = "unreadable"
# The clinical case tables in mailtriage/data/cases, which `rules check` runs against an edited rule file.
PACKAGED_CASE_TABLES = ("triage_cases.json", "nonreporting_cases.json")


class CaseError(MailtriageError):
    """A case table or one of its cases is malformed."""


@dataclass
class CaseFailure:
    """One case whose outcome differs from its expectation, or that is malformed and could not run."""

    case_id: str
    differences: list[str]
    malformed: bool = False


def load_cases(path: Path) -> list[dict]:
    """Read a case table; raise CaseError naming the file when it is not a non-empty JSON list of cases."""
    try:
        cases = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise CaseError(tr("{f}: no se pudo leer ({why})", "{f}: cannot read it ({why})",
                           f=path, why=exc.strerror or exc)) from exc
    except UnicodeDecodeError as exc:
        raise CaseError(tr("{f}: no es texto UTF-8 (byte {b} en la posición {n}); guárdelo como UTF-8",
                           "{f}: not UTF-8 text (byte {b} at offset {n}); save it as UTF-8",
                           f=path, b=hex(exc.object[exc.start]), n=exc.start)) from exc
    except json.JSONDecodeError as exc:
        raise CaseError(tr("{f}: no es JSON válido en la línea {l}, columna {c}; revise comas, comillas y "
                           "corchetes (JSON: {why})",
                           "{f}: not valid JSON at line {l}, column {c}; check the commas, quotes and brackets "
                           "(JSON: {why})", f=path, l=exc.lineno, c=exc.colno, why=exc.msg)) from exc

    if not isinstance(cases, list) or not all(isinstance(case, dict) and "id" in case for case in cases):
        raise CaseError(tr("{f}: debe ser una lista de casos con «id»", "{f}: must be a list of cases with 'id'",
                           f=path))
    if not cases:
        raise CaseError(tr("{f}: no contiene casos; agregue al menos uno", "{f}: contains no cases; add at least one",
                           f=path))
    return cases


def packaged_case_paths() -> list[Path]:
    """Return the clinical case tables shipped with the package, triage first."""
    folder = resources.files("mailtriage") / "data" / "cases"
    return [Path(str(folder / name)) for name in PACKAGED_CASE_TABLES]


def run_packaged_cases(ruleset: RuleSet) -> tuple[int, list[CaseFailure]]:
    """Run the shipped case tables against a rule set; return the number of cases and the failures."""
    cases = [case for path in packaged_case_paths() for case in load_cases(path)]
    return len(cases), run_cases(cases, ruleset)


def is_nonreporting_case(case: dict) -> bool:
    return "last_report_hours_ago" in case


def run_cases(cases: list[dict], ruleset: RuleSet) -> list[CaseFailure]:
    """Run every case of a table, of either kind, and return the failures and the malformed cases."""
    failures = []
    for case in cases:
        nonreporting = is_nonreporting_case(case)
        problem = nonreporting_case_problem(case) if nonreporting else triage_case_problem(case)
        if problem is None:
            problem, differences = _run_case(case, nonreporting, ruleset)
        if problem is not None:
            failures.append(CaseFailure(str(case["id"]), [problem], malformed=True))
        elif differences:
            failures.append(CaseFailure(str(case["id"]), differences))
    return failures


def _run_case(case: dict, nonreporting: bool, ruleset: RuleSet) -> tuple[str | None, list[str]]:
    """Run one well-shaped case; return (problem, differences), with a problem for a value it cannot use."""
    try:
        differences = (run_nonreporting_case(case, ruleset) if nonreporting
                       else run_triage_case(case, ruleset))
    except KeyError as exc:
        return tr("falta {k}", "{k} is missing", k=exc.args[0]), []
    except ValueError as exc:
        return str(exc), []
    except TypeError as exc:
        return tr("valor de tipo no válido ({why})", "value of an invalid type ({why})", why=exc), []
    return None, differences


def case_profile(profile: dict, onset_days_ago: int | None = None) -> PatientProfile:
    return PatientProfile(
        age_years=profile["age"],
        age_days=profile.get("age_days"),
        pregnant=bool(profile.get("pregnant")),
        postpartum_days=profile.get("postpartum_days"),
        comorbidities=tuple(profile.get("comorbidities") or ()),
        illness_day=(onset_days_ago if onset_days_ago is not None else profile["onset_days_ago"]) + 1,
        unit_altitude_m=profile.get("unit_altitude_m"),
        baseline_spo2=profile.get("baseline_spo2"),
        has_oximeter=bool(profile.get("has_oximeter")),
        unit_timezone=profile.get("unit_time_zone") or DEFAULT_CASE_TIMEZONE,
    )


def case_answers(answers: dict) -> dict:
    """Turn the table's "unreadable" mark into an Unreadable answer."""
    return {key: Unreadable(UNREADABLE_MARK, UNREADABLE_MARK) if value == UNREADABLE_MARK else value
            for key, value in answers.items()}


def case_now(timezone_name: str) -> datetime:
    return datetime.combine(CASE_DATE, CASE_LOCAL_TIME, tzinfo=ZoneInfo(timezone_name))


def parse_time(text: str) -> datetime:
    """Read a case's ``received_at``; raise ValueError, in the staff's language, unless it is ISO 8601 with an offset."""
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ValueError(tr("received_at {t!r} no es una fecha y hora ISO 8601 con zona (ej. 2026-12-04T18:00-06:00)",
                            "received_at {t!r} is not an ISO 8601 date and time with offset "
                            "(e.g. 2026-12-04T18:00-06:00)", t=text))
    return moment


def case_history(case: dict, now: datetime) -> list[PastReport]:
    """Build the earlier reports; relative times also fix each report's calendar day."""
    history = []
    for entry in case.get("history", []):
        answers = case_answers(entry.get("answers", {}))
        if "received_at" in entry:
            history.append(PastReport(parse_time(entry["received_at"]), answers, entry["color"]))
            continue

        days_ago = entry["days_ago"]
        hours_ago = entry.get("hours_ago", days_ago * 24 if days_ago >= 1 else None)
        if hours_ago is None or not (hours_ago > 0 and 24 * (days_ago - 1) < hours_ago < 24 * (days_ago + 1)):
            raise ValueError(tr("hours_ago {h} no cae en days_ago {d}", "hours_ago {h} does not fit days_ago {d}",
                                h=hours_ago, d=days_ago))
        history.append(PastReport(now - timedelta(hours=hours_ago), answers, entry["color"],
                                  local_date=now.date() - timedelta(days=days_ago)))
    return history


def run_triage_case(case: dict, ruleset: RuleSet) -> list[str]:
    """Triage one case and list how the outcome differs from ``expected``."""
    profile = case_profile(case["profile"])
    now = parse_time(case["received_at"]) if "received_at" in case else case_now(profile.unit_timezone)
    result = triage(case_answers(case["answers"]), profile, case_history(case, now), now, ruleset)
    fired = sorted(hit.rule_id for hit in result.hits)
    return compare(case["expected"], {"color": result.color, "priority": result.priority, "rules": fired})


def run_nonreporting_case(case: dict, ruleset: RuleSet) -> list[str]:
    """Evaluate one scheduler run and list how the outcome differs from ``expected``."""
    profile = case_profile(case["profile"])
    now = case_now(profile.unit_timezone)

    def ago(hours: float) -> datetime:
        return now - timedelta(hours=hours)

    reports = case.get("reports")
    if reports is None and case["last_report_hours_ago"] is not None:
        reports = [{"hours_ago": case["last_report_hours_ago"], "color": case["last_color"]}]
    stamps = [ReportStamp(ago(report["hours_ago"]), report["color"]) for report in reports or []]
    calls = [CallRecord(ago(call["hours_ago"]), call["answered"], call["er_confirmed"]) for call in case["calls"]]
    reminders = [ago(hours) for hours in case.get("reminders_hours_ago") or []]
    enrolled_hours = case.get("first_questionnaire_hours_ago")
    if enrolled_hours is None:
        enrolled_hours = max([report["hours_ago"] for report in reports or []], default=0)

    result = evaluate_nonreporting(now, profile, stamps, calls, reminders, ago(enrolled_hours), ruleset)
    outcome = {"rules": sorted(result.rules), "color": result.color, "priority": result.priority,
               "actions": sorted(result.actions)}
    return compare(case["expected"], outcome)


def compare(expected: dict, outcome: dict) -> list[str]:
    """List each expected field that differs, as "field: expected X, got Y"; lists compare as sets."""
    differences = []
    for field_name, expected_value in expected.items():
        got = outcome.get(field_name)
        if isinstance(expected_value, list):
            expected_value = sorted(expected_value)
        if expected_value != got:
            differences.append(tr("{k}: se esperaba {w}, se obtuvo {g}", "{k}: expected {w}, got {g}",
                                  k=field_name, w=expected_value, g=got))
    return differences
