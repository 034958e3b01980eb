"""Exports: CSV and XLSX content, headers by language, owner-only files and formula neutralising."""

import csv
import io
import stat
from datetime import date, timedelta

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from mailtriage import clock
from mailtriage.cli import build_cli
from mailtriage.export import (
    ExportError, export_history, export_non_reporting, export_reports, neutralise, parse_colors,
    render, write_private,
)
from mailtriage.i18n import set_language
from mailtriage.models import AuditEvent

from staffing import add_report, close_store, enrol, open_store


@pytest.fixture
def config(make_config):
    yield open_store(make_config)
    close_store()


def read_csv(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


@pytest.mark.parametrize("text", ["=1+1", "+52 612", "-3", "@SUM(A1)", "\tx", "\rx"])
def test_formula_prefixes_neutralised(text):
    assert neutralise(text) == "'" + text


def test_plain_values_unchanged():
    assert neutralise("Ana") == "Ana"
    assert neutralise(-3) == -3


def test_colors_accept_english():
    assert parse_colors("yellow, rojo") == ["amarillo", "rojo"]


def test_unknown_color_rejected():
    with pytest.raises(ExportError, match="naranja"):
        parse_colors("naranja")


def test_report_rows_in_local_time(config):
    patient = enrol(config)
    add_report(patient, "amarillo", "A", ["SpO2 93%"])
    add_report(patient, "verde")

    table = export_reports(["amarillo", "rojo"], None, "report")

    assert table.headers[0] == "ID reporte"
    assert table.headers[6] == "Semáforo"
    assert len(table.rows) == 1
    row = table.rows[0]
    # 16:30 UTC is 09:30 in America/Mazatlan, seven hours behind UTC.
    assert row[5] == "2026-12-04 09:30-07:00"
    assert row[6] == "amarillo"
    assert row[7] == "A"
    assert row[8] == "SpO2 93%"


def test_since_filters_by_local_date(config):
    patient = enrol(config)
    add_report(patient, "rojo", at=clock.now() - timedelta(days=2))
    add_report(patient, "rojo")

    table = export_reports(["rojo"], date(2026, 12, 4), "report")

    assert len(table.rows) == 1


def test_per_patient_keeps_latest_report(config):
    patient = enrol(config)
    add_report(patient, "amarillo", "N", ["Pide llamada"], at=clock.now() - timedelta(days=1))
    add_report(patient, "rojo", None, ["Dolor en el pecho"])

    table = export_reports(["amarillo", "rojo"], None, "patient")

    assert len(table.rows) == 1
    assert table.rows[0][0] == patient.id
    assert table.rows[0][5] == "rojo"
    assert table.rows[0][-2] == 2


def test_english_headers(config):
    set_language("en")
    add_report(enrol(config), "amarillo", "N")

    table = export_reports(["amarillo"], None, "report")

    assert table.headers[0] == "Report ID"
    assert table.rows[0][6] == "yellow"


def test_non_reporting_lists_silent_patients(config):
    silent = enrol(config)
    reporting = enrol(config, email="otra@example.org")
    add_report(reporting, "verde")
    clock.advance(timedelta(hours=30))

    table = export_non_reporting()

    assert [row[0] for row in table.rows] == [silent.id, reporting.id]
    assert table.rows[0][7] == 30.0
    assert table.rows[1][6] == "verde"


def test_history_lists_reports_and_calls(config):
    from mailtriage.calls import log_call

    patient = enrol(config)
    add_report(patient, "amarillo", "N", ["Pide llamada"], answers={"wants_call": True})
    clock.advance(timedelta(minutes=30))
    log_call(patient.id, "contestada", "Bien", "enfermera")

    table = export_history(None)

    assert [row[4] for row in table.rows] == ["reporte", "llamada"]
    assert table.rows[0][6].startswith("llamada: sí | ")
    assert table.rows[1][6] == "contestada: Bien"


def test_csv_neutralises_patient_text(config):
    patient = enrol(config, first_name="=HYPERLINK(\"http://x\")")
    add_report(patient, "rojo")

    rows = read_csv(render(export_reports(["rojo"], None, "report"), "csv"))

    assert rows[1][2].startswith("'=HYPERLINK")


def test_xlsx_content_and_neutralising(config):
    patient = enrol(config, first_name="@Ana")
    add_report(patient, "rojo", None, ["Dolor en el pecho"])

    content = render(export_reports(["rojo"], None, "report"), "xlsx")

    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "ID reporte"
    assert rows[1][2] == "'@Ana López Pérez"
    assert rows[1][8] == "Dolor en el pecho"


def test_written_file_owner_only(tmp_path):
    path = tmp_path / "lista.csv"

    write_private(path, b"x")

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes() == b"x"


def test_missing_folder_reported(tmp_path):
    with pytest.raises(ExportError, match="no se pudo escribir"):
        write_private(tmp_path / "no-existe" / "lista.csv", b"x")


def test_cli_writes_xlsx_and_audits(config, tmp_path):
    add_report(enrol(config), "amarillo", "A")
    output = tmp_path / "llamadas.xlsx"

    result = CliRunner().invoke(build_cli(), ["--config", str(config.path), "export", "--color",
                                              "amarillo,rojo", "--output", str(output)])

    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    assert load_workbook(output).worksheets[0].max_row == 2
    event = AuditEvent.select().where(AuditEvent.action == "export").get()
    assert event.detail["rows"] == 1
    assert event.detail["format"] == "xlsx"


def test_cli_writes_csv_to_stdout(config):
    add_report(enrol(config), "rojo")

    result = CliRunner().invoke(build_cli(), ["--config", str(config.path), "export",
                                              "--color", "rojo", "--output", "-"])

    assert result.exit_code == 0, result.output
    rows = read_csv(result.stdout_bytes)
    assert rows[0][0] == "ID reporte"
    assert len(rows) == 2


def test_cli_requires_one_dataset(config):
    result = CliRunner().invoke(build_cli(), ["--config", str(config.path), "export",
                                              "--history", "--non-reporting"])

    assert result.exit_code != 0
    assert "una sola" in str(result.exception)


def test_history_names_call_outcome(config):
    from mailtriage.calls import log_call

    patient = enrol(config)
    log_call(patient.id, "no_answer", "", "enfermera")

    table = export_history(None)

    assert table.rows[0][6] == "sin respuesta"


def test_non_reporting_names_call_rules(config):
    from mailtriage.calls import sync_report_entries

    patient = enrol(config)
    add_report(patient, "amarillo", "N", at=clock.now() - timedelta(days=1))
    sync_report_entries()

    table = export_non_reporting()

    assert table.rows[0][9] == "reporte"


@pytest.mark.parametrize("per", ["paciente", "patient", "PACIENTE"])
def test_cli_per_either_language(config, per):
    patient = enrol(config)
    add_report(patient, "rojo")
    add_report(patient, "rojo")

    result = CliRunner().invoke(build_cli(), ["--config", str(config.path), "export", "--color",
                                              "rojo", "--per", per])

    assert result.exit_code == 0, result.output
    rows = read_csv(result.stdout_bytes)
    assert rows[0][0] == "ID paciente"
    assert len(rows) == 2


def test_cli_help_shows_spanish_per(config):
    result = CliRunner().invoke(build_cli(), ["--config", str(config.path), "export", "--help"])

    assert "[reporte|paciente]" in result.output


@pytest.mark.parametrize("arguments", [
    ["--output", "x.pdf"],
    ["--output", "x.xlsx", "--format", "csv"],
])
def test_cli_rejects_output_format_mismatch(config, tmp_path, arguments):
    arguments = [str(tmp_path / argument) if argument.startswith("x.") else argument
                 for argument in arguments]

    result = CliRunner().invoke(build_cli(), ["--config", str(config.path), "export", "--history",
                                              *arguments])

    assert result.exit_code != 0
    assert isinstance(result.exception, ExportError)
    assert list(tmp_path.glob("x.*")) == []


def test_history_cuts_long_comment(config):
    from mailtriage.calls import log_call

    patient = enrol(config)
    comment = "me duele la cabeza " * 50_000
    add_report(patient, "amarillo", "N", answers={"comments": comment})
    log_call(patient.id, "contestada", "x" * 2000, "enfermera")

    table = export_history(None)
    rows = read_csv(render(table, "csv"))
    sheet = load_workbook(io.BytesIO(render(table, "xlsx"))).worksheets[0]
    cells = [row[6] for row in sheet.iter_rows(min_row=2, values_only=True)]

    report_cell, call_cell = rows[1][6], rows[2][6]
    assert len(report_cell) < 1000
    assert f"… (recortado, {len(comment)} caracteres)" in report_cell
    assert call_cell.endswith("… (recortado, 2000 caracteres)")
    assert cells == [report_cell, call_cell]
