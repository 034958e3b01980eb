"""The audit trail: every staff action recorded by ids and field names, listed by the CLI."""

from datetime import timedelta

import pytest
from click.testing import CliRunner

from mailtriage import audit, clock
from mailtriage.calls import log_call
from mailtriage.cli import build_cli
from mailtriage.discharge import discharge_patient
from mailtriage.enrolment import edit_patient
from mailtriage.models import AuditEvent

from staffing import PROFILE, add_report, close_store, enrol, open_store


@pytest.fixture
def config(make_config):
    yield open_store(make_config)
    close_store()


def run(config, *arguments):
    return CliRunner().invoke(build_cli(), ["--config", str(config.path), *arguments])


def test_actor_defaults_to_os_user():
    assert audit.current_actor("  Dra. Ruiz ") == "Dra. Ruiz"
    assert audit.current_actor(None)


def test_staff_actions_recorded_in_order(config):
    patient = enrol(config)
    add_report(patient, "amarillo", "N")
    clock.advance(timedelta(minutes=5))
    edit_patient(patient, {"phone": "612 000 1111"}, config, "enfermera")
    clock.advance(timedelta(minutes=5))
    log_call(patient.id, "contestada", "", "enfermera")
    clock.advance(timedelta(minutes=5))
    discharge_patient(patient.id, "recuperado", "Dra. Ruiz")

    actions = [event.action for event in audit.list_events(patient.id)]
    assert actions == ["enrol", "edit", "call", "discharge"]


def test_detail_holds_no_personal_values(config):
    patient = enrol(config, social_security_number="12345678901")
    edit_patient(patient, {"email": "nuevo@example.org", "comorbidities": "diabetes"}, config, "enf")

    stored = " ".join(str(event.detail) for event in AuditEvent.select())
    for value in ("nuevo@example.org", "12345678901", PROFILE["phone"], "Ana", "diabetes"):
        assert value not in stored


def test_since_filter(config):
    enrol(config)
    clock.advance(timedelta(days=2))
    later = enrol(config, email="otra@example.org")

    events = audit.list_events(since=clock.now() - timedelta(hours=1))

    assert [event.patient_id for event in events] == [later.id]


def test_cli_lists_events_of_patient(config):
    first = enrol(config)
    enrol(config, email="otra@example.org")

    result = run(config, "audit", "--patient", str(first.id))

    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert "enfermera  registro  paciente 1  unidad: UMF-34" in lines[0]


def test_cli_names_actions_and_details(config):
    patient = enrol(config)
    edit_patient(patient, {"phone": "612 000 1111", "comorbidities": "EPOC"}, config, "enfermera")
    add_report(patient, "amarillo", "N")
    log_call(patient.id, "no_answer", "", "enfermera")
    discharge_patient(patient.id, "defunción", "Dra. Ruiz", force=True)

    result = run(config, "audit", "--patient", str(patient.id))

    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert "corrección  paciente 1  campos: comorbilidades, teléfono" in lines[1]
    assert "llamada  paciente 1" in lines[2]
    assert "resultado: sin respuesta" in lines[2]
    assert "alta médica  paciente 1" in lines[3]
    assert "forzada: sí" in lines[3]
    assert "motivo: defunción" in lines[3]
    for code in ("phone", "sin_respuesta", "defuncion", "True", "discharge "):
        assert code not in result.output


def test_detail_text_in_english():
    from mailtriage.i18n import set_language

    set_language("en")
    try:
        text = audit.detail_text({"fields": ["alt_contact"], "reason": "recuperado", "forced": False})
    finally:
        set_language("es")

    assert text == "fields: alternative contact; forced: no; reason: recovered"


def test_cli_since_in_local_dates(config):
    enrol(config)

    result = run(config, "audit", "--since", "2026-12-05")

    assert result.output.strip() == "No hay acciones registradas."
