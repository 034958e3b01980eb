"""Checking the shape of one case of a case table before it runs.

A misspelled key in a case would otherwise be ignored (an answer the
patient never gave) or end in a bare KeyError, so every key is checked
against the keys a case may have, and a missing one is named.
"""

from mailtriage.contracts import AMARILLO, ROJO, VERDE
from mailtriage.i18n import tr
from mailtriage.questions import DEFAULT_QUESTIONS

ANSWER_KEYS = frozenset(question.key for question in DEFAULT_QUESTIONS)
PROFILE_KEYS = frozenset({
    "age", "age_days", "pregnant", "postpartum_days", "comorbidities", "onset_days_ago", "unit_altitude_m",
    "baseline_spo2", "has_oximeter", "unit_time_zone",
})
REQUIRED_PROFILE_KEYS = ("age", "onset_days_ago")
# Whole numbers of the profile; the others may also be null.
PROFILE_INTEGERS = ("age", "onset_days_ago")
PROFILE_OPTIONAL_INTEGERS = ("age_days", "postpartum_days", "unit_altitude_m", "baseline_spo2")

# "why", "date_header" and "questionnaire_days_ago" document a case and do not change its run.
TRIAGE_KEYS = frozenset({"id", "profile", "answers", "history", "expected", "received_at", "why", "date_header",
                         "questionnaire_days_ago"})
REQUIRED_TRIAGE_KEYS = ("profile", "answers", "expected")
HISTORY_KEYS = frozenset({"answers", "color", "days_ago", "hours_ago", "received_at"})
TRIAGE_EXPECTED_KEYS = frozenset({"color", "priority", "rules"})

NONREPORTING_KEYS = frozenset({"id", "profile", "expected", "calls", "last_report_hours_ago", "last_color",
                               "reports", "reminders_hours_ago", "first_questionnaire_hours_ago", "why"})
REQUIRED_NONREPORTING_KEYS = ("profile", "calls", "expected")
CALL_KEYS = ("hours_ago", "answered", "er_confirmed")
REPORT_KEYS = ("hours_ago", "color")
NONREPORTING_EXPECTED_KEYS = frozenset({"color", "priority", "rules", "actions"})
# A non-reporting case may expect no color (null), and a case may leave the color out.
EXPECTED_COLORS = (VERDE, AMARILLO, ROJO, None)


def triage_case_problem(case: dict) -> str | None:
    """Return the first problem with the shape of a triage case, or None."""
    problem = (_keys_problem(case, TRIAGE_KEYS, REQUIRED_TRIAGE_KEYS, None)
               or _profile_problem(case["profile"])
               or _answers_problem(case["answers"], "answers")
               or _expected_problem(case["expected"], TRIAGE_EXPECTED_KEYS))
    if problem:
        return problem

    history = case.get("history", [])
    if not isinstance(history, list):
        return tr("history debe ser una lista", "history must be a list")
    for number, entry in enumerate(history, start=1):
        problem = _history_problem(entry, f"history[{number}]")
        if problem:
            return problem
    return None


def nonreporting_case_problem(case: dict) -> str | None:
    """Return the first problem with the shape of a non-reporting case, or None."""
    problem = (_keys_problem(case, NONREPORTING_KEYS, REQUIRED_NONREPORTING_KEYS, None)
               or _profile_problem(case["profile"])
               or _expected_problem(case["expected"], NONREPORTING_EXPECTED_KEYS))
    if problem:
        return problem
    if case.get("reports") is None and case["last_report_hours_ago"] is not None and "last_color" not in case:
        return tr("falta last_color", "last_color is missing")

    for table, required in (("calls", CALL_KEYS), ("reports", REPORT_KEYS)):
        entries = case.get(table) or []
        if not isinstance(entries, list):
            return tr("{t} debe ser una lista", "{t} must be a list", t=table)
        for number, entry in enumerate(entries, start=1):
            problem = _keys_problem(entry, frozenset(required), required, f"{table}[{number}]")
            if problem:
                return problem
    return None


def _keys_problem(entry, allowed: frozenset, required, place: str | None) -> str | None:
    """Name the first missing or unknown key of one object of a case; ``place`` is None for the case itself."""
    if not isinstance(entry, dict):
        return tr("{p} debe ser un objeto", "{p} must be an object", p=place or "el caso")
    for key in required:
        if key not in entry:
            return _at(tr("falta {k}", "{k} is missing", k=key), place)
    unknown = sorted(set(entry) - allowed)
    if unknown:
        return _at(tr("clave desconocida {k}", "unknown key {k}", k=unknown[0]), place)
    return None


def _profile_problem(profile) -> str | None:
    # A misspelled required key reads better as the missing key than as the unknown one.
    for key in REQUIRED_PROFILE_KEYS:
        if isinstance(profile, dict) and key not in profile:
            return tr("falta {k}", "{k} is missing", k=key)
    problem = _keys_problem(profile, PROFILE_KEYS, (), "profile")
    if problem:
        return problem

    for key in PROFILE_INTEGERS + PROFILE_OPTIONAL_INTEGERS:
        value = profile.get(key)
        if value is None and key in PROFILE_OPTIONAL_INTEGERS:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            return tr("{k} debe ser un número entero, no {v!r}", "{k} must be a whole number, not {v!r}",
                      k=key, v=value)
    return None


def _answers_problem(answers, place: str) -> str | None:
    if not isinstance(answers, dict):
        return tr("{p} debe ser un objeto", "{p} must be an object", p=place)
    unknown = sorted(set(answers) - ANSWER_KEYS)
    if unknown:
        return tr("respuesta desconocida {k} en {p}", "unknown answer {k} in {p}", k=unknown[0], p=place)
    return None


def _expected_problem(expected, allowed: frozenset) -> str | None:
    problem = _keys_problem(expected, allowed, (), "expected")
    if problem:
        return problem
    if expected.get("color") not in EXPECTED_COLORS:
        return tr("color esperado no válido {c!r}; use: {ok}", "invalid expected color {c!r}; use: {ok}",
                  c=expected.get("color"), ok=", ".join(color for color in EXPECTED_COLORS if color))
    return None


def _history_problem(entry, place: str) -> str | None:
    problem = _keys_problem(entry, HISTORY_KEYS, ("color",), place)
    if problem:
        return problem
    if "days_ago" not in entry and "received_at" not in entry:
        return _at(tr("falta days_ago o received_at", "days_ago or received_at is missing"), place)
    return _answers_problem(entry.get("answers", {}), f"{place}.answers")


def _at(problem: str, place: str | None) -> str:
    return tr("{p} en {w}", "{p} in {w}", p=problem, w=place) if place else problem
