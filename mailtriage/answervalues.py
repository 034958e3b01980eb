"""Reading one answer's text as a value: yes/no, temperature, SpO2, choices, comments.

Each reader returns a Value: the value read, or why it could not be read, or
that the answer says nothing (blank, "not measured" on an optional item).
It never guesses: text that is not a clear answer is unreadable.
"""

import re
from dataclasses import dataclass

from mailtriage.contracts import (
    AMBIGUOUS, CONFLICTING, NOT_A_CHOICE, NOT_A_NUMBER, NOT_YES_NO, OUT_OF_RANGE, Unreadable,
)
from mailtriage.questions import DYSPNEA, SPO2, TEMPERATURE, TEXT, TREND, YES_NO, Question
from mailtriage.textnorm import fold

TEMPERATURE_C_RANGE = (34.0, 43.0)
SPO2_RANGE = (50.0, 100.0)
# A reading in this band is a body temperature only in °F (101.3 °F = 38.5 °C).
FAHRENHEIT_GUESS_RANGE = (93.0, 110.0)

YES_WORDS = frozenset({"si", "s", "yes", "y", "x", "afirmativo", "sip", "claro", "yep", "yeah"})
NO_WORDS = frozenset({"no", "n", "ninguno", "ninguna", "nada", "negativo", "nop", "nope", "none"})
# Whole words that flip a yes or a no when they appear after the first word.
_SECOND_YES = frozenset({"si", "yes", "afirmativo"})
_SECOND_NO = frozenset({"no", "negativo", "ninguno", "ninguna", "nada"})
# First words that deny a number item without giving a value ("no tuve fiebre", "sin aparato").
_NEGATIONS = NO_WORDS | {"sin", "ni", "not", "never", "nunca"}
_UNSURE = re.compile(r"^(?:no se|no lo se|no estoy segur[oa]|tal vez|quizas?|a veces)\b")
_YES_MARKS = re.compile(r"^\[\s*[xX✓✔☑]\s*\]|^[✓✔☑✅]")
_NO_MARKS = re.compile(r"^\[\s*\]|^☐")
_WORD = re.compile(r"[a-z0-9]+")
# "R: no", "Resp.: si", "-> si": a label some patients type before the answer.
_ANSWER_PREFIX = re.compile(r"^(?:(?:r|resp|respuesta)\s*[.:=]\s*|(?:-+>|=+>|→)\s*)", re.IGNORECASE)
# "SpO2 95": the 2 of SpO2 is not a value.
_SPO2_NAME = re.compile(r"\b(?:sp\s*o2|o2)\b")
_EDGE_PUNCTUATION = " .,;:!¡?¿-_*'\"()"

_NUMBER = re.compile(r"(?<![\d.,])\d{1,3}(?:[.,]\d+)?(?![\d])")
_RANGE = re.compile(r"\d\s*(?:-|–|a|al|y|o|/)\s*\d")
_FAHRENHEIT = re.compile(r"\d\s*°?\s*f\b|fahrenheit")
_EMPTY_MARKS = frozenset({"", "-", "--", "—", "–", "_", "n/a", "na", "n.a.", "no aplica"})
_NOT_MEASURED = re.compile(
    r"\b(?:no|sin|ni)\b.*\b(?:medi|mido|medido|medirla|medirme|termometro|oximetro|"
    r"medicamento|medicina|paracetamol|pastilla|aparato|aplica|tome|tomo|tomado)\b"
    r"|\b(?:not measured|did not measure|didn't measure|no (?:thermometer|oximeter))\b")

_LETTER_A_MARK = re.compile(r"a\s*[).:,-]")
_DYSPNEA_LETTERS = {"a": 0, "b": 1, "c": 2, "d": 3}
# A bare digit may count from 0 or from 1, so it reads as the more severe meaning.
_DYSPNEA_DIGITS = {"0": 0, "1": 1, "2": 2, "3": 3, "4": 3}
TREND_WORDS = {"mejor": "better", "better": "better", "igual": "same", "same": "same",
                "mismo": "same", "peor": "worse", "worse": "worse"}
TREND_SEVERITY = {"better": 0, "same": 1, "worse": 2}


@dataclass(frozen=True)
class Value:
    """What one answer text says: ``value``, or ``unreadable``, or neither (unanswered)."""

    value: object = None
    unreadable: Unreadable | None = None

    @property
    def answered(self) -> bool:
        return self.value is not None or self.unreadable is not None


BLANK = Value()


