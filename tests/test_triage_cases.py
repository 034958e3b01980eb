"""The shipped case tables pass with the packaged rules, through the runner and through `rules test`."""

import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailtriage.cli import build_cli
from mailtriage.i18n import set_language
from mailtriage.rulecases import CaseError, load_cases, run_cases
from mailtriage.ruleset import default_ruleset

DATA = Path(__file__).parent / "data"
TRIAGE_CASES = DATA / "triage_cases.json"
NONREPORTING_CASES = DATA / "nonreporting_cases.json"


@pytest.fixture(autouse=True)
def spanish():
    set_language("es")
    yield
    set_language("es")


def case_ids(path):
    return [case["id"] for case in load_cases(path)]


@pytest.mark.parametrize("case_id", case_ids(TRIAGE_CASES))
def test_triage_case(case_id):
    case = next(case for case in load_cases(TRIAGE_CASES) if case["id"] == case_id)

    failures = run_cases([case], default_ruleset())

    assert failures == [], f"{case_id} ({case['why']}): {failures[0].differences if failures else ''}"


@pytest.mark.parametrize("case_id", case_ids(NONREPORTING_CASES))
def test_nonreporting_case(case_id):
    case = next(case for case in load_cases(NONREPORTING_CASES) if case["id"] == case_id)

    failures = run_cases([case], default_ruleset())

    assert failures == [], f"{case_id} ({case['why']}): {failures[0].differences if failures else ''}"


def test_tables_have_every_case():
    assert len(load_cases(TRIAGE_CASES)) == 77
    assert len(load_cases(NONREPORTING_CASES)) == 13


def test_runner_reports_what_differed():
    case = dict(load_cases(TRIAGE_CASES)[1])
    case["expected"] = {"color": "rojo", "priority": None, "rules": ["R06"]}

    failures = run_cases([case], default_ruleset())

    assert [failure.case_id for failure in failures] == ["T02"]
    assert "color: se esperaba rojo, se obtuvo amarillo" in failures[0].differences
    assert any(difference.startswith("priority:") for difference in failures[0].differences)
    assert any("['Y03']" in difference for difference in failures[0].differences)


def test_runner_ignores_date_header():
    case = next(case for case in load_cases(TRIAGE_CASES) if case["id"] == "T66")
    case = dict(case, date_header="Mon, 30 Nov 2026 08:00:00 -0600", questionnaire_days_ago=4)

    assert run_cases([case], default_ruleset()) == []


def test_runner_rejects_hours_outside_day():
    case = dict(load_cases(TRIAGE_CASES)[0])
    case["history"] = [dict(case["history"][0], days_ago=1, hours_ago=60)]

    failures = run_cases([case], default_ruleset())

    assert len(failures) == 1
    assert failures[0].malformed
    assert failures[0].differences == ["hours_ago 60 no cae en days_ago 1"]


def run_cli(*arguments):
    return CliRunner().invoke(build_cli(), list(arguments))


@pytest.mark.parametrize("table, count", [(TRIAGE_CASES, 77), (NONREPORTING_CASES, 13)])
def test_rules_test_command_passes(table, count):
    result = run_cli("rules", "test", str(table))

    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith(f"{count} correctos, 0 fallidos")


def test_rules_test_command_shows_failure(tmp_path):
    cases = load_cases(TRIAGE_CASES)[:3]
    cases[2]["expected"] = {"color": "verde", "priority": None, "rules": []}
    table = tmp_path / "cases.json"
    table.write_text(json.dumps(cases), encoding="utf-8")

    result = run_cli("rules", "test", str(table))

    assert result.exit_code == 1
    assert "✗ T03: color: se esperaba verde, se obtuvo amarillo" in result.output
    assert "2 correctos, 1 fallidos" in result.output


@pytest.fixture
def store(make_config):
    from staffing import close_store, open_store

    yield open_store(make_config)
    close_store()


def test_triage_command_shows_color_and_stores_nothing(store, tmp_path):
    from patient_mail import YELLOW_ANSWERS, reply_to
    from staffing import START, add_report, enrol

    from mailtriage.models import OutboxMessage, Report

    patient = enrol(store)
    add_report(patient, "verde", answers={"fever": False, "dyspnea_level": 0, "spo2": 97},
               at=START + timedelta(hours=1))
    message = tmp_path / "respuesta.eml"
    message.write_bytes(reply_to(patient, YELLOW_ANSWERS, START + timedelta(days=1)))
    reports, outbox = Report.select().count(), OutboxMessage.select().count()

    result = CliRunner().invoke(build_cli(), ["--config", str(store.path), "triage", str(message),
                                              "--patient", str(patient.id),
                                              "--received-at", "2026-12-05T16:30:00+0000"])

    assert result.exit_code == 0, result.output
    assert result.output.startswith("Semáforo: AMARILLO (prioridad A)\n")
    assert "  Y02  Respiración peor que en el reporte del" in result.output
    assert "  Y03  SpO2 94% (amarillo 93–94%, perfil estándar)" in result.output
    assert "no se guardó ni envió nada" in result.output
    assert (Report.select().count(), OutboxMessage.select().count()) == (reports, outbox)


