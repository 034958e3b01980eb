"""Retention: exactly the health data of long-discharged patients goes; statistics stay."""

import pytest
from click.testing import CliRunner

from mailtriage.cli import build_cli
from mailtriage.config import load_config
from mailtriage.i18n import set_language
from mailtriage.models import AuditEvent, CallListEntry, InboundMessage, OutboxMessage, Report, open_database
from mailtriage.retention import AUDIT_ACTION, purge_expired
from mailtriage.units import sync_units
from mailtriage import clock

from ops_rows import add_inbound, add_outbox, add_patient, add_report


@pytest.fixture(autouse=True)
def spanish():
    set_language("es")
    yield
    set_language("es")


def add_history(patient):
    """One handled message, its report, a call-list entry and the reply sent."""
    inbound = add_inbound(patient)
    report = add_report(patient, "amarillo", inbound=inbound)
    CallListEntry.create(patient=patient, report=report, rule="report", color="amarillo", priority="N",
                         reasons=["fiebre de 38.4 °C"], opened_at=clock.now())
    add_outbox(patient, status="sent")
    return report


@pytest.fixture
def clinic(make_config):
    """A unit with one patient discharged 400 days ago, one 10 days ago, and one under monitoring."""
    config_path = make_config(retention={"days": 365})
    config = load_config(config_path)
    open_database(config.database_url)
    sync_units(config)

    patients = {
        "expired": add_patient("discharged", discharged_days_ago=400),
        "recent": add_patient("discharged", discharged_days_ago=10),
        "monitoring": add_patient(),
    }
    reports = {name: add_history(patient) for name, patient in patients.items()}
    unknown = {
        "old": add_inbound(None, outcome="recorded", days_ago=400),
        "new": add_inbound(None, outcome="recorded", days_ago=10),
        "old_pending": add_inbound(None, outcome="pending", days_ago=400),
    }
    return config_path, config, patients, reports, unknown


def raw_of(inbound):
    return InboundMessage.get_by_id(inbound.id).raw


def test_purge_empties_only_expired_patient(clinic):
    _, config, patients, reports, _ = clinic

    summary = purge_expired(config)

    purged = Report.get_by_id(reports["expired"].id)
    assert purged.answers == {}
    assert purged.unanswered == []
    assert purged.unreadable == {}
    assert purged.hits == [{"rule_id": "A3", "color": "amarillo", "priority": "N"}]
    assert InboundMessage.get_by_id(purged.inbound_id).raw is None
    assert CallListEntry.get(CallListEntry.patient == patients["expired"]).reasons == []
    sent = OutboxMessage.get(OutboxMessage.patient == patients["expired"])
    assert sent.body_text == ""
    assert sent.body_html is None
    assert summary.patients == 1
    assert (summary.reports, summary.call_list_entries, summary.outbox_messages) == (1, 1, 1)


def test_purge_keeps_statistics(clinic):
    _, config, _, reports, _ = clinic
    before = Report.get_by_id(reports["expired"].id)

    purge_expired(config)

    after = Report.get_by_id(reports["expired"].id)
    assert (after.color, after.priority, after.local_date, after.received_at, after.flags) == \
        (before.color, before.priority, before.local_date, before.received_at, before.flags)


def test_purge_spares_recent_and_monitoring(clinic):
    _, config, patients, reports, _ = clinic

    purge_expired(config)

    for name in ("recent", "monitoring"):
        report = Report.get_by_id(reports[name].id)
        assert report.answers == {"fever": True, "temperature": 38.4}
        assert report.hits[0]["reason"] == "fiebre de 38.4 °C"
        assert InboundMessage.get_by_id(report.inbound_id).raw is not None
        assert OutboxMessage.get(OutboxMessage.patient == patients[name]).body_text != ""


def test_purge_unknown_sender_raw_by_age(clinic):
    _, config, _, _, unknown = clinic

    summary = purge_expired(config)

    assert raw_of(unknown["old"]) is None
    assert raw_of(unknown["new"]) is not None
    assert raw_of(unknown["old_pending"]) is not None
    assert summary.raw_messages == 2  # the expired patient's message and the old unknown one


def test_dry_run_changes_nothing(clinic):
    _, config, _, reports, unknown = clinic

    summary = purge_expired(config, dry_run=True)

    assert summary.raw_messages == 2
    assert summary.reports == 1
    assert Report.get_by_id(reports["expired"].id).answers != {}
    assert raw_of(unknown["old"]) is not None
    assert AuditEvent.select().where(AuditEvent.action == AUDIT_ACTION).count() == 0


def test_second_purge_finds_nothing(clinic):
    _, config, _, _, _ = clinic
    purge_expired(config)

    again = purge_expired(config)

    assert again.total == 0


def test_purge_records_audit_event(clinic):
    _, config, _, _, _ = clinic

    purge_expired(config)

    event = AuditEvent.get(AuditEvent.action == AUDIT_ACTION)
    assert event.actor == "retention"
    assert event.detail["reports"] == 1
    assert event.detail["raw_messages"] == 2


def test_cli_dry_run_then_days_override(clinic):
    config_path, _, _, reports, _ = clinic
    runner = CliRunner()

    dry = runner.invoke(build_cli(), ["--config", str(config_path), "retention", "--dry-run"])
    wide = runner.invoke(build_cli(), ["--config", str(config_path), "retention", "--days", "5"])

    assert dry.exit_code == 0, dry.output
    assert dry.stdout.startswith("Se borrarían: 2 mensajes originales, 1 reportes")
    assert wide.exit_code == 0, wide.output
    # Five days also reach the unknown sender's message of ten days ago.
    assert wide.stdout.startswith("Se borraron: 4 mensajes originales, 2 reportes")
    assert Report.get_by_id(reports["recent"].id).answers == {}
    assert Report.get_by_id(reports["monitoring"].id).answers != {}


def test_retention_days_config_validated(make_config):
    from mailtriage.errors import ConfigError

    with pytest.raises(ConfigError) as error:
        load_config(make_config(retention={"days": 0}))

    assert "[retention] days" in str(error.value)
