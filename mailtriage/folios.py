"""Folios: the codes that tie a patient's reply to the questionnaire it answers.

A folio is 8 characters drawn with ``secrets`` from an alphabet without the
look-alikes 0/O and 1/I/L, so it is unguessable and can be read aloud over
the phone. It is stored with its issuance and shown as ``XXXX-XXXX``.
"""

import secrets
from collections.abc import Callable

from mailtriage.errors import MailtriageError
from mailtriage.i18n import tr

FOLIO_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
FOLIO_LENGTH = 8

# 31**8 is about 8.5e11 folios, so even a few collisions in a row mean the
# random source is broken, not that the space is full.
MAX_FOLIO_ATTEMPTS = 5


class InvalidFolioError(MailtriageError):
    """A folio typed by a user is not 8 characters of the folio alphabet."""


def new_folio() -> str:
    """Return a fresh random folio, without the dash."""
    return "".join(secrets.choice(FOLIO_ALPHABET) for _ in range(FOLIO_LENGTH))


def format_folio(folio: str) -> str:
    """Return the folio as patients see it: ``K7QM-2XPD``."""
    return f"{folio[:4]}-{folio[4:]}"


def normalize_folio(text: str) -> str:
    """Return the stored form of a folio typed in any case, with or without its dash.

    Raises InvalidFolioError when the text is not 8 characters of the alphabet.
    """
    compact = text.strip().upper()
    if len(compact) == FOLIO_LENGTH + 1 and compact[4] == "-":
        compact = compact[:4] + compact[5:]

    invalid = sorted({char for char in compact if char not in FOLIO_ALPHABET})
    if invalid or len(compact) != FOLIO_LENGTH:
        raise InvalidFolioError(tr(
            "folio no válido «{folio}»: debe tener 8 caracteres de {alphabet}, "
            "con o sin guion (ejemplo: K7QM-2XPD)",
            "invalid folio '{folio}': it must be 8 characters of {alphabet}, "
            "with or without a dash (for example K7QM-2XPD)",
            folio=text, alphabet=FOLIO_ALPHABET))
    return compact


def unused_folio(is_taken: Callable[[str], bool], generate: Callable[[], str] = new_folio) -> str:
    """Return a new folio for which ``is_taken`` is false, drawing again on a collision.

    The database's unique constraint still guards against a folio taken by
    another process between this check and the insert.
    """
    for _ in range(MAX_FOLIO_ATTEMPTS):
        folio = generate()
        if not is_taken(folio):
            return folio
    raise MailtriageError(tr(
        "no se pudo generar un folio libre tras {n} intentos; revise la fuente de azar del sistema",
        "could not generate an unused folio after {n} attempts; check the system's random source",
        n=MAX_FOLIO_ATTEMPTS))
