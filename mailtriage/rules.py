"""Triage: one report, the patient's profile and day history in; color, hits and reply blocks out.

Triage is a pure function: it reads no clock other than the arrival times
it is given and does no I/O. Every rule of the rule set is evaluated on
today's merged day record and every hit is kept, so "why this color?"
always has an answer. The worst finding decides: rojo, then amarillo
(priority A when any yellow hit has A), else verde. Flags such as D1 are
evaluated last and never change the color.
"""

import re
from datetime import date, datetime

import cel

from mailtriage.contracts import (
    AMARILLO, ROJO, VERDE, PastReport, PatientProfile, RuleHit, TriageResult, Unreadable,
)
from mailtriage.dayrecords import clean_answer
from mailtriage.questions import question_number
from mailtriage.ruleinputs import RED_HIT, TRIAGE_COLOR, build_context, compute_inputs
from mailtriage.ruleparse import RED, YELLOW, Rule
from mailtriage.rulereasons import fire
from mailtriage.ruleset import RuleSet

_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
# Rule sets whose condition variables are cached at once. A daemon loads one.
_MAX_CACHED_RULESETS = 16
_CONDITION_VARIABLES: dict[int, tuple[RuleSet, frozenset[str]]] = {}


def triage(answers: dict, profile: PatientProfile, history: list[PastReport],
           received_at: datetime, ruleset: RuleSet) -> TriageResult:
    """Triage one report. ``answers`` contains readings and Unreadable values, and absent keys are unanswered."""
    context = build_context(answers, profile, history, received_at, ruleset.parameters["SPO2_MIN_VALID"])
    values = {**ruleset.parameters, **compute_inputs(context, ruleset.parameters, ruleset.phrases)}
    # The three stages share one context, because building it converts every
    # input to CEL and costs more than evaluating all the rules. It gets only
    # the names that some condition reads, about half of them. A staged
    # input is added before the stage that may read it.
    read_names = _condition_variables(ruleset)
    cel_context = cel.Context(variables={name: _cel_value(values[name]) for name in read_names
                                         if name in values})

    red_hits = _fired(ruleset, RED, values, cel_context)
    values[RED_HIT] = bool(red_hits)
    cel_context.add_variable(RED_HIT, values[RED_HIT])
    yellow_hits = _fired(ruleset, YELLOW, values, cel_context)
    color, priority = decide_color(red_hits, yellow_hits)

    values[TRIAGE_COLOR] = color
    cel_context.add_variable(TRIAGE_COLOR, color)
    flag_hits = _fired(ruleset, None, values, cel_context)
    hits = [hit for hit, _ in red_hits + yellow_hits + flag_hits]
    fired_rules = [rule for _, rule in red_hits + yellow_hits + flag_hits]

    blocks, unreadable_keys = reply_blocks(values, answers, fired_rules, ruleset.parameters)
    return TriageResult(
        color=color, priority=priority, hits=hits,
        flags=[hit.rule_id for hit, _ in flag_hits],
        blocks=blocks, unreadable_keys=unreadable_keys, ruleset_version=ruleset.version,
    )


def _condition_variables(ruleset: RuleSet) -> frozenset[str]:
    """Return the variable names that the rule set's conditions and reason conditions read."""
    cached = _CONDITION_VARIABLES.get(id(ruleset))
    if cached is not None and cached[0] is ruleset:
        return cached[1]

    names = set()
    for rule in ruleset.rules:
        programs = [rule.program] + [reason.when for reason in rule.reasons if reason.when is not None]
        for program in programs:
            names.update(program.variables())
    if len(_CONDITION_VARIABLES) >= _MAX_CACHED_RULESETS:
        _CONDITION_VARIABLES.clear()
    # The entry keeps the rule set alive, so its id cannot be reused while cached.
    _CONDITION_VARIABLES[id(ruleset)] = (ruleset, frozenset(names))
    return _CONDITION_VARIABLES[id(ruleset)][1]


def decide_color(red_hits: list, yellow_hits: list) -> tuple[str, str | None]:
    """Decide the color by the worst finding. A yellow report has priority A when any yellow hit has A."""
    if red_hits:
        return ROJO, None
    if yellow_hits:
        priorities = {hit.priority for hit, _ in yellow_hits}
        return AMARILLO, "A" if "A" in priorities else "N"
    return VERDE, None


def _fired(ruleset: RuleSet, color: str | None, values: dict, cel_context) -> list[tuple[RuleHit, Rule]]:
    """Evaluate the rules of one color (None: the flags) and return a hit for each that fired."""
    hits = []
    for rule in ruleset.rules:
        if rule.color != color or (color is None and not rule.flag):
            continue
        hit = fire(rule, values, cel_context, ruleset.source)
        if hit is None:
            continue
        hits.append((hit, rule))
    return hits


def reply_blocks(values: dict, answers: dict, fired_rules: list[Rule],
                 parameters: dict) -> tuple[list[str], list[str]]:
    """Return the patient text blocks the reply adds and the questions "could not read" names."""
    named = set(values["unreadable"]) | set(values["missing_alarm_items"])
    unreadable_keys = sorted(named, key=_question_order)

    blocks = []
    if unreadable_keys:
        blocks.append("could_not_read")
    if values["nothing_read"]:
        blocks.append("nothing_read")
    if values["spo2_unreadable"] and _written_spo2_below_valid(answers, parameters["SPO2_MIN_VALID"]):
        blocks.append("very_low_spo2")
    if values["has_oximeter"] and "spo2" in values["unanswered"]:
        blocks.append("measure_spo2")
    for rule in fired_rules:
        blocks.extend(block for block in rule.blocks if block not in blocks)
    return blocks, unreadable_keys


def _written_spo2_below_valid(answers: dict, spo2_min: float) -> bool:
    """Return whether this reply's own item 15 contains a number below the valid range, read or not."""
    value = answers.get("spo2")
    if value is None:
        return False
    cleaned = clean_answer("spo2", value, spo2_min)
    raw = cleaned.raw if isinstance(cleaned, Unreadable) else str(cleaned)
    number = _NUMBER.search(raw)
    return number is not None and float(number.group().replace(",", ".")) < spo2_min


def _question_order(key: str) -> tuple[int, str]:
    try:
        return question_number(key), key
    except KeyError:
        return 10_000, key


def _cel_value(value):
    if isinstance(value, date):
        return value.isoformat()
    return value
