"""Quarantine: a message that keeps failing is set aside, listed and retried.

Processing is made to fail with the ``before_store=enospc`` fault, which
raises OSError(ENOSPC) where the report is about to be stored. After
pipeline.MAX_ATTEMPTS passes the message is in the quarantine folder; after
`quarantine retry` and a pass without the fault it is reported once.
"""

import mailbox
import signal
from datetime import timedelta
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from mailtriage import clock, faults, pipeline
from mailtriage.cli import build_cli, quarantinecmd
from mailtriage.i18n import set_language
from mailtriage.models import AuditEvent, InboundMessage, Report
from faultmail import GREEN, PATIENTS, enrol, reply, run_daemon_once
from staffing import close_store, open_store

DISK_FULL = "before_store=enospc"


@pytest.fixture
def maildir_store(make_config, tmp_path):
    config = open_store(make_config)
    yield config
    faults.arm(None)
    close_store()


@pytest.fixture
def imap_store(make_config, dovecot):
    user = dovecot.new_user()
    config = open_store(make_config, mailbox_url=user.url, mailbox_password=user.password)
    yield config, user
    faults.arm(None)
    close_store()


def deliver(path, raw: bytes) -> None:
    mailbox.Maildir(path, create=True).add(raw)


def fail_until_quarantined(config) -> None:
    faults.arm(DISK_FULL)
    for _ in range(pipeline.MAX_ATTEMPTS):
        pipeline.process_mailbox(config)
    faults.arm(None)


def run_cli(config, *arguments):
    result = CliRunner().invoke(build_cli(), ["--config", str(config.path), *arguments],
                                catch_exceptions=False)
    return result


def test_failing_message_quarantined(maildir_store, tmp_path):
    config = maildir_store
    patient = enrol(config, PATIENTS[0])
    deliver(tmp_path / "Maildir", reply(patient, GREEN))

    fail_until_quarantined(config)

    row = InboundMessage.get()
    assert row.outcome == "quarantined"
    assert row.attempts == pipeline.MAX_ATTEMPTS
    assert "ENOSPC" in row.last_error or "No space" in row.last_error
    assert list((tmp_path / "Maildir" / ".Cuarentena" / "new").iterdir())
    assert not list((tmp_path / "Maildir" / "new").iterdir())
    assert Report.select().count() == 0


def test_quarantine_list_shows_no_health_data(maildir_store, tmp_path):
    config = maildir_store
    patient = enrol(config, PATIENTS[0])
    deliver(tmp_path / "Maildir", reply(patient, GREEN, message_id="<lista@example.com>"))
    fail_until_quarantined(config)

    result = run_cli(config, "quarantine", "list")

    assert result.exit_code == 0
    row = InboundMessage.get()
    line = result.output.splitlines()[1]
    assert line.startswith(f"{row.id}\t")
    assert "<lista@example.com>" in line
    assert "falló 3 veces" in line
    assert patient.email not in result.output
    assert patient.first_name not in result.output
    assert "Folio" not in result.output


def test_quarantine_list_empty(maildir_store):
    result = run_cli(maildir_store, "quarantine", "list")

    assert result.exit_code == 0
    assert "No hay mensajes en cuarentena." in result.output


def test_retry_maildir_reports_once(maildir_store, tmp_path):
    config = maildir_store
    patient = enrol(config, PATIENTS[0])
    deliver(tmp_path / "Maildir", reply(patient, GREEN))
    fail_until_quarantined(config)
    row = InboundMessage.get()

    result = run_cli(config, "quarantine", "retry", str(row.id), "--staff", "enfermera")
    assert result.exit_code == 0, result.output
    assert "devuelto a la bandeja de entrada" in result.output
    assert list((tmp_path / "Maildir" / "new").iterdir())

    clock.advance(timedelta(minutes=5))
    summary = pipeline.process_mailbox(config)

    assert summary.reports["verde"] == 1
    assert Report.select().count() == 1
    assert InboundMessage.select().count() == 1
    assert InboundMessage.get().outcome == "reported"
    assert not list((tmp_path / "Maildir" / ".Cuarentena" / "new").iterdir())
    event = AuditEvent.get(AuditEvent.action == "quarantine_retry")
    assert event.actor == "enfermera"
    assert event.detail["inbound_id"] == row.id


def test_retry_imap_reports_once(imap_store, dovecot):
    config, user = imap_store
    patient = enrol(config, PATIENTS[0])
    dovecot.append(user, reply(patient, GREEN, message_id="<imap@example.com>"))
    fail_until_quarantined(config)
    assert dovecot.count(user, "Cuarentena") == 1
    assert dovecot.count(user, "INBOX") == 0

    result = run_cli(config, "quarantine", "retry", "--all")
    assert result.exit_code == 0, result.output
    assert dovecot.count(user, "Cuarentena") == 0
    assert dovecot.count(user, "INBOX") == 1

    summary = pipeline.process_mailbox(config)

    assert summary.reports["verde"] == 1
    assert Report.select().count() == 1
    rows = list(InboundMessage.select())
    assert [row.outcome for row in rows] == ["reported"]
    assert rows[0].message_id == "<imap@example.com>"
    assert dovecot.count(user, "Procesados") == 1


def test_retry_unknown_id_fails(maildir_store):
    result = CliRunner().invoke(build_cli(), ["--config", str(maildir_store.path),
                                              "quarantine", "retry", "999"])

    assert result.exit_code != 0
    assert "999" in str(result.exception) + result.output


def test_retry_needs_id_or_all(maildir_store):
    result = CliRunner().invoke(build_cli(), ["--config", str(maildir_store.path),
                                              "quarantine", "retry"])

    assert result.exit_code != 0


@pytest.mark.faults
def test_message_killing_daemon_quarantined(make_config, tmp_path):
    """A message that ends the process each time (out of memory, a crash in C code) is set aside."""
    config = open_store(make_config)
    config_path = config.path
    try:
        deliver(tmp_path / "Maildir", reply(enrol(config, PATIENTS[0]), GREEN))
    finally:
        close_store()

    for _ in range(pipeline.MAX_ATTEMPTS):
        killed = run_daemon_once(config_path, fault="before_store")
        assert killed.returncode == -signal.SIGKILL

    survived = run_daemon_once(config_path, fault="before_store")
    assert survived.returncode == 0, survived.stderr[-2000:]
    assert list((tmp_path / "Maildir" / ".Cuarentena" / "new").iterdir())


def test_quarantine_list_in_english(make_config, tmp_path):
    config = open_store(make_config, general={"language": "en"})
    set_language("en")
    try:
        deliver(tmp_path / "Maildir", reply(enrol(config, PATIENTS[0]), GREEN))
        fail_until_quarantined(config)

        short = run_cli(config, "quarantine", "list")
        full = run_cli(config, "quarantine", "list", "--full")
    finally:
        faults.arm(None)
        close_store()

    assert short.output.splitlines()[0] == "ID\tDATE\tMESSAGE-ID\tATTEMPTS\tREASON"
    assert "failed 3 times" in short.output
    assert "No space left on device" in full.output


def test_quarantine_reason_cut_unless_full():
    row = SimpleNamespace(id=7, received_at=clock.now(), message_id="<largo@example.com>",
                          attempts=3, last_error="falló 3 veces; " + "x" * 300)

    short = quarantinecmd.format_row(row, "America/Mazatlan", full=False)
    full = quarantinecmd.format_row(row, "America/Mazatlan", full=True)

    assert len(short.split("\t")[-1]) == quarantinecmd.REASON_COLUMN_CHARS
    assert short.endswith("…")
    assert full.endswith("x" * 300)
