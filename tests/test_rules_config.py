"""Rule files as configuration: an edited copy changes outcomes, a broken one stops with one line."""

import pytest
from click.testing import CliRunner

from datetime import date

from mailtriage.cli import build_cli
from mailtriage.config import load_config
from mailtriage.errors import RulesError
from mailtriage.i18n import set_language
from mailtriage.rulecases import load_cases, packaged_case_paths, run_cases
from mailtriage.ruleinputs import INPUTS, NONREPORTING_INPUTS, STAGED_INPUTS, build_context, compute_inputs
from mailtriage.ruleset import load_ruleset, packaged_rules_path, ruleset_for
from mailtriage.ruletrial import _NOW, _trial_reports
from mailtriage.ruletypes import INPUT_TYPES

from test_triage_cases import NONREPORTING_CASES, TRIAGE_CASES

PACKAGED = packaged_rules_path().read_text(encoding="utf-8")


@pytest.fixture(autouse=True)
def spanish():
    set_language("es")
    yield
    set_language("es")


def write_rules(tmp_path, text, name="reglas.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def edited(old: str, new: str) -> str:
    assert PACKAGED.count(old) == 1, old
    return PACKAGED.replace(old, new)


def case(case_id):
    return next(case for case in load_cases(TRIAGE_CASES) if case["id"] == case_id)


def test_packaged_rules_load():
    ruleset = load_ruleset()

    assert ruleset.version
    assert [rule.id for rule in ruleset.nonreporting_rules] == ["N0", "N1", "N2", "N3", "N4"]
    assert len(ruleset.phrases) > 200


def test_edited_threshold_changes_outcome(tmp_path):
    # Two fever days are VERDE for a standard-risk patient with the default streak of 3.
    path = write_rules(tmp_path, edited("FEVER_STREAK_STANDARD = 3", "FEVER_STREAK_STANDARD = 2"))

    failures = run_cases([case("T36")], load_ruleset(str(path)))

    assert len(failures) == 1
    assert "color: se esperaba verde, se obtuvo amarillo" in failures[0].differences


def test_edited_condition_changes_outcome(tmp_path):
    path = write_rules(tmp_path, edited('condition = "overall_trend == \'worse\'"',
                                        'condition = "overall_trend == \'worse\' || overall_trend == \'same\'"'))

    failures = run_cases([case("T01")], load_ruleset(str(path)))

    assert failures and "Y10" in failures[0].differences[-1]


def test_config_rules_file_selects_copy(tmp_path, make_config):
    path = write_rules(tmp_path, edited('version = "2026-12-04 borrador 1"', 'version = "unidad 7"'))
    config = load_config(make_config(triage={"rules_file": str(path)}))

    assert ruleset_for(config).version == "unidad 7"


def test_config_without_rules_file_uses_packaged(make_config):
    config = load_config(make_config())

    assert ruleset_for(config).source == str(packaged_rules_path())


BROKEN_RULES = [
    ("unknown input", 'condition = "cyanosis == true"', 'condition = "cianosis == true"',
     "R03", "nombre de dato desconocido «cianosis»"),
    ("syntax error", 'condition = "chest_pain == true"', 'condition = "chest_pain == "',
     "R02", "la condición tiene un error de sintaxis en la línea 1, columna 15; revise paréntesis"),
    ("bad color", 'id = "R05"\ndescription = "Se desmayó, tosió sangre, vomita todo o lleva 12 horas sin '
     'orinar (pregunta 14)."\ncolor = "rojo"', 'id = "R05"\ndescription = "x"\ncolor = "naranja"',
     "R05", "color no válido «naranja»"),
    ("bad priority", 'id = "Y10"\ndescription = "Se siente peor que ayer (pregunta 16)."\ncolor = "amarillo"\n'
     'priority = "N"', 'id = "Y10"\ndescription = "x"\ncolor = "amarillo"\npriority = "B"',
     "Y10", "prioridad no válida «B»"),
    ("unknown function", 'condition = "confusion == true"', 'condition = "sospechoso(confusion)"',
     "R04", "función desconocida «sospechoso»"),
    ("unknown placeholder", 'es = "Se siente peor que ayer"', 'es = "Se siente peor que {ayer}"',
     "Y10", "«ayer» en la razón"),
    ("fails on null", 'condition = "temp != null && temp >= HYPERPYREXIA_C"',
     'condition = "temp >= HYPERPYREXIA_C"', "R07", "falla con datos de prueba"),
    ("not a boolean", 'condition = "spo2_unreadable"', 'condition = "spo2_raw"',
     "Y14", "no da true ni false"),
    ("yes/no compared with number", 'condition = "chest_pain == true"', 'condition = "chest_pain == 1"',
     "R02", "compara un dato de tipo sí/no con uno de tipo número en «chest_pain == 1»"),
    ("yes/no compared with text", 'condition = "cyanosis == true"', 'condition = "cyanosis == \'si\'"',
     "R03", "sí/no con uno de tipo texto en «cyanosis == 'si'»; valores de tipos distintos nunca coinciden"),
    ("number compared with text", 'condition = "temp != null && temp >= HYPERPYREXIA_C"',
     'condition = "temp != null && temp == \'40\'"', "R07",
     "compara un dato de tipo número con uno de tipo texto en «temp == '40'»"),
    ("number compared with yes/no", 'condition = "dyspnea_level != null && dyspnea_level >= DYSPNEA_RED_LEVEL"',
     'condition = "dyspnea_level != null && dyspnea_level != false"', "R01",
     "número con uno de tipo sí/no en «dyspnea_level != false»; valores de tipos distintos nunca coinciden, "
     "así que la regla no funcionaría: compare un número con un número sin comillas"),
    ("mixed types inside brackets", 'condition = "overall_trend == \'worse\'"',
     'condition = "!(overall_trend != null && (fever_today || overall_trend == 3))"', "Y10",
     "«overall_trend == 3»"),
    ("mixed types in a reason condition", 'when = "!has_oximeter"', 'when = "has_oximeter == 0"',
     "Y12", "«has_oximeter == 0»"),
    ("mixed types in a non-reporting rule", 'condition = "contact_hours >= SILENCE_CALL_A_HOURS"',
     'condition = "contact_hours >= \'48\'"', "N2", "«contact_hours >= '48'»"),
    ("division by zero", 'condition = "chest_pain == true"', 'condition = "chest_pain == true || 1 / 0 > 1"',
     "R02", "divide entre cero; revise el divisor (CEL: division by zero"),
    ("colour rule reading final color", 'condition = "last_record_color == \'rojo\' && !red_hit"',
     'condition = "triage_color == \'verde\'"', "Y18", "«triage_color»"),
]


@pytest.mark.parametrize("label, old, new, rule_id, problem", BROKEN_RULES, ids=[row[0] for row in BROKEN_RULES])
def test_broken_rule_stops_with_one_line(tmp_path, label, old, new, rule_id, problem):
    path = write_rules(tmp_path, edited(old, new))

    with pytest.raises(RulesError) as caught:
        load_ruleset(str(path))

    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: regla {rule_id}: ")
    assert problem in message


BROKEN_PARAMETERS = [
    ("wrong type", "FEVER_C = 38.0", 'FEVER_C = "38"', "FEVER_C", "debe ser un número"),
    ("out of range", "SPO2_STANDARD_RED_MAX = 92", "SPO2_STANDARD_RED_MAX = 120",
     "SPO2_STANDARD_RED_MAX", "entre 50 y 100"),
    ("not whole", "FEVER_STREAK_STANDARD = 3", "FEVER_STREAK_STANDARD = 2.5",
     "FEVER_STREAK_STANDARD", "número entero"),
    ("bands crossed", "SPO2_STANDARD_YELLOW_MAX = 94", "SPO2_STANDARD_YELLOW_MAX = 91",
     "SPO2_STANDARD_RED_MAX", "menor que SPO2_STANDARD_YELLOW_MAX"),
    ("unknown comorbidity", '"diabetes", "hypertension"', '"diabetes", "gota"',
     "HIGH_RISK_COMORBIDITIES", "comorbilidad desconocida: gota"),
    ("missing", "PREV_MAX_HOURS = 72\n", "", "PREV_MAX_HOURS", "falta el parámetro"),
    ("unknown", "PREV_MAX_HOURS = 72\n", "PREV_MAX_HOURS = 72\nPREV_MAX_HORAS = 72\n",
     "PREV_MAX_HORAS", "parámetro desconocido"),
    ("bad phrase", '"me agito",', '"me agito", "a*b",', "COMMENT_ALARM_PHRASES.breathing", "frase no válida"),
]


@pytest.mark.parametrize("label, old, new, name, problem", BROKEN_PARAMETERS,
                         ids=[row[0] for row in BROKEN_PARAMETERS])
def test_bad_parameter_stops_with_one_line(tmp_path, label, old, new, name, problem):
    path = write_rules(tmp_path, edited(old, new))

    with pytest.raises(RulesError) as caught:
        load_ruleset(str(path))

    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: parámetro {name}: ")
    assert problem in message


def test_library_error_wrapped_in_spanish(tmp_path):
    path = write_rules(tmp_path, edited('condition = "temp != null && temp >= HYPERPYREXIA_C"',
                                        'condition = "temp >= HYPERPYREXIA_C"'))

    with pytest.raises(RulesError) as caught:
        load_ruleset(str(path))

    message = str(caught.value)
    assert message.startswith(f"{path}: regla R07: la condición falla con datos de prueba: compara o combina "
                              "valores de tipos distintos, o un dato que vale null;")
    assert "pregunte «dato != null» antes de comparar" in message
    assert message.endswith("(CEL: No such overload: the operation is not defined for the given operand types.)")


def test_library_error_wrapped_in_english(tmp_path):
    path = write_rules(tmp_path, edited('condition = "temp != null && temp >= HYPERPYREXIA_C"',
                                        'condition = "temp >= HYPERPYREXIA_C"'))
    set_language("en")

    with pytest.raises(RulesError) as caught:
        load_ruleset(str(path))

    assert "rule R07: the condition fails on sample inputs: compares or combines values" in str(caught.value)


def test_every_input_has_declared_type():
    assert set(INPUTS) | set(STAGED_INPUTS) | set(NONREPORTING_INPUTS) <= set(INPUT_TYPES)


def test_trial_values_match_declared_types():
    python_types = {"yes_no": (bool,), "number": (int, float), "text": (str, date), "list": (list,)}
    parameters = load_ruleset().parameters

    for answers, profile, history in _trial_reports():
        context = build_context(answers, profile, history, _NOW, parameters["SPO2_MIN_VALID"])
        values = compute_inputs(context, parameters, load_ruleset().phrases)
        for name, value in values.items():
            if value is None:
                continue
            assert isinstance(value, python_types[INPUT_TYPES[name]]), name
            if INPUT_TYPES[name] == "number":
                assert not isinstance(value, bool), name


def test_duplicate_rule_id_rejected(tmp_path):
    path = write_rules(tmp_path, edited('id = "R02"', 'id = "R01"'))

    with pytest.raises(RulesError, match=r"regla R01: id repetido"):
        load_ruleset(str(path))


def test_invalid_toml_names_file(tmp_path):
    path = write_rules(tmp_path, PACKAGED + "\n[[rules]\n")

    with pytest.raises(RulesError, match=rf"^{path}: el archivo no es TOML válido"):
        load_ruleset(str(path))


def test_missing_file_names_file(tmp_path):
    with pytest.raises(RulesError, match="no se pudo leer el archivo de reglas"):
        load_ruleset(str(tmp_path / "no-existe.toml"))


def run_cli(*arguments):
    return CliRunner().invoke(build_cli(), list(arguments))


def test_check_command_valid_file():
    result = run_cli("rules", "check", str(packaged_rules_path()))

    assert result.exit_code == 0
    assert result.output.startswith("✓ ")
    assert "reglas válidas" in result.output


def test_check_command_broken_file(tmp_path):
    path = write_rules(tmp_path, edited('color = "rojo"\ncondition = "cyanosis == true"',
                                        'color = "rojo"\ncondition = "cianosis == true"'))

    result = run_cli("rules", "check", str(path))

    assert result.exit_code == 1
    assert result.output == f"✗ {path}: regla R03: nombre de dato desconocido «cianosis» en la condición\n"


def test_check_command_runs_reference_cases(tmp_path):
    path = write_rules(tmp_path, edited("FEVER_STREAK_STANDARD = 3", "FEVER_STREAK_STANDARD = 2"))

    result = run_cli("rules", "check", str(path))

    lines = result.output.splitlines()
    assert result.exit_code == 0
    assert lines[0].startswith(f"✓ {path}: reglas válidas")
    assert lines[1] == ("⚠ 2 de 90 casos clínicos de referencia dan otro resultado con estas reglas; "
                        "confirme que cada cambio es intencional:")
    assert lines[2].startswith("⚠ T36: color: se esperaba verde, se obtuvo amarillo")
    assert lines[3] == "⚠ T41: rules: se esperaba ['Y08'], se obtuvo ['Y07', 'Y08']"
    assert len(lines) == 4


def test_check_command_packaged_rules_no_warnings():
    result = run_cli("rules", "check")

    assert result.exit_code == 0
    assert "⚠" not in result.output


def test_check_command_rejects_rule_that_cannot_fire(tmp_path):
    path = write_rules(tmp_path, edited('condition = "chest_pain == true"', 'condition = "chest_pain == 1"'))

    result = run_cli("rules", "check", str(path))

    assert result.exit_code == 1
    assert result.output.startswith(f"✗ {path}: regla R02: la condición compara un dato de tipo sí/no")
    assert "reglas válidas" not in result.output


def test_packaged_case_tables_match_test_data():
    shipped = [path.read_text(encoding="utf-8") for path in packaged_case_paths()]

    assert shipped == [TRIAGE_CASES.read_text(encoding="utf-8"), NONREPORTING_CASES.read_text(encoding="utf-8")]


def test_show_command_lists_rules_and_inputs():
    result = run_cli("rules", "show", "--inputs")

    assert result.exit_code == 0
    assert "Y13  AMARILLO A  Seguridad: una pregunta de alarma" in result.output
    assert "D1   bandera" in result.output
    assert "  fever_streak: " in result.output
    assert "  contact_hours: " in result.output


def test_macro_variable_is_not_an_unknown_input(tmp_path):
    path = write_rules(tmp_path, edited('condition = "size(comment_phrases) > 0"',
                                        'condition = "comment_phrases.exists(phrase, phrase != \'\')"'))

    assert run_cases([case("T58"), case("T60")], load_ruleset(str(path))) == []
