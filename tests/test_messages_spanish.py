"""Spanish lines carry no English from SQLite, tomllib, aiosmtplib, the system or click."""

import logging
import os
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone

import click
import pytest
from click.testing import CliRunner

from mailtriage.cli import build_cli
from mailtriage.cli.dates import LocalDate, OffsetDateTime, PositiveCount
from mailtriage.cli.parsecmd import read_file
from mailtriage.cli.senderrors import localize_send_error
from mailtriage.config import load_config
from mailtriage.errors import ConfigError, MailtriageError, SendError
from mailtriage.i18n import set_language
from mailtriage.mailwatch import MailboxWatcher
from servers import free_port
from staffing import close_store, enrol, open_store

# Commands whose options take a date, a date-time or a count of 1 or more.
DATED_COMMANDS = (("reprocess",), ("triage",), ("retention",), ("export",), ("audit",), ("parse",))

# What a stored row contains after aiosmtplib found nothing listening on the port.
REFUSED_ROW_TEXT = ("Servidor SMTP smtp://127.0.0.1:8025: falló la conexión: Error connecting to "
                    "127.0.0.1 on port 8025: [Errno 111] Connect call failed ('127.0.0.1', 8025)")

LIBRARY_ENGLISH = ("Errno", "Error connecting", "No such file", "file is not a database",
                   "malformed", "Invalid value", "does not exist")


@pytest.fixture(autouse=True)
def spanish():
    set_language("es")
    yield
    set_language("es")


def run(config_path, *arguments):
    return CliRunner().invoke(build_cli(), ["--config", str(config_path), *arguments])


def run_process(config_path, *arguments) -> subprocess.CompletedProcess:
    """Run the installed CLI as staff do, so its one-line error handling applies."""
    environment = {**os.environ, "MAILTRIAGE_LANG": "es"}
    return subprocess.run([sys.executable, "-m", "mailtriage", "--config", str(config_path), *arguments],
                          capture_output=True, text=True, env=environment, timeout=60)


def assert_no_library_english(text: str) -> None:
    for english in LIBRARY_ENGLISH:
        assert english not in text


def help_text(*path) -> str:
    return CliRunner().invoke(build_cli(), [*path, "--help"]).output


# Click's format codes in help and errors


@pytest.mark.parametrize("path", DATED_COMMANDS, ids=" ".join)
@pytest.mark.parametrize("language", ["es", "en"])
def test_help_shows_no_format_codes(path, language):
    set_language(language)

    output = help_text(*path)

    assert "%Y" not in output
    assert "%H" not in output
    assert "x>=" not in output


def test_date_metavar_spanish():
    assert "--since AAAA-MM-DD" in help_text("reprocess")
    assert "--received-at AAAA-MM-DDTHH:MM±HHMM" in help_text("triage")
    assert "--days DÍAS" in help_text("retention")


def test_date_metavar_english(make_config):
    # The root command sets the language from the config before the help is shown.
    config_path = make_config(general={"language": "en"})

    assert "--since YYYY-MM-DD" in run(config_path, "reprocess", "--help").output
    assert "--received-at YYYY-MM-DDTHH:MM±HHMM" in run(config_path, "triage", "--help").output


def test_invalid_date_error_spanish(make_config):
    result = run_process(make_config(), "reprocess", "--since", "mañana")

    assert result.returncode == 2
    assert ("Error: Valor no válido para '--since': fecha no válida «mañana»; use AAAA-MM-DD, "
            "por ejemplo 2026-12-04") in result.stderr
    assert "%Y" not in result.stderr


def test_invalid_date_time_error_spanish():
    result = CliRunner().invoke(build_cli(), ["triage", "r.eml", "--patient", "1", "--received-at", "ayer"])

    assert result.exit_code == 2
    assert "fecha y hora no válidas «ayer»" in result.output
    assert "%z" not in result.output


@pytest.mark.parametrize("value", ["0", "-3", "siete"])
def test_days_below_one_error_spanish(value):
    result = CliRunner().invoke(build_cli(), ["retention", "--days", value])

    assert result.exit_code == 2
    assert f"debe ser un número entero de 1 o más, no «{value}»" in result.output
    assert "x>=" not in result.output
    assert "intervalo" not in result.output


