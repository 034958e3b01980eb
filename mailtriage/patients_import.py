"""Import of a day's enrolment list from CSV or XLSX.

Every row is validated before anything is stored, and every bad row is
reported with its line number and reasons. Unless the caller skips invalid
rows, one bad row stops the whole import, so a list is never half-loaded.
"""

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from mailtriage import audit
from mailtriage.enrolment import (
    EnrolmentError, Profile, enrol_patient, find_duplicate, validate_profile,
)
from mailtriage.errors import MailtriageError
from mailtriage.i18n import describe_os_error, tr
from mailtriage.models import database_proxy
from mailtriage.profile_fields import plain_key

# Column headers staff may use, Spanish or English, as plain_key() writes them, to profile fields.
HEADERS = {
    "nombre": "first_name", "nombres": "first_name", "first_name": "first_name",
    "apellidos": "last_name", "apellido": "last_name", "last_name": "last_name",
    "fecha_de_nacimiento": "birth_date", "fecha_nacimiento": "birth_date", "birth_date": "birth_date",
    "sexo": "sex", "sex": "sex",
    "inicio_de_sintomas": "onset_date", "inicio_sintomas": "onset_date", "onset_date": "onset_date",
    "embarazo": "pregnant", "embarazada": "pregnant", "pregnant": "pregnant",
    "fecha_de_parto": "delivery_date", "fecha_parto": "delivery_date", "delivery_date": "delivery_date",
    "comorbilidades": "comorbidities", "comorbidities": "comorbidities",
    "unidad": "unit", "unit": "unit",
    "correo": "email", "correo_electronico": "email", "email": "email",
    "telefono": "phone", "phone": "phone",
    "contacto_alterno": "alt_contact", "alt_contact": "alt_contact",
    "oximetro": "has_oximeter", "tiene_oximetro": "has_oximeter", "has_oximeter": "has_oximeter",
    "spo2_basal": "baseline_spo2", "baseline_spo2": "baseline_spo2",
    "nss": "social_security_number", "social_security_number": "social_security_number",
    "idioma": "language", "language": "language",
}


# The delimiters spreadsheets write in CSV files. The semicolon is used where
# the decimal mark is a comma, and tab for "text (tab delimited)" files.
DELIMITERS = (",", ";", "\t")
# Control characters that no spreadsheet writes into CSV text, so they mark a
# binary file. Tab, line feed and carriage return are left out because CSV
# itself uses them. Inside a value, the enrolment checks reject them.
BINARY_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class ImportFileError(MailtriageError):
    """The list file cannot be read, or it has invalid rows and invalid rows are not skipped."""


@dataclass
class ImportPlan:
    """The rows of a list file after validation: what can be enrolled, and what cannot, by line."""

    valid: list[tuple[int, Profile]] = field(default_factory=list)
    invalid: list[tuple[int, str]] = field(default_factory=list)


def read_rows(path: Path) -> list[tuple[int, dict]]:
    """Return (line number, {field: cell}) for every non-empty data row of a CSV or XLSX file."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        line_rows = _read_xlsx(path)
    elif path.suffix.lower() in (".csv", ".txt"):
        line_rows = _read_csv(path)
    else:
        raise ImportFileError(tr("{f}: formato no reconocido; use .csv o .xlsx",
                                 "{f}: unrecognised format; use .csv or .xlsx", f=path.name))
    if not line_rows:
        raise ImportFileError(tr("{f}: el archivo está vacío", "{f}: the file is empty", f=path.name))

    (_, header), *data = line_rows
    columns = _map_header(header, path)
    rows = []
    for line, cells in data:
        if all(cell in (None, "") for cell in cells):
            continue
        raw = {name: cells[index] if index < len(cells) else None for index, name in columns.items()}
        rows.append((line, _restore_leading_zeros(raw)))
    return rows


def _restore_leading_zeros(raw: dict) -> dict:
    # A spreadsheet stores an NSS typed as a number without its leading zeros.
    nss = raw.get("social_security_number")
    if isinstance(nss, int) and not isinstance(nss, bool) and 0 <= nss < 10**11:
        raw["social_security_number"] = f"{nss:011d}"
    return raw


def _map_header(header: list, path: Path) -> dict[int, str]:
    columns, unknown = {}, []
    for index, title in enumerate(header):
        name = HEADERS.get(plain_key(str(title or "")))
        if name:
            columns[index] = name
        elif title not in (None, ""):
            unknown.append(str(title))
    if unknown:
        raise ImportFileError(tr("{f}: columnas desconocidas: {c}", "{f}: unknown columns: {c}",
                                 f=path.name, c=", ".join(unknown)))
    return columns


def _read_csv(path: Path) -> list[tuple[int, list]]:
    text = _decode_csv(path)
    delimiter = _guess_delimiter(text)
    # Standard CSV quoting (RFC 4180, the csv module's "excel" dialect): a quote
    # inside a quoted field is doubled, and a quoted field may hold the delimiter.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows = []
    while True:
        # A quoted field may span lines, so an error names the line where its row starts.
        first_line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return rows
        except csv.Error as exc:
            raise ImportFileError(tr(
                "{f}, línea {n}: no se pudo leer la fila CSV; revise sus comillas (una comilla "
                "dentro de un campo entre comillas se escribe doble: \"\")",
                "{f}, line {n}: cannot read the CSV row; check its quotes (a quote inside a "
                "quoted field is written twice: \"\")", f=path.name, n=first_line)) from exc
        rows.append((first_line, row))


def _decode_csv(path: Path) -> str:
    """Return the file's text, read as UTF-8 (with or without BOM) or else Windows-1252."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportFileError(tr("{f}: no se pudo abrir el archivo ({e})", "{f}: cannot open the file ({e})",
                                 f=path.name, e=describe_os_error(exc))) from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel for Windows in Mexico saves "CSV" in Windows-1252.
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise _not_text_error(path, data.count(b"\n", 0, exc.start) + 1) from exc

    binary = BINARY_CHARACTERS.search(text)
    if binary:
        raise _not_text_error(path, text.count("\n", 0, binary.start()) + 1)
    return text