def read_value(question: Question, raw: str) -> Value:
    """Read ``raw`` as the answer to ``question``."""
    text = _ANSWER_PREFIX.sub("", raw.strip())
    folded = fold(text).strip(_EDGE_PUNCTUATION + "\u2026")
    if not folded and not _YES_MARKS.match(text) and not _NO_MARKS.match(text):
        return BLANK
    if question.optional and question.kind != TEXT and _says_not_measured(folded):
        return BLANK
    if question.kind in (TEMPERATURE, SPO2) and _negates_without_value(folded):
        return BLANK  # "no", "no tuve fiebre": nothing was measured

    reader = _READERS[question.kind]
    return reader(text, folded)


def _says_not_measured(folded: str) -> bool:
    if any(char.isdigit() for char in folded):
        return False
    return folded in _EMPTY_MARKS or bool(_NOT_MEASURED.search(folded))


def _negates_without_value(folded: str) -> bool:
    words = _WORD.findall(folded)
    return bool(words) and words[0] in _NEGATIONS and not any(char.isdigit() for char in folded)


def read_yes_no(text: str, folded: str) -> Value:
    if _YES_MARKS.match(text):
        return Value(True)
    if _NO_MARKS.match(text):
        return Value(False)
    if _UNSURE.match(folded):
        return Value(unreadable=Unreadable(text, NOT_YES_NO))

    words = _WORD.findall(folded)
    if not words or (words[0] not in YES_WORDS and words[0] not in NO_WORDS):
        return Value(unreadable=Unreadable(text, NOT_YES_NO))

    answer = words[0] in YES_WORDS
    flipping = _SECOND_NO if answer else _SECOND_YES
    if any(word in flipping for word in words[1:]):
        return Value(unreadable=Unreadable(text, CONFLICTING))
    return Value(answer)


def _single_number(text: str, folded: str) -> tuple[float | None, Unreadable | None]:
    numbers = _NUMBER.findall(folded)
    if not numbers:
        return None, Unreadable(text, NOT_A_NUMBER)
    if len(set(numbers)) > 1 or _RANGE.search(folded):
        return None, Unreadable(text, AMBIGUOUS)
    return float(numbers[0].replace(",", ".")), None


def read_temperature(text: str, folded: str) -> Value:
    number, problem = _single_number(text, folded)
    if problem is not None:
        return Value(unreadable=problem)

    low, high = FAHRENHEIT_GUESS_RANGE
    if _FAHRENHEIT.search(folded) or low <= number <= high:
        number = round((number - 32.0) * 5.0 / 9.0, 1)
    if not TEMPERATURE_C_RANGE[0] <= number <= TEMPERATURE_C_RANGE[1]:
        return Value(unreadable=Unreadable(text, OUT_OF_RANGE))
    return Value(number)


def read_spo2(text: str, folded: str) -> Value:
    number, problem = _single_number(text, _SPO2_NAME.sub(" ", folded))
    if problem is not None:
        return Value(unreadable=problem)
    if not SPO2_RANGE[0] <= number <= SPO2_RANGE[1]:
        return Value(unreadable=Unreadable(text, OUT_OF_RANGE))
    return Value(int(number) if number.is_integer() else number)


def read_dyspnea(text: str, folded: str) -> Value:
    words = _WORD.findall(folded)
    if len(words) == 1 and words[0] in _DYSPNEA_DIGITS:
        return Value(_DYSPNEA_DIGITS[words[0]])

    levels = set()
    for index, word in enumerate(words):
        if word == "a" and not _names_letter_a(words, index, folded):
            continue
        if word in _DYSPNEA_LETTERS:
            levels.add(_DYSPNEA_LETTERS[word])
    if words and words[0] == "normal":
        levels.add(0)
    if not levels:
        return Value(unreadable=Unreadable(text, NOT_A_CHOICE))
    return Value(max(levels))


def _names_letter_a(words: list[str], index: int, folded: str) -> bool:
    """Tell the letter A from the Spanish preposition "a" ("a veces me falta el aire")."""
    if index > 0:
        return words[index - 1] in ("la", "letra", "opcion", "inciso")
    return len(words) == 1 or bool(_LETTER_A_MARK.match(folded))


def read_trend(text: str, folded: str) -> Value:
    trends = {TREND_WORDS[word] for word in _WORD.findall(folded) if word in TREND_WORDS}
    if not trends:
        return Value(unreadable=Unreadable(text, NOT_A_CHOICE))
    return Value(max(trends, key=TREND_SEVERITY.__getitem__))


def read_comment(text: str, folded: str) -> Value:
    return Value(" ".join(text.split()))


_READERS = {
    YES_NO: read_yes_no,
    TEMPERATURE: read_temperature,
    SPO2: read_spo2,
    DYSPNEA: read_dyspnea,
    TREND: read_trend,
    TEXT: read_comment,
}