def test_local_date_formats():
    iso = LocalDate()
    day_first = LocalDate(day_first=True)

    assert iso.convert("2026-12-04", None, None) == datetime(2026, 12, 4)
    assert day_first.convert("04/12/2026", None, None) == datetime(2026, 12, 4)
    with pytest.raises(click.BadParameter):
        iso.convert("04/12/2026", None, None)
    with pytest.raises(click.BadParameter):
        iso.convert("2026-02-30", None, None)


def test_offset_date_time_is_aware():
    parsed = OffsetDateTime().convert("2026-12-04T09:30-0600", None, None)

    assert parsed.utcoffset() == timedelta(hours=-6)
    assert parsed.astimezone(timezone.utc) == datetime(2026, 12, 4, 15, 30, tzinfo=timezone.utc)
    with pytest.raises(click.BadParameter):
        OffsetDateTime().convert("2026-12-04T09:30", None, None)


def test_positive_count_accepts_one():
    assert PositiveCount().convert("1", None, None) == 1
    assert PositiveCount().convert(" 30 ", None, None) == 30


def test_patients_add_example_uses_unit_code():
    output = help_text("patients", "add")

    assert "--unit UMF-12" in output
    assert "UMF1 " not in output


# Configuration files


def test_broken_toml_names_position(tmp_path):
    path = tmp_path / "mailtriage.toml"
    path.write_text('[general]\nlanguage = "es"\nintentos = [1,\n', encoding="utf-8")

    with pytest.raises(ConfigError) as error:
        load_config(path)

    assert "el archivo no es TOML válido (línea 4, columna 1)" in str(error.value)
    assert_no_library_english(str(error.value))


def test_broken_toml_line_and_column(tmp_path):
    path = tmp_path / "mailtriage.toml"
    path.write_text('[general]\nlanguage = \n', encoding="utf-8")

    with pytest.raises(ConfigError) as error:
        load_config(path)

    assert "(línea 2, columna 12)" in str(error.value)


def test_broken_toml_english_keeps_detail(tmp_path):
    set_language("en")
    path = tmp_path / "mailtriage.toml"
    path.write_text('[general]\nlanguage = \n', encoding="utf-8")

    with pytest.raises(ConfigError) as error:
        load_config(path)

    assert "not valid TOML (line 2, column 12): Invalid value" in str(error.value)


def test_config_not_utf8(tmp_path):
    path = tmp_path / "mailtriage.toml"
    path.write_bytes('[general]\nlanguage = "español"\n'.encode("latin-1"))

    with pytest.raises(ConfigError) as error:
        load_config(path)

    assert "no está en UTF-8" in str(error.value)
    assert "codec" not in str(error.value)


# Files and databases


@pytest.fixture
def store(make_config):
    config = open_store(make_config)
    yield config
    close_store()


def test_corrupt_database_reason_spanish(store):
    database_path = store.database_url.removeprefix("sqlite:///")
    close_store()
    with open(database_path, "r+b") as database:
        # Keep the 100-byte file header and spoil the rest of page 1, the schema table.
        database.seek(100)
        database.write(b"\xff" * 3996)

    result = run_process(store.path, "patients", "list")

    assert result.returncode == 1
    assert "el archivo de la base de datos está dañado; restaure un respaldo" in result.stderr
    assert "Traceback" not in result.stderr
    assert_no_library_english(result.stderr)


def test_export_missing_folder_spanish(store, tmp_path):
    result = run(store.path, "export", "--color", "rojo", "--output", str(tmp_path / "falta" / "rojos.csv"))

    assert isinstance(result.exception, MailtriageError)
    assert "(no existe)" in str(result.exception)
    assert_no_library_english(str(result.exception))


def test_triage_missing_message_spanish(store, tmp_path):
    patient = enrol(store)

    result = run(store.path, "triage", str(tmp_path / "falta.eml"), "--patient", str(patient.id))

    assert isinstance(result.exception, MailtriageError)
    assert "no se pudo leer el mensaje (no existe)" in str(result.exception)
    assert_no_library_english(str(result.exception))


def test_parse_unreadable_message_spanish(tmp_path):
    with pytest.raises(MailtriageError) as error:
        read_file(tmp_path / "falta.eml", 1_000_000, None)

    assert "no se pudo leer el mensaje (no existe)" in str(error.value)
    assert_no_library_english(str(error.value))