def _not_text_error(path: Path, line: int) -> ImportFileError:
    return ImportFileError(tr(
        "{f}, línea {n}: el archivo no es texto CSV (tiene bytes binarios); guarde la lista "
        "como CSV UTF-8 o como libro de Excel (.xlsx)",
        "{f}, line {n}: the file is not CSV text (it has binary bytes); save the list as "
        "CSV UTF-8 or as an Excel workbook (.xlsx)", f=path.name, n=line))


def _guess_delimiter(text: str) -> str:
    """Return the delimiter among comma, semicolon and tab that splits the header into most columns.

    Only the delimiter is guessed. csv.Sniffer also guesses the quoting, and
    from a header without quotes it turns doublequote off, which mangles a
    later field such as "Juan ""Güero"" Paz, 612...".
    """
    header = text.split("\n", 1)[0]
    counts = {delimiter: len(next(csv.reader([header], delimiter=delimiter), []))
              for delimiter in DELIMITERS}
    return max(DELIMITERS, key=lambda delimiter: counts[delimiter])


def _read_xlsx(path: Path) -> list[tuple[int, list]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except OSError as exc:
        raise ImportFileError(tr("{f}: no se pudo abrir el archivo ({e})", "{f}: cannot open the file ({e})",
                                 f=path.name, e=describe_os_error(exc))) from exc
    except Exception as exc:
        # openpyxl raises zipfile, XML, key and value errors, among others, on a damaged workbook.
        raise _not_workbook_error(path) from exc
    try:
        sheet = workbook.worksheets[0]
        return [(number, list(row)) for number, row in enumerate(sheet.iter_rows(values_only=True), 1)]
    except Exception as exc:
        # In read-only mode the sheet's XML is parsed while its rows are read.
        raise _not_workbook_error(path) from exc
    finally:
        workbook.close()


def _not_workbook_error(path: Path) -> ImportFileError:
    return ImportFileError(tr(
        "{f}: no es un libro de Excel válido; ábralo en Excel y guárdelo de nuevo como .xlsx "
        "o como CSV UTF-8",
        "{f}: not a valid Excel workbook; open it in Excel and save it again as .xlsx or as "
        "CSV UTF-8", f=path.name))


def plan_import(path: Path, config) -> ImportPlan:
    """Validate every row of the file and sort the rows into valid and invalid.

    A row that repeats the email or NSS of an earlier row, or of a patient
    under monitoring, is invalid.
    """
    plan = ImportPlan()
    seen_emails, seen_nss = {}, {}
    for line, raw in read_rows(path):
        try:
            profile = validate_profile(raw, config)
        except EnrolmentError as exc:
            plan.invalid.append((line, "; ".join(exc.problems)))
            continue

        reason = find_duplicate(profile) or _repeated_in_file(profile, line, seen_emails, seen_nss)
        if reason:
            plan.invalid.append((line, reason))
            continue
        plan.valid.append((line, profile))
    return plan


def _repeated_in_file(profile: Profile, line: int, seen_emails: dict, seen_nss: dict) -> str | None:
    if profile.email in seen_emails:
        return tr("correo repetido en la línea {n}", "email repeated from line {n}",
                  n=seen_emails[profile.email])
    nss = profile.social_security_number
    if nss and nss in seen_nss:
        return tr("NSS repetido en la línea {n}", "NSS repeated from line {n}", n=seen_nss[nss])
    seen_emails[profile.email] = line
    if nss:
        seen_nss[nss] = line
    return None


def run_import(plan: ImportPlan, config, actor: str, source: str, progress=None) -> list[int]:
    """Enrol every valid row in one transaction and return the new patient ids.

    ``progress`` is called once per row enrolled, for a progress bar.
    """
    patient_ids = []
    with database_proxy.atomic():
        for _line, profile in plan.valid:
            patient_ids.append(enrol_patient(profile, config, actor).id)
            if progress:
                progress(1)
        audit.record(actor, audit.IMPORT, None, file=source, enrolled=len(patient_ids),
                     skipped_lines=[line for line, _ in plan.invalid])
    return patient_ids
