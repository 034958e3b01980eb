"""`mailtriage reprocess`: stored reports triaged again from their raw messages, stored only with --apply."""

from datetime import timedelta

import pytest
from click.testing import CliRunner

from mailtriage import clock
from mailtriage.cli import build_cli
from mailtriage.models import AuditEvent, InboundMessage, Report, Retriage

from patient_mail import RED_ANSWERS, reply_to
from staffing import START, close_store, enrol, open_store


@pytest.fixture
def config(make_config):
    yield open_store(make_config)
    close_store()


def stored_report(patient, raw: bytes, color="verde", hits=()):
    """Store a report as an older parser and rule set left it, with its raw message."""
    moment = START + timedelta(hours=1)
    inbound = InboundMessage.create(mailbox="INBOX", uidvalidity=1, uid="7", received_at=moment,
                                    raw=raw, kind="answer", outcome="reported", created_at=moment)
    return Report.create(patient=patient, inbound=inbound, received_at=moment,
                         local_date=clock.local_date(moment, patient.unit.timezone), color=color,
                         hits=[{"rule_id": rule_id} for rule_id in hits], created_at=moment)


def run(config, *arguments):
    return CliRunner().invoke(build_cli(), ["--config", str(config.path), "reprocess", *arguments])


def test_reprocess_shows_change_and_stores_nothing(config):
    patient = enrol(config)
    report = stored_report(patient, reply_to(patient, RED_ANSWERS, START))

    result = run(config, "--since", "2026-12-04")

    assert result.exit_code == 0, result.output
    assert f"Reporte {report.id} (2026-12-04, paciente {patient.id}): VERDE → ROJO; reglas +R01 +R02" in result.output
    assert "1 reportes revisados, 1 con otro resultado, 0 omitidos" in result.output
    assert "No se guardó nada" in result.output
    assert Retriage.select().count() == 0


def test_reprocess_apply_keeps_original(config):
    patient = enrol(config)
    report = stored_report(patient, reply_to(patient, RED_ANSWERS, START))

    result = run(config, "--since", "2026-12-04", "--apply", "--staff", "Dra. Ruiz")

    assert result.exit_code == 0, result.output
    retriage = Retriage.get()
    assert retriage.report_id == report.id
    assert retriage.color == "rojo"
    assert {"R01", "R02"} <= {hit["rule_id"] for hit in retriage.hits}
    assert Report.get_by_id(report.id).color == "verde"
    event = AuditEvent.get(AuditEvent.action == "retriage")
    assert event.actor == "Dra. Ruiz"
    assert event.detail["new_color"] == "rojo"


def test_reprocess_skips_report_without_raw_message(config):
    patient = enrol(config)
    moment = START + timedelta(hours=1)
    Report.create(patient=patient, received_at=moment, local_date=moment.date(), color="verde",
                  created_at=moment)

    result = run(config, "--since", "2026-12-01")

    assert "omitido, sin mensaje original guardado" in result.output
    assert "1 reportes revisados, 0 con otro resultado, 1 omitidos" in result.output


def test_reprocess_ignores_reports_before_since(config):
    patient = enrol(config)
    stored_report(patient, reply_to(patient, RED_ANSWERS, START))

    result = run(config, "--since", "2026-12-05")

    assert "0 reportes revisados" in result.output
