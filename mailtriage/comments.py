"""Alarm phrases in the patient's free-text comment (item 18).

The comment and every phrase go through the same normalisation, so accents,
case, punctuation, compatibility forms and invisible characters never decide
a match. A phrase matches when its words appear consecutively and whole; a
word ending in ``*`` matches any word that starts with it.
"""

import re
import unicodedata
from dataclasses import dataclass, field

_NOT_LETTER_OR_DIGIT = re.compile(r"[^a-z0-9]+")
# Phrase sets whose index by first word is cached at once. A daemon loads one.
_MAX_CACHED_PHRASE_SETS = 16
_PHRASE_INDEXES: dict[int, tuple] = {}


def normalize_text(text: str) -> str:
    """Reduce text to lowercase a-z, 0-9 and single spaces, in the fixed order of the matching rules."""
    text = unicodedata.normalize("NFKC", text)

    # Format characters (zero-width space and joiners, soft hyphen, BOM,
    # direction marks) are dropped, never turned into a space, so they
    # cannot split a word.
    text = "".join(char for char in text if unicodedata.category(char) != "Cf")
    text = text.casefold()

    decomposed = unicodedata.normalize("NFD", text)
    text = "".join(char for char in decomposed if not unicodedata.combining(char))

    return _NOT_LETTER_OR_DIGIT.sub(" ", text).strip()


@dataclass(frozen=True)
class AlarmPhrase:
    """One configured phrase: the text as written in the rule file and its normalised words."""

    text: str
    words: tuple[str, ...]
    # The first word as find_alarm_phrases looks it up: a space and the stem
    # for a wildcard, the whole word otherwise.
    lead: str = field(init=False, repr=False, compare=False)
    lead_is_stem: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        first = self.words[0]
        lead = " " + first[:-1] if first.endswith("*") else first
        object.__setattr__(self, "lead", lead)
        object.__setattr__(self, "lead_is_stem", first.endswith("*"))

    def matches_at(self, comment_words: list[str], start: int) -> bool:
        for offset, word in enumerate(self.words):
            candidate = comment_words[start + offset]
            if word.endswith("*"):
                if not candidate.startswith(word[:-1]):
                    return False
            elif candidate != word:
                return False
        return True


def compile_phrase(text: str) -> AlarmPhrase:
    """Normalise one configured phrase; raise ValueError when it has no words or a misplaced ``*``."""
    words = []
    for raw_word in text.split():
        wildcard = raw_word.endswith("*")
        stem = raw_word[:-1] if wildcard else raw_word
        parts = normalize_text(stem).split()
        if "*" in stem or not parts:
            raise ValueError(text)
        if wildcard:
            parts[-1] += "*"
        words.extend(parts)

    if not words:
        raise ValueError(text)
    return AlarmPhrase(text=text, words=tuple(words))


def find_alarm_phrases(comments: list[str], phrases: tuple[AlarmPhrase, ...]) -> list[str]:
    """Return the comment words that match a configured phrase, normalised, in configuration order.

    Staff read the patient's own words ("me ahogo", "morados"), not the
    phrase as written in the rule file ("me ahog*", "morad*"). Words that
    lie inside a longer match are not repeated, and each text appears once.
    """
    spans = []
    comment_words = [normalize_text(comment).split() for comment in comments]
    if not any(comment_words):
        return []

    # A phrase can only start at its own first word. So a look-up in the
    # positions of each comment word, or for a wildcard stem in the comment's
    # text with a space before each word, rules most phrases out. The rest
    # are tried only where their first word is.
    positions = [_word_positions(words) for words in comment_words]
    spaced_texts = ["".join(" " + word for word in words) for words in comment_words]
    for phrase in _candidate_phrases(phrases, positions, spaced_texts):
        lead, lead_is_stem = phrase.lead, phrase.lead_is_stem
        for index, words in enumerate(comment_words):
            if lead_is_stem:
                starts = _stem_positions(words, lead[1:]) if lead in spaced_texts[index] else None
            else:
                starts = positions[index].get(lead)
            start = _match_start(words, phrase, starts) if starts else None
            if start is not None:
                spans.append((index, start, start + len(phrase.words)))
                break
    return _span_texts(spans, comment_words)


def _candidate_phrases(phrases: tuple[AlarmPhrase, ...], positions: list[dict[str, list[int]]],
                       spaced_texts: list[str]) -> list[AlarmPhrase]:
    """Return, in configuration order, the phrases whose first word or stem some comment contains."""
    by_word, by_stem = _phrase_index(phrases)
    found = set()
    for words in positions:
        for word in words:
            found.update(by_word.get(word, ()))
    for lead, at in by_stem:
        if any(lead in spaced for spaced in spaced_texts):
            found.add(at)
    return [phrases[at] for at in sorted(found)]


def _phrase_index(phrases: tuple[AlarmPhrase, ...]) -> tuple[dict[str, list[int]], list[tuple[str, int]]]:
    """Return the phrases' positions by exact first word, and (space and stem, position) of the rest."""
    cached = _PHRASE_INDEXES.get(id(phrases))
    if cached is not None and cached[0] is phrases:
        return cached[1]

    by_word: dict[str, list[int]] = {}
    by_stem = []
    for at, phrase in enumerate(phrases):
        if phrase.lead_is_stem:
            by_stem.append((phrase.lead, at))
        else:
            by_word.setdefault(phrase.lead, []).append(at)
    if len(_PHRASE_INDEXES) >= _MAX_CACHED_PHRASE_SETS:
        _PHRASE_INDEXES.clear()
    # The entry keeps the tuple alive, so its id cannot be reused while cached.
    _PHRASE_INDEXES[id(phrases)] = (phrases, (by_word, by_stem))
    return by_word, by_stem


def _stem_positions(words: list[str], stem: str) -> list[int]:
    return [at for at, word in enumerate(words) if word.startswith(stem)]


def _word_positions(words: list[str]) -> dict[str, list[int]]:
    positions: dict[str, list[int]] = {}
    for at, word in enumerate(words):
        positions.setdefault(word, []).append(at)
    return positions


def _match_start(comment_words: list[str], phrase: AlarmPhrase, starts: list[int]) -> int | None:
    """Return the first of the ascending ``starts`` where the phrase matches, or None."""
    last_start = len(comment_words) - len(phrase.words)
    return next((start for start in starts if start <= last_start and phrase.matches_at(comment_words, start)),
                None)


def _span_texts(spans: list[tuple[int, int, int]], comment_words: list[list[str]]) -> list[str]:
    """Join each span's words, leaving out spans inside another one and repeated texts."""
    texts = []
    for index, start, end in spans:
        inside = any(other != (index, start, end) and other[0] == index and other[1] <= start and end <= other[2]
                     for other in spans)
        text = " ".join(comment_words[index][start:end])
        if not inside and text not in texts:
            texts.append(text)
    return texts
