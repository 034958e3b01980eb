"""Finding which text answers which question in a block of reply lines.

An item starts where the patient's text names it: the questionnaire's prompt
(found even when a client wrapped it over several lines), a number at the start
of a line (``3. si``, ``3.- si``, ``3) si``, ``3-S``), further numbers on the
same line in compact form (``1 si 2 no``, ``1.no, 4.yes``), a retyped short
name (``tos: si``, ``fiebre no``, ``[x] tos``) or the question's wording retyped
without its hint (``¿Tiene tos? si``). Its answer is the text after that start,
or the next non-empty line when nothing follows on the same line.
"""

import re
from bisect import bisect_right
from dataclasses import dataclass

from mailtriage.questions import TEXT, Question
from mailtriage.retyped import (
    alias_pattern, named_item, per_question_set, question_texts, skip_own_name, skip_retyped_question,
)
from mailtriage.textnorm import Skeleton, fold, skeleton_letters

# A number opens an item when a separator ("1.", "1.-", "1)", "2-36.5") or a space
# follows it, but not in "38.5", "9:12" or "4 de diciembre". "Pregunta 1:" and "#1" count.
_NUMBERED = re.compile(
    r"[ \t]*(?:[-*•][ \t]*)?(?:(?:pregunta|preg\.|question|#)[ \t]*)?(\d{1,2})(?:[ \t]*(?:\.-|\.\)|[)\-=])|[ \t]*[.:](?!\d)|(?=[ \t]|$))[ \t]*"
    r"(?![ \t]*(?:de[ \t]+)?(?:ene|feb|mar|abr|may|jun|jul|ago|sep|oct|nov|dic|dec|jan|apr|aug)[a-z]*\b)",
    re.IGNORECASE)
# A further item on a compact line: "1 si 2 no", "1.no, 4.yes", "1-S 2-N".
_COMPACT_NEXT = re.compile(
    r"(?:(?<=\s)|(?<=[^\W\d_],))(\d{1,2})(?:\.-|[.)\-:=])?(?=[ \t]+\S|[^\d\s.]|[ \t]*$)")
_NOT_ALNUM = "".join(chr(code) for code in range(0x20, 0x250) if not chr(code).isalnum())
_STOP_LINE = re.compile(r"^(?:folio\b|--\s*$|__+\s*$|enviado desde|sent from|obtener outlook|get outlook)")
# A sign-off on its own line ends an answer that runs over several lines.
_SIGN_OFF = re.compile(r"^(?:muchas gracias|gracias|saludos(?: cordiales)?|un saludo|atentamente|att|atte|"
                       r"cordialmente|bendiciones|thanks|thank you|regards|best regards)\W*$")
# Apple Mail leaves one empty line between a quoted prompt and the answer typed
# under it. Text further down, or after an empty line under a bare number, is
# something else, such as a signature.
_MAX_BLANKS_BEFORE_ANSWER = 1
# Letters that group question wordings for the look-up of a retyped question.
_WORDING_KEY_LETTERS = 4
# Items a compact list inside a sentence must name before it is read as answers.
_MIN_ITEMS_IN_SENTENCE = 3

@dataclass(frozen=True)
class ItemStart:
    """The start of one item in a block: its offset, its key and the offset where its answer may begin."""

    position: int
    key: str
    answer_start: int
    # Only an item opened by its printed prompt may find its answer past an empty line.
    has_prompt: bool = False


def find_answer_texts(lines: list[str], questions: tuple[Question, ...]) -> list[tuple[str, str]]:
    """Return (key, answer text) for every item the block's text names with a non-empty answer."""
    text = "\n".join(lines)
    starts, prompt_spans = _prompt_starts(text, Skeleton(text), questions)
    starts += _line_starts(text, starts, prompt_spans, questions)
    starts.sort(key=lambda start: start.position)

    found = []
    for index, start in enumerate(starts):
        end = starts[index + 1].position if index + 1 < len(starts) else len(text)
        answer = _answer_text(text[start.answer_start:end], start.has_prompt)
        # A table row "1 | Fiebre | No" puts the item's name on the line under its number.
        answer = answer[skip_own_name(answer, start.key):].strip()
        if answer:
            found.append((start.key, answer))
    return found


@per_question_set
def _prompt_skeletons(questions: tuple[Question, ...]) -> tuple[tuple[str, str, re.Pattern], ...]:
    """Return (key, letters and digits of the prompt, pattern of the punctuation ending it)."""
    skeletons = []
    for question in questions:
        for prompt in (question.prompt_es, question.prompt_en):
            skeleton = skeleton_letters(prompt)
            ending = prompt[len(prompt.rstrip(_NOT_ALNUM)):]
            closing = "".join(sorted(set(ending.replace(" ", "")) | set(":.-=")))
            tail = re.compile(r"[\s" + re.escape(closing) + r"]*")
            if skeleton:
                skeletons.append((question.key, skeleton, tail))
    return tuple(skeletons)


