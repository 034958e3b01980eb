"""Text clean-up shared by the reply parser: invisible characters and matching forms."""

import re
import unicodedata
from bisect import bisect_right

# Characters that mail clients insert but a reader never sees: zero-width
# space/joiners, word joiner, soft hyphen, the BOM iOS puts before quotes and
# the emoji variation selector that follows ✔.
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\u00ad\ufeff\ufe0e\ufe0f]")
_SPACES = re.compile("[\u00a0\u2007\u202f\u2002\u2003\u2009\t]")
# Line breaks other than "\r\n" and "\r" that clean_text turns into "\n".
_OTHER_LINE_BREAKS = ("\u2028", "\u2029", "\u0085", "\x0b", "\x0c")
# Marks a character that has no letter or digit in the skeleton form.
SKELETON_GAP = "\x00"


class _FoldTable(dict):
    """A str.translate table that folds each character on first use and caches it."""

    def __missing__(self, code: int) -> str:
        decomposed = unicodedata.normalize("NFKD", chr(code).casefold())
        folded = "".join(char for char in decomposed if not unicodedata.combining(char))
        self[code] = folded
        return folded


class _AlignedTable(dict):
    """Folds to exactly one character, so offsets in the result are offsets in the input."""

    def __missing__(self, code: int) -> str:
        folded = _FOLD_TABLE[code]
        self[code] = folded[0] if folded else " "
        return self[code]


class _SkeletonTable(dict):
    """Folds to one ASCII letter or digit, or SKELETON_GAP for anything else."""

    def __missing__(self, code: int) -> str:
        folded = _FOLD_TABLE[code]
        keep = folded[:1].isascii() and folded[:1].isalnum()
        self[code] = folded[0] if keep else SKELETON_GAP
        return self[code]


_FOLD_TABLE = _FoldTable()
_ALIGNED_TABLE = _AlignedTable()
_SKELETON_TABLE = _SkeletonTable()


def clean_text(text: str) -> str:
    """Return ``text`` in NFC with Unix line ends, plain spaces and no invisible characters."""
    # str.replace() scans in C far faster than the regex, and gives the same
    # text because "\r\n" is replaced before a lone "\r".
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    for line_break in _OTHER_LINE_BREAKS:
        if line_break in text:
            text = text.replace(line_break, "\n")
    if text.isascii():
        return text.replace("\t", " ")
    text = _SPACES.sub(" ", _INVISIBLE.sub("", text))
    return unicodedata.normalize("NFC", text)


def fold(text: str) -> str:
    """Return the matching form of ``text``: case-folded, without accents, spaces collapsed."""
    folded = text.lower() if text.isascii() else text.translate(_FOLD_TABLE)
    # str.split() splits on the characters that the regex \s matches and
    # drops the ends, and costs a third of re.sub() on a short line.
    return " ".join(folded.split())


def fold_aligned(text: str) -> str:
    """Return ``text`` case-folded and without accents, one character for each input character."""
    return text.lower() if text.isascii() else text.translate(_ALIGNED_TABLE)


# Skips ``n`` letters of the skeleton form and the gaps around them: _SKIP_LETTERS[n].
_SKIP_LETTERS = [re.compile(f"(?:{SKELETON_GAP}*[^{SKELETON_GAP}]){{{count}}}{SKELETON_GAP}*")
                 for count in range(64)]


class Skeleton:
    """The folded letters and digits of a text, able to map each one back to its text offset."""

    _CHUNK = 64

    def __init__(self, text: str):
        mapped = _skeleton_mapped(text)
        self.letters = mapped.replace(SKELETON_GAP, "")
        self._mapped = mapped
        # Letters before each chunk of the text, so offset() looks inside one chunk only.
        self._letters_before = [0]
        for start in range(0, len(mapped), self._CHUNK):
            chunk = mapped[start:start + self._CHUNK]
            self._letters_before.append(self._letters_before[-1] + len(chunk) - chunk.count(SKELETON_GAP))

    def offset(self, index: int) -> int:
        """Return the text offset of ``letters[index]``."""
        chunk = bisect_right(self._letters_before, index) - 1
        skip = _SKIP_LETTERS[index - self._letters_before[chunk]]
        return skip.match(self._mapped, chunk * self._CHUNK).end()


def _skeleton_mapped(text: str) -> str:
    """Return ``text.translate(_SKELETON_TABLE)``, faster on a long text that is mostly ASCII."""
    # str.translate() looks a non-ASCII text up character by character in
    # the table. Runs of non-ASCII characters go through the table here,
    # and the rest, all ASCII then, through a byte table in C.
    if not text.isascii():
        text = _NON_ASCII_RUN.sub(_skeleton_run, text)
    return text.encode("ascii").translate(_ASCII_SKELETON_BYTES).decode("ascii")


def _skeleton_run(match: re.Match) -> str:
    # Every skeleton character is ASCII: a letter, a digit or SKELETON_GAP.
    return match.group().translate(_SKELETON_TABLE)


_NON_ASCII_RUN = re.compile("[^\x00-\x7f]+")
# Mapping a skeleton character again leaves it unchanged, so the byte table
# also serves text whose non-ASCII runs are already mapped.
_ASCII_SKELETON_BYTES = bytes(ord(_SKELETON_TABLE[code]) for code in range(128)) + bytes(range(128, 256))


def skeleton_letters(text: str) -> str:
    """Return only the folded letters and digits of ``text``."""
    return text.translate(_SKELETON_TABLE).replace(SKELETON_GAP, "")
