"""Typed probes: catching a comparison of two values of different types before a rule goes live.

CEL's ``==`` and ``!=`` yield false and true for values of different types
instead of failing, so ``chest_pain == 1`` loads and runs but never fires.
The ``cel`` package (0.10) has no type checker with declared variable types,
so each comparison is probed instead. Every input gets a sample value of its
declared type, and each side of ``==``, ``!=``, ``<``, ``<=``, ``>`` and
``>=`` is evaluated alone as ``type(side)``. A yes/no value compared with a
number or a text, or a number compared with a text, is rejected.
"""

import re

import cel

from mailtriage.i18n import tr
from mailtriage.ruleinputs import INPUTS, NONREPORTING_INPUTS, RED_HIT, TRIAGE_COLOR, YES_NO_KEYS

YES_NO = "yes_no"
NUMBER = "number"
TEXT = "text"
LIST = "list"

# The declared type of every input. Dates reach CEL as ISO text.
INPUT_TYPES = {
    **{key: YES_NO for key in YES_NO_KEYS},
    **{name: YES_NO for name in (
        "temp_unreadable", "spo2_unreadable", "nothing_read", "pregnancy_profile", "high_risk", "child",
        "in_window", "onset_estimated", "has_oximeter", "fever_today", "fever_returned", "prev_exists",
        "never_reported", RED_HIT)},
    **{name: NUMBER for name in (
        "dyspnea_level", "temp", "spo2_value", "age_years", "age_days", "age_months", "illness_day",
        "fever_streak", "fever_free_days", "prev_dyspnea", "spo2_red_max", "spo2_yellow_min",
        "spo2_yellow_max", "spo2_ref", "spo2_drop", "silence_hours", "contact_hours", "last_reminder_hours",
        "unanswered_attempts", "attempt_span_hours", "unconfirmed_red_hours")},
    **{name: TEXT for name in (
        "dyspnea_letter", "overall_trend", "temperature_raw", "spo2_raw", "missing_alarm_questions",
        "fever_status", "prev_fever_status", "prev_dyspnea_letter", "prev_dyspnea_date", "spo2_profile",
        "last_record_color", "last_record_date", "last_color", TRIAGE_COLOR)},
    **{name: LIST for name in (
        "unreadable", "unanswered", "missing_alarm_items", "fever_streak_temperatures", "comment_phrases")},
}

_PROBE_VALUES = {YES_NO: True, NUMBER: 1, TEXT: "x", LIST: []}

# CEL type names, as type() hands them to Python, grouped by declared type.
_CEL_TYPES = {"bool": YES_NO, "int": NUMBER, "uint": NUMBER, "double": NUMBER, "string": TEXT}
_TYPE_NAMES = {YES_NO: ("sí/no", "yes/no"), NUMBER: ("número", "number"), TEXT: ("texto", "text")}
_FIXES = {
    YES_NO: ("compare un dato sí/no con true o false", "compare a yes/no input with true or false"),
    NUMBER: ("compare un número con un número sin comillas", "compare a number with an unquoted number"),
    TEXT: ("compare un texto con un texto entre comillas", "compare a text with a quoted text"),
}

_TOKEN = re.compile(r"""
    (?P<string>[rRbB]{0,2}(?:'''.*?'''|\"\"\".*?\"\"\"|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"))
  | (?P<name>[A-Za-z_]\w*)
  | (?P<number>\d[\w.]*)
  | (?P<operator>==|!=|<=|>=|&&|\|\||[<>!?:,.+\-*/%()\[\]{}])
  | (?P<space>\s+)
""", re.VERBOSE | re.DOTALL)
_COMPARISONS = {"==", "!=", "<", "<=", ">", ">="}
# Tokens that end an operand of a comparison: CEL binds these less tightly.
_OPERAND_ENDS = _COMPARISONS | {"in", "&&", "||", "?", ":", ","}
_OPENING = {"(", "[", "{"}
_CLOSING = {")", "]", "}"}


def probe_values(parameters: dict, names) -> dict:
    """Return a sample value of its declared type for each input name, and the parameters as they are."""
    values = {name: _PROBE_VALUES[INPUT_TYPES[name]] for name in names if name in INPUT_TYPES}
    return {**values, **parameters}


def tokens(source: str) -> list[tuple[str, int, int]]:
    """Split a condition into (token, start, end) with spaces left out; an unknown character ends the list."""
    found = []
    position = 0
    while position < len(source):
        match = _TOKEN.match(source, position)
        if match is None:
            break
        if match.lastgroup != "space":
            found.append((match.group(), match.start(), match.end()))
        position = match.end()
    return found


def comparisons(source: str) -> list[tuple[str, str, str]]:
    """Return (left side, operator, right side) for each comparison of a condition, as source text."""
    parts = tokens(source)
    found = []
    for index, (token, _, _) in enumerate(parts):
        if token not in _COMPARISONS:
            continue
        first = _operand_edge(parts, index, -1)
        last = _operand_edge(parts, index, +1)
        if first == index or last == index:
            continue
        left = source[parts[first][1]:parts[index - 1][2]]
        right = source[parts[index + 1][1]:parts[last][2]]
        found.append((left, token, right))
    return found


def _operand_edge(parts: list, index: int, step: int) -> int:
    """Return the index of the outermost token of the operand beside the operator at ``index``."""
    depth = 0
    position = index + step
    inner, outer = (_OPENING, _CLOSING) if step > 0 else (_CLOSING, _OPENING)
    while 0 <= position < len(parts):
        token = parts[position][0]
        if token in inner:
            depth += 1
        elif token in outer:
            if depth == 0:
                break
            depth -= 1
        elif depth == 0 and token in _OPERAND_ENDS:
            break
        position += step
    return position - step


def mismatched_comparison(source: str, context) -> str | None:
    """Return the problem with the first comparison of two different types in a condition, or None.

    A side that cannot be evaluated alone, such as one that reads a macro's
    loop variable, is skipped: the trial run of the whole condition covers it.
    """
    for left, operator, right in comparisons(source):
        left_type, right_type = _side_type(left, context), _side_type(right, context)
        if left_type is None or right_type is None or left_type == right_type:
            continue
        fix_type = left_type if left.strip() in INPUT_TYPES or right.strip() not in INPUT_TYPES else right_type
        spanish_fix, english_fix = _FIXES[fix_type]
        return tr("la condición compara un dato de tipo {ta} con uno de tipo {tb} en «{a} {o} {b}»; valores de "
                  "tipos distintos nunca coinciden, así que la regla no funcionaría: {fix}",
                  "the condition compares a {ta} value with a {tb} value in '{a} {o} {b}'; values of different "
                  "types never match, so the rule would not work: {fix}",
                  a=left.strip(), b=right.strip(), o=operator, ta=tr(*_TYPE_NAMES[left_type]),
                  tb=tr(*_TYPE_NAMES[right_type]), fix=tr(spanish_fix, english_fix))
    return None


def _side_type(side: str, context) -> str | None:
    try:
        type_name = cel.compile(f"type({side})").execute(context)
    except (RuntimeError, TypeError, ValueError, LookupError, ArithmeticError):
        return None
    return _CEL_TYPES.get(str(type_name))