def _prompt_starts(text: str, skeleton_text: Skeleton, questions):
    """Find the questionnaire's prompts where they open a line (after an optional number)."""
    starts, spans = [], []
    letters = skeleton_text.letters
    for key, skeleton, tail in _prompt_skeletons(questions):
        found = letters.find(skeleton)
        while found != -1:
            begin = skeleton_text.offset(found)
            line_start = text.rfind("\n", 0, begin) + 1
            if line_start == begin or not any(char.isalpha() for char in text[line_start:begin]):
                end = skeleton_text.offset(found + len(skeleton) - 1) + 1
                end = _skip_tail(text, end, tail)
                starts.append(ItemStart(line_start, key, end, has_prompt=True))
                spans.append((line_start, end))
            found = letters.find(skeleton, found + len(skeleton))
    return starts, spans


def _skip_tail(text: str, end: int, tail: re.Pattern) -> int:
    """Skip the prompt's closing punctuation ("):", " %:") but never a line break."""
    skipped = tail.match(text, end).end()
    line_break = text.find("\n", end, skipped)
    return skipped if line_break == -1 else line_break


def _line_starts(text, prompt_starts, prompt_spans, questions):
    """Find items opened by a number or a retyped name at the start of a line."""
    prompt_positions = {start.position for start in prompt_starts}
    aliases = alias_pattern(questions)
    wordings = question_texts(questions)
    wordings_by_start = _wordings_by_start(questions)
    spans = _merge_spans(prompt_spans)
    span_begins = [begin for begin, _ in spans]
    starts = []
    offset = 0
    for line in text.split("\n"):
        line_end = offset + len(line)
        nearest = bisect_right(span_begins, offset) - 1
        inside_prompt = nearest >= 0 and offset < spans[nearest][1]
        # A blank line has no number, name or check box, so no finder is asked.
        is_blank = not line or line.isspace()
        if offset not in prompt_positions and not inside_prompt and not is_blank:
            found = _numbered_starts(text, offset, line_end, questions, wordings) \
                or _named_start(offset, line, aliases) \
                or _retyped_question_start(offset, line, wordings_by_start) \
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


def _numbered_starts(text, offset, line_end, questions, wordings):
    match = _NUMBERED.match(text, offset, line_end)
    if match is None or not 1 <= int(match.group(1)) <= len(questions):
        return []
    number = int(match.group(1))
    key = questions[number - 1].key
    rest = text[match.end():line_end]
    skipped = max(skip_own_name(rest, key),
                  skip_retyped_question(rest, wordings[key], whole=False))
    first = ItemStart(offset, key, match.end() + skipped)
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


def _named_start(offset: int, line: str, aliases) -> list[ItemStart]:
    found = named_item(line, aliases)
    if found is None:
        return []
    key, answer_offset = found
    return [ItemStart(offset, key, offset + answer_offset)]


def _retyped_question_start(offset: int, line: str, wordings_by_start) -> list[ItemStart]:
    """Find a question's whole wording retyped without its number ("¿Tiene tos? si")."""
    # Only the first letters pick the group, and the letters of a prefix of
    # the line are a prefix of the line's letters.
    letters = skeleton_letters(line[:_WORDING_KEY_LETTERS * 4])
    if len(letters) < _WORDING_KEY_LETTERS:
        letters = skeleton_letters(line)
    for key, wordings in wordings_by_start.get(letters[:_WORDING_KEY_LETTERS], ()):
        skipped = skip_retyped_question(line, wordings, whole=True)
        if skipped:
            return [ItemStart(offset, key, offset + skipped)]
    return []


@per_question_set
def _wordings_by_start(questions: tuple[Question, ...]) -> dict[str, list]:
    """Group the questions' wordings by their first letters, so most lines need one look-up."""
    groups: dict[str, list] = {}
    for key, wordings in question_texts(questions).items():
        for start in {wording[:_WORDING_KEY_LETTERS] for wording in wordings}:
            groups.setdefault(start, []).append((key, wordings))
    return groups


def _answer_text(segment: str, may_skip_blank: bool) -> str:
    """Return the answer in ``segment``: its first line, else its next non-empty line, with continuations."""
    lines = segment.split("\n")
    first = lines[0].strip()
    rest = lines[1:]
    if not first:
        blanks = 0
        while rest and not rest[0].strip():
            rest, blanks = rest[1:], blanks + 1
        allowed_blanks = _MAX_BLANKS_BEFORE_ANSWER if may_skip_blank else 0
        if not rest or blanks > allowed_blanks or _ends_answer(fold(rest[0])):
            return ""
        first, rest = rest[0].strip(), rest[1:]

    parts = [first]
    for line in rest:
        folded = fold(line)
        if not folded or _ends_answer(folded):
            break
        parts.append(line.strip())
    return " ".join(parts)


def _ends_answer(folded_line: str) -> bool:
    return bool(_STOP_LINE.match(folded_line) or _SIGN_OFF.match(folded_line))
