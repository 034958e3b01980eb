"""A trial run of every rule at load, so a condition that fails on real inputs stops start-up.

CEL reports some mistakes only when a condition runs: comparing a null,
mixing types, a condition that does not yield true or false. Each rule runs
here on a blank reply and on a full one with history, and a failure names
the rule. Before that, every comparison is probed with values of the
declared input types, because ``==`` between values of different types
yields false instead of an error.
"""

from datetime import datetime, timedelta, timezone

import cel

from mailtriage.contracts import PastReport, PatientProfile, Unreadable
from mailtriage.i18n import tr
from mailtriage.ruleinputs import RED_HIT, TRIAGE_COLOR, build_context, compute_inputs
from mailtriage.ruleparse import run_condition
from mailtriage.rulereasons import reason_text
from mailtriage.ruletypes import INPUT_TYPES, mismatched_comparison, probe_values

_NOW = datetime(2026, 12, 4, 18, 0, tzinfo=timezone.utc)

_FULL_REPLY = {
    "fever": True, "temperature_c": 38.6, "fever_unresponsive": True, "cough": True,
    "dyspnea_level": 1, "chest_pain": False, "cyanosis": False, "confusion": False,
    "other_alarm": False, "spo2": 93, "overall_trend": "worse",
    "wants_call": Unreadable("tal vez", "not_yes_no"), "comments": "me falta el aire",
}


def _trial_reports() -> list[tuple[dict, PatientProfile, list[PastReport]]]:
    adult = PatientProfile(age_years=35, age_days=None, illness_day=3, has_oximeter=True)
    baby = PatientProfile(age_years=0, age_days=120, illness_day=7, unit_altitude_m=2240,
                          baseline_spo2=90, comorbidities=("asthma",))
    history = [
        PastReport(_NOW - timedelta(days=days), {**_FULL_REPLY, "fever": days != 2}, color)
        for days, color in ((1, "rojo"), (2, "verde"), (3, "amarillo"))
    ]
    return [({}, adult, []), (_FULL_REPLY, baby, history)]


def _nonreporting_trials() -> list[dict]:
    profile = {"age_years": 35, "pregnancy_profile": False, "high_risk": False, "child": False,
               "illness_day": 3, "in_window": False}
    silent = {"silence_hours": 30.0, "contact_hours": 30.0, "last_reminder_hours": None,
              "never_reported": True, "last_color": None, "unanswered_attempts": 0,
              "attempt_span_hours": None, "unconfirmed_red_hours": None}
    called = {"silence_hours": 5.0, "contact_hours": 5.0, "last_reminder_hours": 2.0,
              "never_reported": False, "last_color": "rojo", "unanswered_attempts": 2,
              "attempt_span_hours": 1.5, "unconfirmed_red_hours": 5.0}
    return [{**profile, **silent}, {**profile, **called}]


def try_every_rule(ruleset, problems) -> None:
    """Run each rule's condition and reason on sample inputs; raise a RulesError naming the first that fails."""
    parameters = ruleset.parameters
    _probe_types(ruleset.rules + ruleset.nonreporting_rules, parameters, problems)

    for answers, profile, history in _trial_reports():
        context = build_context(answers, profile, history, _NOW, parameters["SPO2_MIN_VALID"])
        values = {**parameters, **compute_inputs(context, parameters, ruleset.phrases),
                  RED_HIT: False, TRIAGE_COLOR: "verde"}
        _try_rules(ruleset.rules, values, problems)

    for inputs in _nonreporting_trials():
        _try_rules(ruleset.nonreporting_rules, {**parameters, **inputs}, problems)


def _try_rules(rules, values: dict, problems) -> None:
    variables = {name: value.isoformat() if hasattr(value, "isoformat") else value
                 for name, value in values.items()}
    cel_context = cel.Context(variables=variables)
    for rule in rules:
        try:
            run_condition(rule.program, cel_context)
            for reason in rule.reasons:
                if reason.when is not None:
                    run_condition(reason.when, cel_context)
            reason_text(rule, values, cel_context)
        except ValueError as exc:
            raise problems.rule(rule.id, tr("la condición falla con datos de prueba: {e}",
                                            "the condition fails on sample inputs: {e}", e=exc)) from None


def _probe_types(rules, parameters: dict, problems) -> None:
    """Reject the first rule whose condition or reason condition compares values of different types."""
    context = cel.Context(variables=probe_values(parameters, INPUT_TYPES))
    for rule in rules:
        conditions = [rule.program] + [reason.when for reason in rule.reasons if reason.when is not None]
        for program in conditions:
            problem = mismatched_comparison(program.source, context)
            if problem:
                raise problems.rule(rule.id, problem)
