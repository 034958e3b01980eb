"""Enrolment: validate a patient's profile and put the patient under monitoring.

Validation collects every problem of a profile at once, so the CLI and the
list import can show a nurse all that is wrong with one row. Enrolment
stores the patient and sends the first questionnaire in the same step.
"""

import logging
import re
from dataclasses import dataclass, field
from datetime import date

from mailtriage import audit, clock
from mailtriage.display_names import FIELD_NAMES, display_name
from mailtriage.errors import MailtriageError
from mailtriage.i18n import tr
from mailtriage.models import Patient, Unit, database_proxy
# The rule parameters import COMORBIDITIES from here.
from mailtriage.profile_fields import (  # noqa: F401
    COMORBIDITIES, check_single_line, parse_comorbidities, parse_date, parse_flag, plain_key,
)

log = logging.getLogger("mailtriage.enrolment")

SEXES = {"f": "F", "femenino": "F", "mujer": "F", "female": "F",
         "m": "M", "masculino": "M", "hombre": "M", "male": "M"}

# A Mexican NSS (número de seguridad social) has 11 digits.
NSS_PATTERN = re.compile(r"^\d{11}$")
# A practical check, not RFC 5322: one @, no spaces, a dot in the domain.
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Mexican numbers have ten digits, and more with the +52 country code.
MIN_PHONE_DIGITS = 10
MAX_AGE_YEARS = 120
BASELINE_SPO2_RANGE = (50, 100)


