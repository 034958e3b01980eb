"""Question names that patients retype instead of numbers: "tos: si", "fiebre no", "[x] tos".

A name opens an item when it starts a line. The longest name wins, so
"desmayo o tos con sangre" names item 14, not the cough.
"""

import re
from functools import wraps

from mailtriage.answervalues import NO_WORDS, TREND_WORDS, YES_WORDS
from mailtriage.questions import DYSPNEA, SPO2, TEMPERATURE, TREND, YES_NO, Question
from mailtriage.textnorm import Skeleton, fold, fold_aligned, skeleton_letters

_CHECKBOX = re.compile(r"[ \t]*(\[[ \t]*[xX✓✔☑]?[ \t]*\])[ \t]*")
_NAME_SEPARATOR = re.compile(r"[ \t]*[:=\-.]+[ \t]*")
# Question sets cached at once; a deployment uses one, tests a few.
_MAX_CACHED_QUESTION_SETS = 8
# A retyped name ends at a colon only this close to it ("desmayo o tos con sangre: no").
_MAX_NAME_TAIL = 40
# The answer hint in capitals that ends a prompt: "(SI/NO):", "(MEJOR/IGUAL/PEOR):".
_ANSWER_HINT = re.compile(r"\([^a-z()]*\)\s*:?\s*$")
_AFTER_QUESTION = re.compile(r"[\s?¿):.=\-]*")
# Minimum letters of its own question that a numbered line must repeat before they
# are skipped as retyped wording ("2. Temperatura más alta: 38"). Fewer letters may be
# the answer itself: item 3 begins "Si tuvo fiebre" and "3. Si" answers it.
_MIN_RETYPED_LETTERS = 4

# Retyped or shortened question names, folded; the longest name that starts a line wins.
ALIASES = {
    "fever": ("fiebre", "calentura", "fever"),
    "temperature_c": ("temperatura", "temp", "temperature"),
    "fever_unresponsive": ("fiebre despues del paracetamol", "fiebre con paracetamol",
                           "fiebre despues de paracetamol", "paracetamol", "fever after paracetamol"),
    "cough": ("tos", "cough"),
    "headache": ("dolor de cabeza", "cabeza", "headache"),
    "sore_throat": ("dolor de garganta", "garganta", "sore throat", "throat"),
    "body_aches": ("dolor de musculos", "musculos", "dolor muscular", "articulaciones",
                   "dolor de cuerpo", "muscle pain", "body aches", "muscles"),
    "smell_taste_loss": ("olfato o gusto", "olfato y gusto", "olfato", "gusto", "perdida de olfato",
                         "perdida del olfato", "smell or taste", "smell", "taste", "loss of smell"),
    "diarrhea_vomiting": ("diarrea o vomito", "diarrea", "vomito", "diarrhea", "diarrhoea",
                          "vomiting"),
    "dyspnea_level": ("respiracion", "falta de aire", "breathing", "shortness of breath"),
    "chest_pain": ("dolor de pecho", "dolor en el pecho", "pecho", "presion en el pecho",
                   "chest pain", "chest"),
    "cyanosis": ("labios o unas morados", "labios morados", "labios", "unas moradas", "cyanosis",
                 "bluish lips", "lips"),
    "confusion": ("confusion", "confundido", "confundida", "somnolencia", "confused"),
    "other_alarm": ("desmayo o tos con sangre", "desmayo", "desmayos", "tos con sangre",
                    "fainting", "coughing blood"),
    "spo2": ("oxigenacion", "oxigeno", "saturacion", "spo2", "sat", "oxygen", "saturation"),
    "overall_trend": ("comparado con ayer", "como se siente", "compared to yesterday",
                      "compared with yesterday", "how do you feel", "feeling"),
    "wants_call": ("que me llamen", "llamada", "llamar", "llamenme", "call"),
    "comments": ("comentarios", "comentario", "comments", "comment"),
}

# Each item's own names, longest first, for "1. Fiebre: no".
_OWN_NAMES = {key: re.compile("(?:" + "|".join(map(re.escape, sorted(names, key=len, reverse=True))) + r")(?![a-z0-9])")
              for key, names in ALIASES.items()}


def per_question_set(build):
    """Cache ``build(questions)`` by the identity of the question tuple.

    Hashing a tuple of frozen Question dataclasses on every call cost more
    than the look-ups it guarded. The entry keeps the tuple alive, so its id
    cannot be reused while cached.
    """
    results: dict[int, tuple] = {}

    @wraps(build)
    def cached(questions):
        entry = results.get(id(questions))
        if entry is None or entry[0] is not questions:
            if len(results) >= _MAX_CACHED_QUESTION_SETS:
                results.clear()
            entry = (questions, build(questions))
            results[id(questions)] = entry
        return entry[1]

    return cached


