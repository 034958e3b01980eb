"""Finding which text answers which question in a block of reply lines.

An item starts where the patient's text names it: the questionnaire's prompt
(found even when a client wrapped it over several lines), a number at the start
of a line (``3. si``, ``3.- si``, ``3) si``, ``3-S``), further numbers on the
same line in compact form (``1 si 2 no``, ``1.no, 4.yes``), or a retyped short
name (``tos: si``, ``fiebre no``, ``[x] tos``). Its answer is the text after
that start, or the next non-empty line when nothing follows on the same line.
"""

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache

from mailtriage.answervalues import NO_WORDS, TREND_WORDS, YES_WORDS
from mailtriage.questions import DYSPNEA, SPO2, TEMPERATURE, TEXT, TREND, YES_NO, Question
from mailtriage.textnorm import fold, fold_aligned, skeleton_with_origin

# A number opens an item when a separator ("1.", "1.-", "1)", "2-36.5") or a space
# follows it, but not in "38.5", "9:12" or "4 de diciembre".
_NUMBERED = re.compile(
    r"[ \t]*(?:[-*•][ \t]*)?(\d{1,2})(?:[ \t]*(?:\.-|\.\)|[)\-=])|[ \t]*[.:](?!\d)|(?=[ \t]|$))[ \t]*"
    r"(?![ \t]*(?:de[ \t]+)?(?:ene|feb|mar|abr|may|jun|jul|ago|sep|oct|nov|dic|dec|jan|apr|aug)[a-z]*\b)",
    re.IGNORECASE)
_COMPACT_NEXT = re.compile(r"(?:(?<=\s)|(?<=[^\W\d_],))(\d{1,2})(?:\.-|[.)\-:=])?(?=[ \t]+\S|[^\d\s.]|[ \t]*$)")
_CHECKBOX = re.compile(r"[ \t]*(\[[ \t]*[xX✓✔☑]?[ \t]*\])[ \t]*")
_NOT_ALNUM = "".join(chr(code) for code in range(0x20, 0x250) if not chr(code).isalnum())
_STOP_LINE = re.compile(r"^(?:folio\b|--\s*$|__+\s*$|enviado desde|sent from|obtener outlook|get outlook)")
# A sign-off on its own line ends an answer that runs over several lines.
_SIGN_OFF = re.compile(r"^(?:muchas gracias|gracias|saludos(?: cordiales)?|un saludo|atentamente|att|atte|"
                       r"cordialmente|bendiciones|thanks|thank you|regards|best regards)\W*$")
_NAME_SEPARATOR = re.compile(r"[ \t]*[:=\-.]+[ \t]*")
# An answer typed under its prompt may sit after one empty line (Apple Mail
# splits the quote that way); further down, the text is something else.
_MAX_BLANKS_BEFORE_ANSWER = 1
# Items a compact list inside a sentence must name before it is read as answers.
_MIN_ITEMS_IN_SENTENCE = 3
# A retyped name ends at a colon only this close to it ("desmayo o tos con sangre: no").
_MAX_NAME_TAIL = 40

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


@dataclass(frozen=True)
class ItemStart:
    """Where one item starts in a block, and where its answer may begin."""

    position: int
    key: str
    answer_start: int


def find_answer_texts(lines: list[str], questions: tuple[Question, ...]) -> list[tuple[str, str]]:
    """Return (key, answer text) for every item the block's text names with a non-empty answer."""
    text = "\n".join(lines)
    folded, origin = skeleton_with_origin(text)
    starts, prompt_spans = _prompt_starts(text, folded, origin, questions)
    starts += _line_starts(text, starts, prompt_spans, questions)
    starts.sort(key=lambda start: start.position)

    found = []
    for index, start in enumerate(starts):
        end = starts[index + 1].position if index + 1 < len(starts) else len(text)
        answer = _answer_text(text[start.answer_start:end])
        if answer:
            found.append((start.key, answer))
    return found


@lru_cache(maxsize=8)
def _prompt_skeletons(questions: tuple[Question, ...]) -> tuple[tuple[str, str, re.Pattern], ...]:
    """Return (key, letters and digits of the prompt, pattern of the punctuation ending it)."""
    skeletons = []
    for question in questions:
        for prompt in (question.prompt_es, question.prompt_en):
            skeleton = skeleton_with_origin(prompt)[0]
            ending = prompt[len(prompt.rstrip(_NOT_ALNUM)):]
            closing = "".join(sorted(set(ending.replace(" ", "")) | set(":.-=")))
            tail = re.compile(r"[\s" + re.escape(closing) + r"]*")
            if skeleton:
                skeletons.append((question.key, skeleton, tail))
    return tuple(skeletons)


def _prompt_starts(text, folded, origin, questions):
    """Find the questionnaire's prompts where they open a line (after an optional number)."""
    starts, spans = [], []
    for key, skeleton, tail in _prompt_skeletons(questions):
        found = folded.find(skeleton)
        while found != -1:
            begin = origin[found]
            line_start = text.rfind("\n", 0, begin) + 1
            if not any(char.isalpha() for char in text[line_start:begin]):
                end = origin[found + len(skeleton) - 1] + 1
                end = _skip_tail(text, end, tail)
                starts.append(ItemStart(line_start, key, end))
                spans.append((line_start, end))
            found = folded.find(skeleton, found + len(skeleton))
    return starts, spans


def _skip_tail(text: str, end: int, tail: re.Pattern) -> int:
    """Skip the prompt's closing punctuation ("):", " %:") but never a line break."""
    skipped = tail.match(text, end).end()
    line_break = text.find("\n", end, skipped)
    return skipped if line_break == -1 else line_break