def test_triage_command_unknown_patient(store, tmp_path):
    message = tmp_path / "respuesta.eml"
    message.write_bytes(b"From: a@example.org\r\nSubject: hola\r\n\r\n10 a\r\n")

    result = CliRunner().invoke(build_cli(), ["--config", str(store.path), "triage", str(message),
                                              "--patient", "999"])

    assert result.exit_code == 1
    assert "no existe el paciente 999" in str(result.exception)


def write_table(tmp_path, cases) -> Path:
    table = tmp_path / "casos.json"
    table.write_text(cases if isinstance(cases, str) else json.dumps(cases), encoding="utf-8")
    return table


def test_rules_test_empty_table_fails(tmp_path):
    table = write_table(tmp_path, "[]")

    result = run_cli("rules", "test", str(table))

    assert result.exit_code == 1
    assert isinstance(result.exception, CaseError)
    assert str(result.exception) == f"{table}: no contiene casos; agregue al menos uno"
    assert "0 correctos" not in result.output


def test_rules_test_json_error_names_place(tmp_path):
    table = write_table(tmp_path, '[\n  {"id": "T01", "answers": {}}\n  {"id": "T02"}\n]')

    result = run_cli("rules", "test", str(table))

    assert result.exit_code == 1
    assert isinstance(result.exception, CaseError)
    message = str(result.exception)
    assert message.startswith(f"{table}: no es JSON válido en la línea 3, columna 3; revise comas")
    assert message.endswith("(JSON: Expecting ',' delimiter)")
    assert "\n" not in message


def test_rules_test_not_utf8(tmp_path):
    table = tmp_path / "casos.json"
    table.write_bytes(b"\xff\xfe[]")

    result = run_cli("rules", "test", str(table))

    assert result.exit_code == 1
    assert "no es texto UTF-8 (byte 0xff en la posición 0)" in str(result.exception)


def misspelled(case_id: str, table=TRIAGE_CASES, **changes) -> dict:
    """Return a copy of a shipped case with keys renamed: ``section={"old": "new"}``."""
    case = json.loads(json.dumps(next(case for case in load_cases(table) if case["id"] == case_id)))
    for section, renames in changes.items():
        for old, new in renames.items():
            case[section][new] = case[section].pop(old)
    return case


MALFORMED_CASES = [
    ("profile key", misspelled("T05", profile={"onset_days_ago": "onset_day_ago"}),
     "caso T05 mal formado: falta onset_days_ago"),
    ("optional profile key", misspelled("T05", profile={"has_oximeter": "has_oxymeter"}),
     "caso T05 mal formado: clave desconocida has_oxymeter en profile"),
    ("answer key", misspelled("T05", answers={"spo2": "spo22"}),
     "caso T05 mal formado: respuesta desconocida spo22 en answers"),
    ("expected key", misspelled("T05", expected={"color": "colour"}),
     "caso T05 mal formado: clave desconocida colour en expected"),
    ("expected color", dict(misspelled("T05"), expected={"color": "morado"}),
     "caso T05 mal formado: color esperado no válido 'morado'; use: verde, amarillo, rojo"),
    ("profile type", dict(misspelled("T05"), profile={"age": "viejo", "onset_days_ago": 3}),
     "caso T05 mal formado: age debe ser un número entero, no 'viejo'"),
    ("received_at", dict(misspelled("T05"), received_at="ayer"),
     "caso T05 mal formado: received_at 'ayer' no es una fecha y hora ISO 8601 con zona"),
    ("non-reporting call", dict(misspelled("NR01", NONREPORTING_CASES), calls=[{"hours_ago": 2}]),
     "caso NR01 mal formado: falta answered en calls[1]"),
]


@pytest.mark.parametrize("label, case, line", MALFORMED_CASES, ids=[row[0] for row in MALFORMED_CASES])
def test_rules_test_names_malformed_case(tmp_path, label, case, line):
    table = write_table(tmp_path, [case])

    result = run_cli("rules", "test", str(table))

    assert result.exit_code == 1
    assert result.output.startswith(f"✗ {line}")
    assert "Error" not in result.output
    assert "0 correctos, 1 fallidos" in result.output


def test_history_answer_key_checked(tmp_path):
    case = misspelled("T01")
    case["history"][0]["answers"]["tos"] = True

    failures = run_cases([case], default_ruleset())

    assert failures[0].malformed
    assert failures[0].differences == ["respuesta desconocida tos en history[1].answers"]