@per_question_set
def alias_pattern(questions: tuple[Question, ...]) -> tuple[re.Pattern, dict[str, str], dict[str, str]]:
    """Compile the names of the configured questions, longest first so the longest one wins.

    Returns the pattern, the key of each name and the answer kind of each key.
    """
    keys = {question.key for question in questions}
    keys_by_name = {name: key for key, names in ALIASES.items() if key in keys for name in names}
    names = sorted(keys_by_name, key=len, reverse=True)
    pattern = re.compile("(" + "|".join(map(re.escape, names)) + r")(?![a-z0-9])")
    kinds = {question.key: question.kind for question in questions}
    return pattern, keys_by_name, kinds


def named_item(line: str, aliases) -> tuple[str, int] | None:
    """Return (key, offset in ``line`` where the answer begins) when a retyped name opens ``line``."""
    pattern, keys_by_name, kinds = aliases
    checkbox = _CHECKBOX.match(line)
    name_start = checkbox.end() if checkbox else 0
    found = pattern.match(fold_aligned(line[name_start:]))
    if found is None:
        return None
    key, name_end = keys_by_name[found.group(1)], name_start + found.end(1)

    if checkbox:
        return key, checkbox.start(1)  # the mark is the answer; the name follows it
    tail = line[name_end:]
    colon = tail.find(":")
    if 0 <= colon <= _MAX_NAME_TAIL and not any(char.isdigit() for char in tail[:colon]):
        return key, name_end + colon + 1

    # Without a colon, "tos leve desde ayer" is a sentence, "tos si" an answer.
    separator = _NAME_SEPARATOR.match(tail)
    answer_start = name_end + (separator.end() if separator else 0)
    if not _looks_like_answer(kinds[key], line[answer_start:]):
        return None
    return key, answer_start


def _looks_like_answer(kind: str, text: str) -> bool:
    """Tell whether text after a retyped name, with no colon between, opens an answer."""
    folded = fold(text)
    words = re.findall(r"[a-z0-9]+", folded)
    first = words[0] if words else ""
    if kind == YES_NO:
        return first in YES_WORDS or first in NO_WORDS or folded[:1] in ("✓", "✔", "[")
    if kind in (TEMPERATURE, SPO2):
        return any(char.isdigit() for char in folded) or first in ("no", "sin", "not", "n")
    if kind == DYSPNEA:
        return len(first) == 1
    if kind == TREND:
        return first in TREND_WORDS
    return False


def skip_own_name(line: str, key: str) -> int:
    """Return where the answer begins after a short name of the numbered item ("1. Fiebre: no")."""
    pattern = _OWN_NAMES.get(key)
    found = pattern.match(fold_aligned(line)) if pattern else None
    if found is None:
        return 0
    separator = _NAME_SEPARATOR.match(line, found.end())
    return separator.end() if separator else found.end()


@per_question_set
def question_texts(questions: tuple[Question, ...]) -> dict[str, tuple[str, ...]]:
    """Return the letters of each question's wording without its answer hint ("(SI/NO):")."""
    texts = {}
    for question in questions:
        wordings = []
        for prompt in (question.prompt_es, question.prompt_en):
            wordings.append(skeleton_letters(_ANSWER_HINT.sub("", prompt)))
        texts[question.key] = tuple(wording for wording in wordings if wording)
    return texts


def skip_retyped_question(line: str, wordings: tuple[str, ...], whole: bool) -> int:
    """Return where the answer begins after the question's own words retyped at the start of ``line``.

    With ``whole`` the line must repeat the entire wording; otherwise a start
    of at least _MIN_RETYPED_LETTERS letters ending on a word boundary is
    enough. Returns 0 when the line does not start with the question's words.
    """
    starts = skeleton_letters(line[:_MIN_RETYPED_LETTERS * 4])[:_MIN_RETYPED_LETTERS]
    if not any(wording.startswith(starts) for wording in wordings) or len(starts) < _MIN_RETYPED_LETTERS:
        return 0  # most lines share no start with the wording: skip building the skeleton

    letters = Skeleton(line)
    for wording in wordings:
        common = _common_prefix(letters.letters, wording)
        if whole and common < len(wording):
            continue
        while common >= _MIN_RETYPED_LETTERS:
            end = letters.offset(common - 1) + 1
            if end >= len(line) or not line[end].isalnum():
                return _AFTER_QUESTION.match(line, end).end()
            common -= 1
    return 0


def _common_prefix(first: str, second: str) -> int:
    length = 0
    for left, right in zip(first, second):
        if left != right:
            break
        length += 1
    return length
