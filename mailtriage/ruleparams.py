"""The parameters of the rule file: their types, allowed ranges and the checks between them.

Every threshold of triage and of the non-reporting rules is a parameter of
the rule file, never a constant in code. A value of the wrong type or out
of its range stops start-up with the parameter's name.
"""

from mailtriage.enrolment import COMORBIDITIES
from mailtriage.i18n import tr

INTEGER = "integer"
NUMBER = "number"
FLAG_LIST = "flag_list"
CHOICE = "choice"

# name: (type, minimum, maximum); for CHOICE the allowed values.
_DEGREES = (NUMBER, 34.0, 43.0)
_SPO2 = (INTEGER, 50, 100)
_HOURS = (NUMBER, 1, 24 * 30)

PARAMETER_SPECS = {
    "FEVER_C": _DEGREES,
    "HIGH_FEVER_C": _DEGREES,
    "HYPERPYREXIA_C": _DEGREES,
    "UNRESPONSIVE_FEVER_RED_ABOVE_C": _DEGREES,
    "HYPOTHERMIA_C": _DEGREES,
    "FEVER_STREAK_STANDARD": (INTEGER, 1, 30),
    "FEVER_STREAK_HIGH_RISK": (INTEGER, 1, 30),
    "FEVER_LATE_DAY": (INTEGER, 1, 60),
    "FEVER_RETURN_CLEAR_REPORTS": (INTEGER, 1, 10),
    "WINDOW_FIRST_DAY": (INTEGER, 1, 60),
    "WINDOW_LAST_DAY": (INTEGER, 1, 60),
    "DISCHARGE_MIN_DAY": (INTEGER, 1, 60),
    "AGE_HIGH_RISK_YEARS": (INTEGER, 0, 120),
    "AGE_YOUNG_CHILD_YEARS": (INTEGER, 0, 18),
    "ADULT_AGE_YEARS": (INTEGER, 0, 21),
    "INFANT_FEVER_DAYS": (INTEGER, 0, 366),
    "INFANT_FEVER_CALL_MONTHS": (INTEGER, 0, 60),
    "POSTPARTUM_DAYS": (INTEGER, 0, 366),
    "HIGH_RISK_COMORBIDITIES": (FLAG_LIST, COMORBIDITIES),
    "ALTITUDE_PROFILE_M": (INTEGER, 0, 6000),
    "SPO2_STANDARD_RED_MAX": _SPO2,
    "SPO2_STANDARD_YELLOW_MAX": _SPO2,
    "SPO2_ALTITUDE_RED_MAX": _SPO2,
    "SPO2_ALTITUDE_YELLOW_MAX": _SPO2,
    "SPO2_PREGNANCY_RED_MAX": _SPO2,
    "SPO2_PREGNANCY_YELLOW_MAX": _SPO2,
    "SPO2_PREGNANCY_ALTITUDE_RED_MAX": _SPO2,
    "SPO2_PREGNANCY_ALTITUDE_YELLOW_MAX": _SPO2,
    "SPO2_BASELINE_RED_DROP": (INTEGER, 1, 20),
    "SPO2_MIN_VALID": (INTEGER, 1, 100),
    "SPO2_DROP_POINTS": (NUMBER, 1, 50),
    "SPO2_REF_REPORTS": (INTEGER, 1, 10),
    "SPO2_REF_DAYS": (INTEGER, 1, 30),
    "PREV_MAX_HOURS": _HOURS,
    "DYSPNEA_RED_LEVEL": (INTEGER, 1, 3),
    "CALL_A_WITHIN_HOURS": (NUMBER, 0.25, 24),
    "CALL_N_WITHIN": (CHOICE, ("same_day",)),
    "REMINDER_AFTER_HOURS": _HOURS,
    "REMINDER_EVERY_HOURS": _HOURS,
    "SILENCE_CALL_N_HOURS": _HOURS,
    "SILENCE_CALL_A_HOURS": _HOURS,
    "ESCALATE_AFTER_ATTEMPTS": (INTEGER, 1, 20),
    "ESCALATE_MIN_SPAN_HOURS": (NUMBER, 0, 72),
    "RED_CONFIRM_HOURS": (NUMBER, 0.25, 72),
    "NONREPORT_CHECK_MINUTES": (INTEGER, 1, 24 * 60),
}

# (smaller, larger): the first must be strictly below the second.
ORDERED_PAIRS = (
    ("FEVER_C", "HIGH_FEVER_C"),
    ("HIGH_FEVER_C", "HYPERPYREXIA_C"),
    ("HYPOTHERMIA_C", "FEVER_C"),
    ("SPO2_STANDARD_RED_MAX", "SPO2_STANDARD_YELLOW_MAX"),
    ("SPO2_ALTITUDE_RED_MAX", "SPO2_ALTITUDE_YELLOW_MAX"),
    ("SPO2_PREGNANCY_RED_MAX", "SPO2_PREGNANCY_YELLOW_MAX"),
    ("SPO2_PREGNANCY_ALTITUDE_RED_MAX", "SPO2_PREGNANCY_ALTITUDE_YELLOW_MAX"),
    ("SPO2_MIN_VALID", "SPO2_STANDARD_RED_MAX"),
    ("SILENCE_CALL_N_HOURS", "SILENCE_CALL_A_HOURS"),
)


def check_parameter(name: str, value) -> str | None:
    """Return the problem with one parameter's value, or None when it is valid."""
    spec = PARAMETER_SPECS[name]
    kind = spec[0]
    if kind == FLAG_LIST:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            return tr("debe ser una lista de textos", "must be a list of strings")
        unknown = sorted(set(value) - set(spec[1]))
        if unknown:
            return tr("comorbilidad desconocida: {u}; use: {ok}", "unknown comorbidity: {u}; use: {ok}",
                      u=", ".join(unknown), ok=", ".join(spec[1]))
        return None
    if kind == CHOICE:
        if value not in spec[1]:
            return tr("debe ser uno de: {ok}", "must be one of: {ok}", ok=", ".join(spec[1]))
        return None
    return _check_number(kind, spec[1], spec[2], value)


def _check_number(kind: str, minimum, maximum, value) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return tr("debe ser un número", "must be a number")
    if kind == INTEGER and not isinstance(value, int):
        return tr("debe ser un número entero", "must be a whole number")
    if not minimum <= value <= maximum:
        return tr("debe estar entre {a} y {b}", "must be between {a} and {b}", a=minimum, b=maximum)
    return None


def check_parameters(parameters: dict) -> tuple[str, str] | None:
    """Return (parameter, problem) for the first invalid, missing or unknown parameter, or None."""
    for name in parameters:
        if name not in PARAMETER_SPECS:
            return name, tr("parámetro desconocido", "unknown parameter")
    for name in PARAMETER_SPECS:
        if name not in parameters:
            return name, tr("falta el parámetro", "the parameter is missing")
        problem = check_parameter(name, parameters[name])
        if problem:
            return name, problem

    for smaller, larger in ORDERED_PAIRS:
        if not parameters[smaller] < parameters[larger]:
            return smaller, tr("debe ser menor que {other}", "must be less than {other}", other=larger)
    if parameters["WINDOW_FIRST_DAY"] > parameters["WINDOW_LAST_DAY"]:
        return "WINDOW_FIRST_DAY", tr("no puede ser mayor que WINDOW_LAST_DAY",
                                      "cannot be greater than WINDOW_LAST_DAY")
    return None
