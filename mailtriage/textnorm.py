"""Text clean-up shared by the reply parser: invisible characters and matching forms."""

import re
import unicodedata

# Characters that mail clients insert but a reader never sees: zero-width
# space/joiners, word joiner, soft hyphen, the BOM iOS puts before quotes and
# the emoji variation selector that follows ✔.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\u00ad\ufeff\ufe0e\ufe0f"))
_SPACES = dict.fromkeys(map(ord, "\u00a0\u2007\u202f\u2002\u2003\u2009\t"), " ")
_LINE_BREAKS = dict.fromkeys(map(ord, "\u2028\u2029\u0085\x0b\x0c"), "\n")
_WHITESPACE_RUN = re.compile(r"\s+")


def clean_text(text: str) -> str:
    """Return ``text`` in NFC with Unix line ends, plain spaces and no invisible characters."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.translate(_INVISIBLE).translate(_SPACES).translate(_LINE_BREAKS)
    return unicodedata.normalize("NFC", text)


def fold(text: str) -> str:
    """Return the matching form of ``text``: case-folded, without accents, spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _WHITESPACE_RUN.sub(" ", bare).strip()
