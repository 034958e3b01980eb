"""Readers of single enrolment fields, as staff type them or spreadsheets store them.

Each reader appends a problem in the staff's language to ``problems``
instead of raising, so validation can report every problem of a row at once.
"""

import re
import unicodedata
from datetime import date, datetime

from mailtriage.display_names import COMORBIDITY_NAMES, FIELD_NAMES, display_list, display_name
from mailtriage.i18n import tr

COMORBIDITIES = tuple(COMORBIDITY_NAMES)

# More names staff type, after accents are removed and spaces become underscores.
# The display names of COMORBIDITY_NAMES, in both languages, are accepted as well.
SPANISH_COMORBIDITIES = {
    "hipertension_arterial": "hypertension", "has": "hypertension",
    "cardiopatia": "cardiovascular",
    "erc": "ckd", "insuficiencia_renal": "ckd",
    "vih": "immunosuppression",
    "hepatopatia": "liver_disease",
    "neurologica": "neuro_cerebrovascular",
    "otra": "other_comorbidity",
}

# Cell values read as yes and no, after plain_key(); an empty cell is no.
YES = {"si", "s", "yes", "y", "true", "1", "x"}
NO = {"no", "n", "false", "0", ""}


def plain_key(text: str) -> str:
    """Lowercase ``text`` without accents, with spaces and dashes as underscores."""
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return re.sub(r"[\s\-]+", "_", stripped)


def parse_date(value, label: str, problems: list[str]) -> date | None:
    """Read an ISO (2026-12-04) or Mexican (04/12/2026) date, and record a problem when invalid."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value

    text = str(value).strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    problems.append(tr("{campo}: fecha no válida «{v}» (use AAAA-MM-DD o DD/MM/AAAA)",
                       "{campo}: invalid date '{v}' (use YYYY-MM-DD or DD/MM/YYYY)",
                       campo=label, v=text))
    return None


def parse_flag(value, label: str, problems: list[str]) -> bool:
    """Read sí/no, yes/no, true/false, 1/0 or a spreadsheet boolean."""
    if isinstance(value, bool):
        return value
    text = plain_key(str(value if value is not None else ""))
    if text in YES:
        return True
    if text in NO:
        return False
    problems.append(tr("{campo}: use sí o no, no «{v}»", "{campo}: use yes or no, not '{v}'",
                       campo=label, v=value))
    return False


def _comorbidity_lookup() -> dict[str, str]:
    """Map every accepted comorbidity name, as plain_key() writes it, to its stored code."""
    lookup = {code: code for code in COMORBIDITIES} | SPANISH_COMORBIDITIES
    for code, names in COMORBIDITY_NAMES.items():
        lookup.update({plain_key(name): code for name in names})
    return lookup


COMORBIDITY_LOOKUP = _comorbidity_lookup()


def parse_comorbidities(value, problems: list[str]) -> list[str]:
    """Read a comma-separated list of comorbidities named in Spanish or English."""
    items = value if isinstance(value, (list, tuple)) else str(value or "").split(",")
    flags = []
    for item in items:
        name = plain_key(str(item))
        if not name or name in ("ninguna", "none"):
            continue
        flag = COMORBIDITY_LOOKUP.get(name)
        if flag is None:
            problems.append(tr("comorbilidad desconocida «{v}» (válidas: {ok})",
                               "unknown comorbidity '{v}' (valid: {ok})",
                               v=str(item).strip(), ok=display_list(COMORBIDITY_NAMES, COMORBIDITIES)))
        elif flag not in flags:
            flags.append(flag)
    return flags


def check_single_line(raw: dict, problems: list[str]) -> None:
    # A line break or control character in a name would break the CSV
    # exports, the call list and the headers of the mail sent to the patient.
    for key, value in raw.items():
        if isinstance(value, str) and any(_is_control(char) for char in value.strip()):
            problems.append(tr("{campo}: contiene un salto de línea o un carácter de control; "
                               "escríbalo en una sola línea",
                               "{campo}: contains a line break or a control character; "
                               "write it on one line", campo=display_name(FIELD_NAMES, key)))


def _is_control(char: str) -> bool:
    # Category Cc contains the C0 and C1 controls, CR, LF and tab among them. Zl and Zp
    # are the Unicode line and paragraph separators, which some editors also break on.
    return unicodedata.category(char) in ("Cc", "Zl", "Zp")