class EnrolmentError(MailtriageError):
    """An enrolment that failed validation or duplicates a patient, with every reason in ``problems``."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass
class Profile:
    """A validated enrolment profile, ready to store."""

    first_name: str
    last_name: str
    birth_date: date
    sex: str
    email: str
    phone: str
    unit_code: str
    onset_date: date | None = None
    pregnant: bool = False
    delivery_date: date | None = None
    comorbidities: list[str] = field(default_factory=list)
    alt_contact: str = ""
    has_oximeter: bool = False
    baseline_spo2: int | None = None
    social_security_number: str | None = None
    language: str = "es"


def field_label(key: str) -> str:
    return display_name(FIELD_NAMES, key)


def _text(raw: dict, key: str) -> str:
    value = raw.get(key)
    return "" if value is None else str(value).strip()


def _check_names_and_contact(raw: dict, problems: list[str]) -> dict:
    values = {key: _text(raw, key) for key in ("first_name", "last_name", "phone", "alt_contact")}
    if not values["first_name"]:
        problems.append(tr("falta el nombre", "the first name is missing"))
    if not values["last_name"]:
        problems.append(tr("faltan los apellidos", "the last name is missing"))

    email = _text(raw, "email").lower()
    if not EMAIL_PATTERN.match(email):
        problems.append(tr("correo electrónico no válido «{v}»", "invalid email address '{v}'",
                           v=email))
    values["email"] = email

    digits = re.sub(r"\D", "", values["phone"])
    if len(digits) < MIN_PHONE_DIGITS:
        problems.append(tr("teléfono no válido «{v}» (al menos 10 dígitos)",
                           "invalid phone number '{v}' (at least 10 digits)", v=values["phone"]))
    return values


def _check_sex_and_dates(raw: dict, today: date, problems: list[str]) -> dict:
    sex = SEXES.get(plain_key(_text(raw, "sex")))
    if sex is None:
        problems.append(tr("sexo no válido «{v}» (use F o M)", "invalid sex '{v}' (use F or M)",
                           v=_text(raw, "sex")))

    birth = parse_date(raw.get("birth_date"), field_label("birth_date"), problems)
    if birth is None and not raw.get("birth_date"):
        problems.append(tr("falta la fecha de nacimiento", "the birth date is missing"))
    elif birth and not (0 <= (today - birth).days <= MAX_AGE_YEARS * 366):
        problems.append(tr("fecha de nacimiento fuera de rango: {v}",
                           "birth date out of range: {v}", v=birth.isoformat()))

    onset = parse_date(raw.get("onset_date"), field_label("onset_date"), problems)
    if onset and (onset > today or (birth and onset < birth)):
        problems.append(tr("inicio de síntomas fuera de rango: {v}",
                           "symptom onset out of range: {v}", v=onset.isoformat()))
    return {"sex": sex or "", "birth_date": birth, "onset_date": onset}


def _check_pregnancy(raw: dict, sex: str, today: date, problems: list[str]) -> dict:
    pregnant = parse_flag(raw.get("pregnant"), field_label("pregnant"), problems)
    delivery = parse_date(raw.get("delivery_date"), field_label("delivery_date"), problems)
    if (pregnant or delivery) and sex == "M":
        problems.append(tr("embarazo o parto registrado con sexo M",
                           "pregnancy or delivery recorded for sex M"))
    if delivery and delivery > today:
        problems.append(tr("la fecha de parto no puede ser futura: {v}",
                           "the delivery date cannot be in the future: {v}", v=delivery.isoformat()))
    return {"pregnant": pregnant, "delivery_date": delivery}


def _check_clinical(raw: dict, problems: list[str]) -> dict:
    # NOTE: nothing checks that whoever sets baseline_spo2 is a physician, because
    # the CLI has no roles. The audit event records who changed the field.
    baseline = None
    text = _text(raw, "baseline_spo2")
    if text:
        try:
            baseline = int(float(text)) if float(text).is_integer() else None
        except ValueError:
            baseline = None
        low, high = BASELINE_SPO2_RANGE
        if baseline is None or not low <= baseline <= high:
            problems.append(tr("SpO2 basal no válida «{v}» (número entero de 50 a 100)",
                               "invalid baseline SpO2 '{v}' (a whole number from 50 to 100)", v=text))
            baseline = None

    return {
        "comorbidities": parse_comorbidities(raw.get("comorbidities"), problems),
        "has_oximeter": parse_flag(raw.get("has_oximeter"), field_label("has_oximeter"), problems),
        "baseline_spo2": baseline,
    }


def find_unit_code(config, text: str) -> str | None:
    """Return the configured code of the unit ``text`` names, ignoring case (umf-12 is UMF-12)."""
    requested = text.strip().casefold()
    return next((unit.code for unit in config.units if unit.code.casefold() == requested), None)


def unknown_unit_message(config, text: str) -> str:
    return tr("unidad desconocida «{v}» (configuradas: {ok})", "unknown unit '{v}' (configured: {ok})",
              v=text, ok=", ".join(unit.code for unit in config.units) or "-")


def _check_unit_and_ids(raw: dict, config, problems: list[str]) -> dict:
    unit_code = find_unit_code(config, _text(raw, "unit"))
    if unit_code is None:
        problems.append(unknown_unit_message(config, _text(raw, "unit")))
        unit_code = _text(raw, "unit")

    nss = re.sub(r"[\s\-]", "", _text(raw, "social_security_number")) or None
    if nss and not NSS_PATTERN.match(nss):
        problems.append(tr("NSS no válido «{v}» (11 dígitos)", "invalid NSS '{v}' (11 digits)", v=nss))

    language = _text(raw, "language") or config.language
    if language not in ("es", "en"):
        problems.append(tr("idioma no válido «{v}» (es o en)", "invalid language '{v}' (es or en)",
                           v=language))
    return {"unit_code": unit_code, "social_security_number": nss, "language": language}


def validate_profile(raw: dict, config, today: date | None = None) -> Profile:
    """Check every field of an enrolment and return the profile, or raise EnrolmentError with all problems.

    ``raw`` maps field names (as in Profile, with ``unit`` for the unit code)
    to text typed by staff or cells read from a spreadsheet.
    """
    today = today or clock.now().date()
    problems: list[str] = []

    check_single_line(raw, problems)
    values = _check_names_and_contact(raw, problems)
    values.update(_check_sex_and_dates(raw, today, problems))
    values.update(_check_pregnancy(raw, values["sex"], today, problems))
    values.update(_check_clinical(raw, problems))
    values.update(_check_unit_and_ids(raw, config, problems))

    if problems:
        raise EnrolmentError(problems)
    return Profile(**values)


def find_duplicate(profile: Profile, exclude_id: int | None = None) -> str | None:
    """Return why ``profile`` duplicates a patient under monitoring, or None."""
    monitored = Patient.select().where(Patient.status == "monitoring")
    if exclude_id is not None:
        monitored = monitored.where(Patient.id != exclude_id)

    if profile.social_security_number:
        same = monitored.where(Patient.social_security_number == profile.social_security_number).first()
        if same:
            return tr("ya hay un paciente en seguimiento con ese NSS (paciente {id})",
                      "a patient under monitoring already has that NSS (patient {id})", id=same.id)

    same = monitored.where(Patient.email == profile.email).first()
    if same:
        return tr("ya hay un paciente en seguimiento con ese correo (paciente {id})",
                  "a patient under monitoring already has that email address (patient {id})",
                  id=same.id)
    return None


def profile_fields(profile: Profile) -> dict:
    """Return the Patient columns of a profile."""
    fields = dict(profile.__dict__)
    fields["unit"] = Unit.get(Unit.code == fields.pop("unit_code"))
    return fields


def enrol_patient(profile: Profile, config, actor: str) -> Patient:
    """Store the patient, record the audit event and send the welcome and first questionnaire.

    All of it happens in one transaction, so a failure leaves no half-enrolled patient.
    """
    with database_proxy.atomic():
        duplicate = find_duplicate(profile)
        if duplicate:
            raise EnrolmentError([duplicate])

        patient = Patient.create(enrolled_at=clock.now(), enrolled_by=actor,
                                 status="monitoring", **profile_fields(profile))
        audit.record(actor, audit.ENROL, patient, unit=profile.unit_code)
        send_first_questionnaire(patient, config)

    log.info("patient %s enrolled in unit %s", patient.id, profile.unit_code)
    return patient


def send_first_questionnaire(patient: Patient, config) -> None:
    """Queue the welcome and the first questionnaire through the questionnaire module."""
    from mailtriage.questionnaires import issue_questionnaire

    unit = config.unit(patient.unit.code)
    issue_questionnaire(patient, unit, config, kind="enrolment")


def current_fields(patient: Patient) -> dict:
    """Return a patient's stored profile in the form validate_profile reads."""
    fields = {name: getattr(patient, name) for name in Profile.__dataclass_fields__ if name != "unit_code"}
    fields["unit"] = patient.unit.code
    fields["social_security_number"] = patient.social_security_number or ""
    return fields


def edit_patient(patient: Patient, changes: dict, config, actor: str) -> list[str]:
    """Validate the profile with ``changes`` applied, store it and return the names of changed fields.

    The audit event names the changed fields only, not their old or new values.
    """
    merged = current_fields(patient) | changes
    profile = validate_profile(merged, config)
    new_values = profile_fields(profile)
    changed = [name for name, value in new_values.items() if getattr(patient, name) != value]
    if not changed:
        return []

    with database_proxy.atomic():
        duplicate = find_duplicate(profile, exclude_id=patient.id)
        if duplicate:
            raise EnrolmentError([duplicate])
        for name in changed:
            setattr(patient, name, new_values[name])
        patient.save()
        audit.record(actor, audit.EDIT, patient, fields=sorted(changed))
    return changed
