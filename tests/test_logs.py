"""Logging: one line per event, JSON for collectors, and email addresses redacted."""

import json
import logging

import pytest
from click.testing import CliRunner

from mailtriage.cli import build_cli
from mailtriage.config import load_config
from mailtriage.errors import ConfigError
from mailtriage.logsetup import MessageId, RedactEmailFilter, configure_logging, redact
from mailtriage.models import open_database

log = logging.getLogger("mailtriage.test")


@pytest.fixture(autouse=True)
def restore_logging():
    root = logging.getLogger()
    level = root.level
    yield
    for handler in list(root.handlers):
        if handler.get_name() == "mailtriage":
            root.removeHandler(handler)
    root.setLevel(level)


def logged_lines(capsys) -> list[str]:
    return capsys.readouterr().err.splitlines()


def test_json_has_standard_keys_and_extras(capsys):
    configure_logging("INFO", "json")

    log.info("report stored for folio %s", "K7QM2XPD", extra={"report_id": 12})

    entry = json.loads(logged_lines(capsys)[0])
    assert entry["level"] == "INFO"
    assert entry["logger"] == "mailtriage.test"
    assert entry["msg"] == "report stored for folio K7QM2XPD"
    assert entry["report_id"] == 12
    assert entry["ts"].endswith("+00:00")


def test_json_traceback_stays_on_one_line(capsys):
    configure_logging("INFO", "json")

    try:
        raise RuntimeError("SMTP server went away")
    except RuntimeError:
        log.exception("outbox send failed for outbox id %s", 7)

    lines = logged_lines(capsys)
    assert len(lines) == 1
    assert "RuntimeError: SMTP server went away" in json.loads(lines[0])["exc"]


def test_text_traceback_stays_on_one_line(capsys, monkeypatch):
    monkeypatch.setenv("JOURNAL_STREAM", "8:12345")
    configure_logging("INFO", "text")

    try:
        raise RuntimeError("IMAP server went away")
    except RuntimeError:
        log.exception("poll failed")

    lines = logged_lines(capsys)
    assert len(lines) == 1
    assert lines[0].startswith("ERROR mailtriage.test: poll failed | Traceback")


def test_text_outside_journal_has_time(capsys, monkeypatch):
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    configure_logging("INFO", "text")

    log.warning("outbox retry")

    line = logged_lines(capsys)[0]
    assert line[:4].isdigit()
    assert line.endswith("WARNING mailtriage.test: outbox retry")


def test_level_filters_debug(capsys):
    configure_logging("INFO", "text")

    log.debug("hidden")

    assert logged_lines(capsys) == []


def test_redaction_in_message_args_extras_traceback(capsys):
    configure_logging("INFO", "json")

    try:
        raise ValueError("550 5.1.1 <ana.lopez@correo.example.mx>: Recipient address rejected")
    except ValueError:
        log.exception("send to %s failed", "ana.lopez@correo.example.mx",
                      extra={"recipient": "pepe+umf@example.org"})

    line = logged_lines(capsys)[0]
    assert "ana.lopez" not in line
    assert "pepe+umf" not in line
    entry = json.loads(line)
    assert entry["msg"] == "send to [email redacted] failed"
    assert entry["recipient"] == "[email redacted]"
    assert "<[email redacted]>: Recipient address rejected" in entry["exc"]


def test_redaction_of_format_string_and_dict_args():
    record = logging.LogRecord("mailtriage.test", logging.INFO, __file__, 1,
                               "from ana@example.mx to %(to)s", ({"to": "luis@example.mx"},), None)

    RedactEmailFilter().filter(record)

    assert record.getMessage() == "from [email redacted] to [email redacted]"


def test_redaction_of_objects_keeps_numbers():
    record = logging.LogRecord("mailtriage.test", logging.INFO, __file__, 1,
                               "outbox %d failed: %s", (7, OSError("550 <ana@example.mx> unknown")), None)

    RedactEmailFilter().filter(record)

    assert record.getMessage() == "outbox 7 failed: 550 <[email redacted]> unknown"


def test_message_id_stays_readable(capsys):
    configure_logging("INFO", "text")

    log.info("reply queued for %s", MessageId("<20261204.K7QM2XPD@umf34.example.mx>"))

    assert logged_lines(capsys)[0].endswith("reply queued for <20261204.K7QM2XPD@umf34.example.mx>")


def test_message_id_like_an_address_is_masked(capsys):
    configure_logging("INFO", "text")

    log.info("report stored for %s", MessageId("<dora@example.org>"))

    line = logged_lines(capsys)[0]
    assert "dora" not in line
    assert line.endswith("report stored for <…@example.org>")


def test_redact_leaves_plain_text():
    assert redact("folio K7QM-2XPD, 3 messages, 100% done @ 10:00") == \
        "folio K7QM-2XPD, 3 messages, 100% done @ 10:00"


def with_database(config_path):
    open_database(load_config(config_path).database_url)
    return config_path


def test_cli_log_format_option(make_config, tmp_path):
    config_path = with_database(make_config())

    result = CliRunner().invoke(build_cli(), ["--config", str(config_path), "--log-format", "json",
                                              "backup", str(tmp_path / "respaldo.db")])

    assert result.exit_code == 0, result.output
    entries = [json.loads(line) for line in result.stderr.splitlines()]
    assert any(entry["logger"] == "mailtriage.backup" for entry in entries)


def test_config_log_format_json(make_config, tmp_path):
    config_path = with_database(make_config(general={"log_format": "json"}))

    result = CliRunner().invoke(build_cli(), ["--config", str(config_path), "backup", str(tmp_path / "r.db")])

    assert result.exit_code == 0, result.output
    assert all(line.startswith("{") for line in result.stderr.splitlines())
    assert result.stderr


def test_config_log_format_invalid(make_config):
    with pytest.raises(ConfigError) as error:
        load_config(make_config(general={"log_format": "xml"}))

    assert "[general] log_format" in str(error.value)


def test_staff_command_hides_info_lines(make_config):
    config_path = with_database(make_config())
    enrol = ["--config", str(config_path), "patients", "add", "--first-name", "Ana",
             "--last-name", "Prueba", "--birth-date", "1980-05-02", "--sex", "F",
             "--unit", "UMF-34", "--email", "ana.prueba@example.org", "--phone", "6120000000"]

    quiet = CliRunner().invoke(build_cli(), enrol)
    verbose = CliRunner().invoke(build_cli(), [*enrol[:2], "--verbose", *enrol[2:-4],
                                               "--email", "otra@example.org", "--phone", "6120000001"])

    assert quiet.exit_code == 0, quiet.output
    assert " INFO " not in quiet.stderr
    assert verbose.exit_code == 0, verbose.output
    assert " INFO " in verbose.stderr
