"""The call list: who waits, in which order, and which logged calls close an entry."""

from datetime import timedelta

import pytest

from mailtriage import audit, clock
from mailtriage.calls import CallError, call_list, log_call, open_rule_entry
from mailtriage.errors import NotFoundError
from mailtriage.models import AuditEvent, CallListEntry

from staffing import add_report, close_store, enrol, open_store


@pytest.fixture
def config(make_config):
    yield open_store(make_config)
    close_store()


def waiting_ids():
    return [item.patient.id for item in call_list()]


def test_green_report_not_listed(config):
    add_report(enrol(config), "verde")

    assert call_list() == []


def test_yellow_report_listed_with_reasons(config):
    patient = enrol(config)
    add_report(patient, "amarillo", "N", ["Pide llamada"])

    (item,) = call_list()
    assert item.patient.id == patient.id
    assert item.rank == 2
    assert item.entries[0].reasons == ["Pide llamada"]


def test_order_red_then_a_then_longest_wait(config):
    normal_old = enrol(config, email="n1@example.org")
    normal_new = enrol(config, email="n2@example.org")
    high = enrol(config, email="a@example.org")
    red = enrol(config, email="r@example.org")
    add_report(normal_old, "amarillo", "N", at=clock.now() - timedelta(hours=3))
    add_report(normal_new, "amarillo", "N", at=clock.now() - timedelta(hours=1))
    add_report(high, "amarillo", "A", at=clock.now() - timedelta(minutes=10))
    add_report(red, "rojo", at=clock.now() - timedelta(minutes=5))

    assert waiting_ids() == [red.id, high.id, normal_old.id, normal_new.id]


def test_later_green_report_keeps_entry(config):
    patient = enrol(config)
    add_report(patient, "amarillo", "A", at=clock.now() - timedelta(hours=2))
    add_report(patient, "verde")

    assert waiting_ids() == [patient.id]


def test_answered_call_closes_yellow_entry(config):
    patient = enrol(config)
    add_report(patient, "amarillo", "N")

    call, closed = log_call(patient.id, "contestada", "Se siente mejor", "enfermera")

    assert call.answered is True
    assert len(closed) == 1
    assert closed[0].closing_call.id == call.id
    assert call_list() == []


def test_unanswered_call_counts_attempt(config):
    patient = enrol(config)
    add_report(patient, "amarillo", "N")

    _, closed = log_call(patient.id, "no_answer", "", "enfermera")

    assert closed == []
    (item,) = call_list()
    assert item.attempts == 1


def test_answered_call_keeps_red_entry(config):
    patient = enrol(config)
    add_report(patient, "rojo")

    _, closed = log_call(patient.id, "enviado_a_urgencias", "Va en camino", "enfermera")

    assert closed == []
    assert waiting_ids() == [patient.id]


def test_er_confirmation_closes_every_entry(config):
    patient = enrol(config)
    add_report(patient, "rojo", at=clock.now() - timedelta(hours=5))
    add_report(patient, "amarillo", "A")
    open_rule_entry(patient, "N2", "A", ["Sin contacto 48 h"])

    call, closed = log_call(patient.id, "llego_a_urgencias", "Ingresó", "enfermera")

    assert call.er_confirmed is True
    assert len(closed) == 3
    assert call_list() == []


def test_report_after_call_opens_new_entry(config):
    patient = enrol(config)
    add_report(patient, "amarillo", "N", at=clock.now() - timedelta(hours=1))
    log_call(patient.id, "contestada", "", "enfermera")

    add_report(patient, "amarillo", "N")

    assert waiting_ids() == [patient.id]


def test_rule_entry_opened_once(config):
    patient = enrol(config)

    first = open_rule_entry(patient, "N1", "N", ["Sin reporte 24 h"])
    second = open_rule_entry(patient, "N1", "N", ["Sin reporte 24 h"])

    assert first is not None
    assert second is None
    assert CallListEntry.select().count() == 1


def test_n4_entry_not_reopened_after_close(config):
    patient = enrol(config)
    report = add_report(patient, "rojo")
    open_rule_entry(patient, "N4", "A", ["Rojo sin confirmar"], report=report)
    log_call(patient.id, "llego_a_urgencias", "", "enfermera")

    assert open_rule_entry(patient, "N4", "A", ["Rojo sin confirmar"], report=report) is None


def test_call_audited_with_ids_only(config):
    patient = enrol(config)
    add_report(patient, "amarillo", "N")

    call, closed = log_call(patient.id, "contestada", "Tiene fiebre", "enfermera")

    event = AuditEvent.select().where(AuditEvent.action == "call").get()
    assert event.detail == {"call": call.id, "outcome": "contestada",
                            "closed_entries": [closed[0].id], "reviewed_messages": [],
                            "with_note": True}
    assert "fiebre" not in audit.detail_text(event.detail)
    assert "con nota" in audit.detail_text(event.detail)


def test_unknown_outcome_rejected(config):
    patient = enrol(config)

    with pytest.raises(CallError, match="contestada"):
        log_call(patient.id, "tal_vez", "", "enfermera")


def test_unknown_patient_rejected(config):
    with pytest.raises(NotFoundError):
        log_call(999, "contestada", "", "enfermera")


def test_report_of_other_patient_rejected(config):
    patient = enrol(config)
    other = enrol(config, email="otro@example.org")
    report = add_report(other, "amarillo", "N")

    with pytest.raises(NotFoundError):
        log_call(patient.id, "contestada", "", "enfermera", report_id=report.id)


def test_red_report_after_discharge_listed(config):
    from mailtriage.discharge import discharge_patient

    patient = enrol(config)
    add_report(patient, "amarillo", "N", at=clock.now() - timedelta(days=2))
    discharge_patient(patient.id, "recuperado", "medico", force=True)
    red = add_report(patient, "rojo")

    (item,) = call_list()
    assert item.patient.id == patient.id
    assert item.rank == 0
    assert [entry.report_id for entry in item.entries] == [red.id]


def test_discharged_patient_marked_in_list(config):
    from click.testing import CliRunner

    from mailtriage.cli import build_cli
    from mailtriage.discharge import discharge_patient

    patient = enrol(config)
    discharge_patient(patient.id, "recuperado", "medico")
    add_report(patient, "amarillo", "A")

    result = CliRunner().invoke(build_cli(), ["--config", str(config.path), "calls", "list"])

    assert result.exit_code == 0, result.output
    assert f"Paciente {patient.id}: Ana López Pérez (alta) (UMF-34)" in result.output
