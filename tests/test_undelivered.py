"""Mail to a patient that failed for good shows on the call list and the timeline until checked."""

from datetime import timedelta

import pytest
from click.testing import CliRunner

from mailtriage import clock
from mailtriage.calls import log_call
from mailtriage.cli import build_cli
from mailtriage.models import OutboxMessage
from mailtriage.outbox import send_pending
from mailtriage.undelivered import undelivered_mail

from staffing import close_store, enrol, open_store

REFUSED = "rechazo@example.mx"

pytestmark = pytest.mark.servers


@pytest.fixture
def config(make_config, smtp_server):
    smtp_server.reject(REFUSED, "550 5.1.1 User unknown")
    yield open_store(make_config, smtp_url=smtp_server.url())
    close_store()


def run(config, *arguments):
    return CliRunner().invoke(build_cli(), ["--config", str(config.path), *arguments])


def enrol_bounced(config):
    """Enrol a patient whose address the server refuses, and send the welcome so it fails."""
    patient = enrol(config, email=REFUSED)
    send_pending(config)
    welcome = OutboxMessage.get(OutboxMessage.patient == patient)
    assert welcome.status == "failed"
    clock.advance(timedelta(minutes=5))
    return patient, welcome


def test_calls_list_shows_bounced_welcome(config):
    patient, welcome = enrol_bounced(config)

    result = run(config, "calls", "list")

    assert result.exit_code == 0, result.output
    assert "[Correos no entregados]" in result.output
    line, = [text for text in result.output.splitlines() if f"Correo {welcome.id} " in text]
    assert "(bienvenida)" in line
    assert "04/12/2026 09:30 MST" in line
    assert f"paciente {patient.id}: Ana López Pérez" in line
    assert f"mailtriage patients edit {patient.id} --email" in line
    assert "No hay llamadas pendientes" not in result.output


def test_patients_show_lists_bounce(config):
    patient, welcome = enrol_bounced(config)

    result = run(config, "patients", "show", str(patient.id))

    assert result.exit_code == 0, result.output
    assert f"Correo no entregado (bienvenida, correo {welcome.id})" in result.output
    assert "550 5.1.1 User unknown" in result.output


def test_answered_call_closes_bounce(config):
    patient, _ = enrol_bounced(config)

    log_call(patient.id, "sin_respuesta", "", "enfermera")
    assert len(undelivered_mail()) == 1

    log_call(patient.id, "contestada", "", "enfermera")
    assert undelivered_mail() == []
    assert "No hay llamadas pendientes" in run(config, "calls", "list").output


def test_email_edit_closes_bounce(config):
    patient, _ = enrol_bounced(config)

    result = run(config, "patients", "edit", str(patient.id), "--email", "ana.bien@example.mx")

    assert result.exit_code == 0, result.output
    assert undelivered_mail() == []


def test_outbox_retry_closes_bounce(config, smtp_server):
    _, welcome = enrol_bounced(config)
    smtp_server.accept_all()

    result = run(config, "outbox", "retry", str(welcome.id))

    assert result.exit_code == 0, result.output
    assert undelivered_mail() == []


def test_later_bounce_reopens_after_call(config):
    patient, _ = enrol_bounced(config)
    log_call(patient.id, "contestada", "", "enfermera")
    clock.advance(timedelta(hours=1))

    from mailtriage.questionnaires import issue_reminder

    reminder = issue_reminder(patient, None, config)
    send_pending(config)

    assert [row.id for row in undelivered_mail()] == [reminder.id]


def test_staff_alert_failure_not_listed(config):
    patient = enrol(config, email="otra@example.mx")
    OutboxMessage.create(kind="staff_alert", patient=patient, to_address=REFUSED, subject="Alerta",
                         message_id="<staff-alert-1@umf34.example.mx>", body_text="-",
                         next_attempt_at=clock.now(), created_at=clock.now())
    send_pending(config)

    assert OutboxMessage.get(OutboxMessage.kind == "staff_alert").status == "failed"
    assert undelivered_mail() == []
