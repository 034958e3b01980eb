"""Filling a fired rule's reason text and collecting the values shown beside it."""

from datetime import date

from mailtriage.contracts import RuleHit
from mailtriage.errors import RulesError
from mailtriage.i18n import current_language, tr
from mailtriage.ruleparse import Rule, run_condition
from mailtriage.spo2bands import profile_name

SPANISH_MONTHS = ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic")
ENGLISH_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_date(day: date) -> str:
    """Write a date as staff read it: "4 dic 2026" in Spanish, "4 Dec 2026" in English."""
    months = ENGLISH_MONTHS if current_language() == "en" else SPANISH_MONTHS
    return f"{day.day} {months[day.month - 1]} {day.year}"


def format_number(value) -> str:
    """Write a number with at most two decimals and no trailing zeros: 38.5, 95, 30.25."""
    if isinstance(value, int):
        return str(value)
    return f"{value:.2f}".rstrip("0").rstrip(".")


def display_value(name: str, value) -> str:
    """Write one input for a reason text."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return tr("sí", "yes") if value else tr("no", "no")
    if isinstance(value, date):
        return format_date(value)
    if isinstance(value, (int, float)):
        return format_number(value)
    if isinstance(value, list):
        return ", ".join(display_value(name, item) for item in value)
    if name == "spo2_profile":
        return profile_name(value)
    return str(value)


def stored_value(value):
    """Return a value as the report stores it in JSON: dates as ISO text, the rest unchanged."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [stored_value(item) for item in value]
    return value


def reason_text(rule: Rule, values: dict, cel_context) -> str:
    """Fill the first reason of the rule whose ``when`` holds, in the active language."""
    for reason in rule.reasons:
        if reason.when is None or run_condition(reason.when, cel_context):
            template = reason.english if current_language() == "en" else reason.spanish
            return template.format_map(_Displayed(values))
    return rule.id


def shown_values(rule: Rule, values: dict) -> dict:
    return {name: stored_value(values.get(name)) for name in rule.show}


def fire(rule: Rule, values: dict, cel_context, source) -> RuleHit | None:
    """Evaluate one rule: its hit with the reason and shown values, or None when it does not hold."""
    try:
        if not run_condition(rule.program, cel_context):
            return None
        reason = reason_text(rule, values, cel_context)
    except ValueError as exc:
        raise RulesError(tr("{f}: regla {r}: no se pudo evaluar: {e}",
                            "{f}: rule {r}: evaluation failed: {e}",
                            f=source, r=rule.id, e=exc)) from None
    return RuleHit(rule.id, rule.color, rule.priority, reason, shown_values(rule, values))


class _Displayed(dict):
    """Looks placeholders up in the inputs and writes them for staff."""

    def __init__(self, values: dict):
        super().__init__()
        self.values = values

    def __missing__(self, name):
        return display_value(name, self.values.get(name))
