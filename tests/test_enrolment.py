"""Enrolment: profile validation, duplicates, and the first questionnaire sent at once."""

import pytest

from mailtriage.enrolment import EnrolmentError, edit_patient, validate_profile
from mailtriage.models import AuditEvent, Issuance, OutboxMessage, Patient

from staffing import PROFILE, close_store, enrol, open_store


@pytest.fixture
def config(make_config):
    yield open_store(make_config)
    close_store()


def problems_of(config, **changes):
    with pytest.raises(EnrolmentError) as caught:
        validate_profile(PROFILE | changes, config)
    return caught.value.problems


def test_valid_profile_normalises_fields(config):
    profile = validate_profile(PROFILE | {
        "email": "Ana.Lopez@Example.ORG", "sex": "mujer", "birth_date": "02/05/1980",
        "comorbidities": "Hipertensión, EPOC, diabetes", "social_security_number": "1234-56-78901",
        "baseline_spo2": "88", "onset_date": "2026-12-01"}, config)

    assert profile.email == "ana.lopez@example.org"
    assert profile.sex == "F"
    assert profile.birth_date.isoformat() == "1980-05-02"
    assert profile.comorbidities == ["hypertension", "copd", "diabetes"]
    assert profile.social_security_number == "12345678901"
    assert profile.baseline_spo2 == 88
    assert profile.has_oximeter is True
    assert profile.onset_date.isoformat() == "2026-12-01"


def test_every_problem_reported_at_once(config):
    problems = problems_of(config, first_name="", birth_date="31/02/1980", sex="x", phone="612",
                           email="sin-arroba", comorbidities="gota", baseline_spo2="101",
                           unit="UMF-99", social_security_number="123")

    text = " | ".join(problems)
    assert len(problems) == 9
    assert "falta el nombre" in text
    assert "fecha no válida «31/02/1980»" in text
    assert "sexo no válido «x»" in text
    assert "teléfono no válido «612»" in text
    assert "correo electrónico no válido «sin-arroba»" in text
    assert "comorbilidad desconocida «gota»" in text
    assert "SpO2 basal no válida «101»" in text
    assert "unidad desconocida «UMF-99»" in text
    assert "NSS no válido «123»" in text


@pytest.mark.parametrize("value", ["49", "100.5", "noventa"])
def test_baseline_spo2_outside_range_rejected(config, value):
    assert problems_of(config, baseline_spo2=value)


def test_pregnancy_rejected_for_male(config):
    problems = problems_of(config, sex="M", pregnant="sí")

    assert problems == ["embarazo o parto registrado con sexo M"]


def test_future_onset_rejected(config):
    assert "inicio de síntomas fuera de rango" in problems_of(config, onset_date="2027-01-01")[0]


def test_enrolment_queues_welcome_questionnaire(config):
    patient = enrol(config)

    issuance = Issuance.get(Issuance.patient == patient)
    outbox = OutboxMessage.get(OutboxMessage.issuance == issuance)
    assert issuance.kind == "enrolment"
    assert outbox.kind == "welcome"
    assert outbox.to_address == "ana.lopez@example.org"
    assert issuance.folio.upper() in outbox.subject.replace("-", "").upper()
    assert patient.status == "monitoring"
    assert patient.enrolled_by == "enfermera"


def test_enrolment_audited_without_personal_data(config):
    patient = enrol(config, social_security_number="12345678901")

    event = AuditEvent.get(AuditEvent.patient == patient)
    assert event.action == "enrol"
    assert event.actor == "enfermera"
    assert event.detail == {"unit": "UMF-34"}


def test_duplicate_email_rejected(config):
    first = enrol(config)

    with pytest.raises(EnrolmentError, match=f"paciente {first.id}"):
        enrol(config, email="ANA.LOPEZ@example.org", first_name="Otra")
    assert Patient.select().count() == 1


def test_duplicate_nss_rejected(config):
    enrol(config, social_security_number="12345678901")

    with pytest.raises(EnrolmentError, match="NSS"):
        enrol(config, social_security_number="12345678901", email="otra@example.org")


def test_discharged_patient_can_be_enrolled_again(config):
    first = enrol(config)
    Patient.update(status="discharged").where(Patient.id == first.id).execute()

    second = enrol(config)

    assert second.id != first.id


def test_edit_records_changed_field_names(config):
    patient = enrol(config)

    changed = edit_patient(patient, {"phone": "612 999 0000", "baseline_spo2": "90"}, config, "médico")

    assert sorted(changed) == ["baseline_spo2", "phone"]
    stored = Patient.get_by_id(patient.id)
    assert stored.phone == "612 999 0000"
    assert stored.baseline_spo2 == 90
    event = AuditEvent.select().where(AuditEvent.action == "edit").get()
    assert event.detail == {"fields": ["baseline_spo2", "phone"]}


def test_edit_rejects_invalid_value(config):
    patient = enrol(config)

    with pytest.raises(EnrolmentError):
        edit_patient(patient, {"birth_date": "ayer"}, config, "médico")
    assert Patient.get_by_id(patient.id).birth_date.isoformat() == "1980-05-02"


def test_unit_code_matched_ignoring_case(config):
    profile = validate_profile(PROFILE | {"unit": " umf-34 "}, config)

    assert profile.unit_code == "UMF-34"


@pytest.mark.parametrize("field", ["first_name", "last_name", "alt_contact", "phone"])
def test_line_break_in_text_rejected(config, field):
    problems = problems_of(config, **{field: PROFILE[field] + "\nBcc: x@example.org"})

    assert any("contiene un salto de línea" in problem for problem in problems)


def test_comorbidities_by_display_name(config):
    profile = validate_profile(
        PROFILE | {"comorbidities": "EPOC, chronic kidney disease, Enfermedad hepática"}, config)

    assert profile.comorbidities == ["copd", "ckd", "liver_disease"]


def test_problems_name_fields_from_table(config):
    problems = problems_of(config, has_oximeter="quizá", onset_date="ayer")

    assert "oxímetro: use sí o no, no «quizá»" in problems
    assert any(problem.startswith("inicio de síntomas: fecha no válida «ayer»") for problem in problems)