def test_parse_missing_path_spanish(store, tmp_path):
    result = run_process(store.path, "parse", str(tmp_path / "falta.eml"), "--no-store")

    assert result.returncode == 2
    assert "no existe" in result.stderr
    assert_no_library_english(result.stderr)


def test_restore_text_file_spanish(store, tmp_path):
    not_a_backup = tmp_path / "passwd"
    not_a_backup.write_text("root:x:0:0:root:/root:/bin/bash\n" * 50, encoding="utf-8")

    result = run(store.path, "restore", "--yes", str(not_a_backup))

    assert isinstance(result.exception, MailtriageError)
    assert "el archivo no es una base de datos SQLite" in str(result.exception)
    assert_no_library_english(str(result.exception))


def test_backup_into_file_path_spanish(store, tmp_path):
    (tmp_path / "notas.txt").write_text("no es una carpeta", encoding="utf-8")

    result = run(store.path, "backup", str(tmp_path / "notas.txt" / "respaldo.db"))

    assert isinstance(result.exception, MailtriageError)
    assert "no se pudo escribir la copia" in str(result.exception)
    assert_no_library_english(str(result.exception))


def test_import_missing_file_spanish(store, tmp_path):
    result = run_process(store.path, "patients", "import", str(tmp_path / "falta.csv"))

    assert result.returncode == 2
    assert "no existe" in result.stderr
    assert_no_library_english(result.stderr)


# SMTP down


@pytest.fixture
def smtp_down(make_config):
    config = open_store(make_config, smtp_url=f"smtp://127.0.0.1:{free_port()}")
    yield config
    close_store()


def test_send_with_smtp_down_spanish(smtp_down):
    patient = enrol(smtp_down)

    result = run(smtp_down.path, "questionnaires", "send", "--patient", str(patient.id))

    assert isinstance(result.exception, SendError)
    assert "conexión rechazada" in str(result.exception)
    assert_no_library_english(str(result.exception))


def test_outbox_list_with_smtp_down_spanish(smtp_down):
    enrol(smtp_down)
    run(smtp_down.path, "questionnaires", "send")

    result = run(smtp_down.path, "outbox", "list")

    assert result.exit_code == 0, result.output
    assert "conexión rechazada" in result.output
    assert_no_library_english(result.output)


def test_stored_refusal_text_spanish():
    text = localize_send_error(REFUSED_ROW_TEXT)

    assert text == ("Servidor SMTP smtp://127.0.0.1:8025: falló la conexión: conexión rechazada: "
                    "¿el servidor está en marcha y escucha en ese puerto?")


def test_stored_gave_up_text_spanish():
    text = localize_send_error("se abandonó tras 10 intentos; último error: " + REFUSED_ROW_TEXT)

    assert text.startswith("se abandonó tras 10 intentos; último error: Servidor SMTP")
    assert "conexión rechazada" in text
    assert_no_library_english(text)


def test_stored_other_errno_spanish():
    text = localize_send_error("falló la conexión: [Errno 13] Permission denied")

    assert text == "falló la conexión: permiso denegado"


def test_stored_disconnect_spanish():
    text = localize_send_error("Servidor SMTP smtp://127.0.0.1:8025: falló la conexión: Connection lost")

    assert text.endswith("falló la conexión: el servidor cerró la conexión")


def test_stored_reply_kept_as_sent():
    reply = "550 5.1.1 <ana@example.org>: User unknown"

    assert localize_send_error(reply) == reply


def test_stored_text_english_keeps_detail():
    set_language("en")

    assert localize_send_error(REFUSED_ROW_TEXT) == REFUSED_ROW_TEXT


# The daemon's log


def test_watcher_log_ends_with_error(caplog):
    stop = threading.Event()
    watcher = MailboxWatcher(None, threading.Lock(), stop)

    def fail_once():
        stop.set()
        raise MailtriageError("no se encontró la carpeta INBOX. Otro proceso lo movió o lo borró")

    watcher.watch = fail_once
    with caplog.at_level(logging.WARNING, logger="mailtriage.daemon"):
        watcher.run()

    assert caplog.messages == ["mailbox watcher failed, connecting again in 30 s: no se encontró la "
                               "carpeta INBOX. Otro proceso lo movió o lo borró"]