def _line_starts(text, prompt_starts, prompt_spans, questions):
    """Find items opened by a number or a retyped name at the start of a line."""
    taken = {start.position for start in prompt_starts}
    aliases = _alias_pattern(questions)
    kinds = {question.key: question.kind for question in questions}
    spans = _merge_spans(prompt_spans)
    span_begins = [begin for begin, _ in spans]
    starts = []
    offset = 0
    for line in text.split("\n"):
        line_end = offset + len(line)
        nearest = bisect_right(span_begins, offset) - 1
        inside_prompt = nearest >= 0 and offset < spans[nearest][1]
        if offset not in taken and not inside_prompt:
            found = _numbered_starts(text, offset, line_end, questions) \
                or _named_start(offset, line, aliases, kinds) \
                or _compact_list_in_sentence(text, offset, line_end, questions)
            starts += found
        offset = line_end + 1
    return starts


def _merge_spans(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for begin, end in sorted(spans):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((begin, end))
    return merged


def _numbered_starts(text, offset, line_end, questions):
    match = _NUMBERED.match(text, offset, line_end)
    if match is None or not 1 <= int(match.group(1)) <= len(questions):
        return []
    number = int(match.group(1))
    key = questions[number - 1].key
    first = ItemStart(offset, key, _skip_own_name(text, match.end(), line_end, key))
    return [first] + _compact_followers(text, match.end(), line_end, number, questions)


def _compact_followers(text, position, line_end, number, questions):
    """Find the further items of a compact line ("1 si 2 no"), in increasing order, until a comment."""
    starts = []
    while questions[number - 1].kind != TEXT:
        following = _COMPACT_NEXT.search(text, position, line_end)
        if following is None:
            break
        position = following.end()
        candidate = int(following.group(1))
        if number < candidate <= len(questions):
            number = candidate
            starts.append(ItemStart(following.start(), questions[number - 1].key, following.end()))
    return starts


def _compact_list_in_sentence(text, offset, line_end, questions):
    """Find a compact list that starts inside a sentence ("le respondo: 1 no, 2 37.5, 3 no")."""
    first = _COMPACT_NEXT.search(text, offset, line_end)
    if first is None or not 1 <= int(first.group(1)) <= len(questions):
        return []
    number = int(first.group(1))
    starts = [ItemStart(first.start(), questions[number - 1].key, first.end())]
    starts += _compact_followers(text, first.end(), line_end, number, questions)
    # Two numbers in a sentence are often just numbers ("2 hijos y 3 perros").
    return starts if len(starts) >= _MIN_ITEMS_IN_SENTENCE else []


def _skip_own_name(text: str, start: int, line_end: int, key: str) -> int:
    """Skip a short name of the numbered question itself ("1. Fiebre", "18. Comentarios:")."""
    line = text[start:line_end]
    folded = fold_aligned(line)
    for name in sorted(ALIASES.get(key, ()), key=len, reverse=True):
        if folded.startswith(name) and (len(folded) == len(name) or not folded[len(name)].isalnum()):
            name_end = len(name)
            separator = _NAME_SEPARATOR.match(line, name_end)
            return start + (separator.end() if separator else name_end)
    return start


def _named_start(offset, line, aliases, kinds):
    checkbox = _CHECKBOX.match(line)
    name_offset = checkbox.end() if checkbox else 0
    key, name_end = _match_alias(line, name_offset, aliases)
    if key is None:
        return []

    if checkbox:
        return [ItemStart(offset, key, offset + checkbox.start(1))]
    tail = line[name_end:]
    colon = tail.find(":")
    if 0 <= colon <= _MAX_NAME_TAIL and not any(char.isdigit() for char in tail[:colon]):
        return [ItemStart(offset, key, offset + name_end + colon + 1)]

    # Without a colon, "tos leve desde ayer" is a sentence, "tos si" an answer.
    separator = _NAME_SEPARATOR.match(tail)
    answer_start = name_end + (separator.end() if separator else 0)
    if not _looks_like_answer(kinds[key], line[answer_start:]):
        return []
    return [ItemStart(offset, key, offset + answer_start)]


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


def _match_alias(line: str, start: int, aliases) -> tuple[str | None, int]:
    """Return the key whose longest alias opens ``line`` at ``start``, and where the name ends."""
    pattern, keys_by_name = aliases
    found = pattern.match(fold_aligned(line[start:]))
    if found is None:
        return None, 0
    return keys_by_name[found.group(1)], start + found.end(1)


@lru_cache(maxsize=8)
def _alias_pattern(questions: tuple[Question, ...]) -> tuple[re.Pattern, dict[str, str]]:
    """Compile the aliases of the configured questions, longest first so the longest one wins."""
    keys = {question.key for question in questions}
    keys_by_name = {name: key for key, names in ALIASES.items() if key in keys for name in names}
    names = sorted(keys_by_name, key=len, reverse=True)
    pattern = re.compile("(" + "|".join(map(re.escape, names)) + r")(?![a-z0-9])")
    return pattern, keys_by_name


def _answer_text(segment: str) -> str:
    """Return the answer in ``segment``: its first line, else its next non-empty line, with continuations."""
    lines = segment.split("\n")
    first = lines[0].strip()
    rest = lines[1:]
    if not first:
        blanks = 0
        while rest and not rest[0].strip():
            rest, blanks = rest[1:], blanks + 1
        if not rest or blanks > _MAX_BLANKS_BEFORE_ANSWER or _STOP_LINE.match(fold(rest[0])):
            return ""
        first, rest = rest[0].strip(), rest[1:]

    parts = [first]
    for line in rest:
        folded = fold(line)
        if not folded or _STOP_LINE.match(folded) or _SIGN_OFF.match(folded):
            break
        parts.append(line.strip())
    return " ".join(parts)
