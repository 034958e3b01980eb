"""`mailtriage patients`: add, list, show, edit, discharge and import through the CLI."""

import pytest
from click.testing import CliRunner
from openpyxl import Workbook

from mailtriage.calls import log_call
from mailtriage.models import AuditEvent, CallListEntry, OutboxMessage, Patient

from staffing import add_report, close_store, enrol, open_store

ADD = ["patients", "add", "--first-name", "Ana", "--last-name", "López", "--birth-date",
       "02/05/1980", "--sex", "F", "--email", "ana@example.org", "--phone", "6121234567",
       "--comorbidities", "diabetes,hipertensión", "--has-oximeter", "no", "--staff", "Enf. Soto"]

HEADER = ["nombre", "apellidos", "fecha_nacimiento", "sexo", "unidad", "correo", "telefono",
          "comorbilidades", "nss"]
GOOD_ROW = ["Ana", "López", "1980-05-02", "F", "UMF-34", "ana@example.org", "6121234567", "", ""]
BAD_ROW = ["Luis", "", "1975-13-01", "M", "UMF-34", "luis@example.org", "6127654321", "gota", ""]


@pytest.fixture
def config(make_config):
    yield open_store(make_config)
    close_store()


def run(config, *arguments):
    from mailtriage.cli import build_cli

    return CliRunner().invoke(build_cli(), ["--config", str(config.path), *arguments])


def write_csv(path, rows):
    path.write_text("\n".join(",".join(row) for row in rows) + "\n", encoding="utf-8")
    return path


def test_add_enrols_and_queues_welcome(config):
    result = run(config, *ADD)

    assert result.exit_code == 0, result.output
    assert "Paciente 1 registrado" in result.output
    patient = Patient.get()
    assert patient.comorbidities == ["diabetes", "hypertension"]
    assert patient.enrolled_by == "Enf. Soto"
    assert OutboxMessage.get().kind == "welcome"


def test_add_invalid_prints_one_line(config):
    result = run(config, "patients", "add", "--first-name", "Ana")

    assert result.exit_code != 0
    assert "faltan los apellidos" in str(result.exception)
    assert Patient.select().count() == 0


def test_list_shows_last_color(config):
    patient = enrol(config)
    add_report(patient, "amarillo", "N")

    result = run(config, "patients", "list")

    assert result.exit_code == 0, result.output
    row = result.output.splitlines()[1]
    assert "Ana López Pérez" in row
    assert "amarillo" in row
    assert "04/12/2026 09:30" in row


def test_show_timeline_oldest_first(config):
    patient = enrol(config)
    add_report(patient, "amarillo", "A", ["SpO2 93%"], answers={"spo2": 93})
    log_call(patient.id, "contestada", "Se citó mañana", "Enf. Soto")

    result = run(config, "patients", "show", str(patient.id))

    assert result.exit_code == 0, result.output
    text = result.output
    assert text.index("Registro por enfermera") < text.index("Reporte 1: AMARILLO") < text.index("Llamada")
    assert "respuestas: oxigenación: 93%" in text
    assert "motivo: SpO2 93%" in text
    assert "Se citó mañana" in text


def test_show_cuts_long_comment(config):
    from mailtriage.models import Report

    patient = enrol(config)
    comment = "tos seca y cansancio " * 40_000
    report = add_report(patient, "verde", answers={"comments": comment})

    result = run(config, "patients", "show", str(patient.id))

    assert result.exit_code == 0, result.output
    assert len(result.output) < 5000
    assert f"(recortado, {len(comment)} caracteres)" in result.output
    assert Report.get_by_id(report.id).answers["comments"] == comment


def test_show_unknown_patient(config):
    result = run(config, "patients", "show", "99")

    assert "no existe el paciente 99" in str(result.exception)


def test_edit_changes_only_given_fields(config):
    patient = enrol(config)

    result = run(config, "patients", "edit", str(patient.id), "--phone", "6120000000")

    assert result.exit_code == 0, result.output
    stored = Patient.get_by_id(patient.id)
    assert stored.phone == "6120000000"
    assert stored.email == "ana.lopez@example.org"


def test_discharge_rejected_with_open_call(config):
    patient = enrol(config)
    add_report(patient, "rojo")

    result = run(config, "patients", "discharge", str(patient.id), "--reason", "recuperado")

    assert result.exit_code != 0
    assert "llamada(s) pendiente(s)" in str(result.exception)
    assert Patient.get_by_id(patient.id).status == "monitoring"


def test_discharge_forced_closes_calls(config):
    patient = enrol(config)
    add_report(patient, "rojo")

    result = run(config, "patients", "discharge", str(patient.id), "--reason", "hospitalized",
                 "--force", "--staff", "Dra. Ruiz")

    assert result.exit_code == 0, result.output
    stored = Patient.get_by_id(patient.id)
    assert stored.status == "discharged"
    assert stored.discharge_reason == "hospitalizado"
    assert stored.discharged_by == "Dra. Ruiz"
    assert CallListEntry.select().where(CallListEntry.closed_at.is_null()).count() == 0
    assert AuditEvent.select().where(AuditEvent.action == "discharge").get().detail["forced"] is True


def test_discharge_stops_questionnaires(config):
    from mailtriage.questionnaires import NotMonitoredError, issue_questionnaire

    patient = enrol(config)
    run(config, "patients", "discharge", str(patient.id), "--reason", "recovered")

    with pytest.raises(NotMonitoredError):
        issue_questionnaire(Patient.get_by_id(patient.id), config.units[0], config, kind="on_demand")


def test_discharge_unknown_reason(config):
    patient = enrol(config)

    result = run(config, "patients", "discharge", str(patient.id), "--reason", "mejoria")

    assert "motivo de alta no válido «mejoria»" in str(result.exception)


def test_import_csv_all_valid(config, tmp_path):
    second = GOOD_ROW[:5] + ["eva@example.org", "6125550000", "asma", "01234567890"]
    path = write_csv(tmp_path / "lista.csv", [HEADER, GOOD_ROW, second])

    result = run(config, "patients", "import", str(path))

    assert result.exit_code == 0, result.output
    assert Patient.select().count() == 2
    assert OutboxMessage.select().where(OutboxMessage.kind == "welcome").count() == 2
    assert AuditEvent.select().where(AuditEvent.action == "import").get().detail["enrolled"] == 2


def test_import_bad_row_imports_nothing(config, tmp_path):
    path = write_csv(tmp_path / "lista.csv", [HEADER, GOOD_ROW, BAD_ROW])

    result = run(config, "patients", "import", str(path))

    assert result.exit_code != 0
    assert "Línea 3:" in result.output
    assert "faltan los apellidos" in result.output
    assert "comorbilidad desconocida «gota»" in result.output
    assert Patient.select().count() == 0


def test_import_skip_invalid(config, tmp_path):
    path = write_csv(tmp_path / "lista.csv", [HEADER, GOOD_ROW, BAD_ROW])

    result = run(config, "patients", "import", str(path), "--skip-invalid")

    assert result.exit_code == 0, result.output
    assert "1 paciente(s) registrado(s); 1 fila(s) omitida(s)" in result.output
    assert Patient.select().count() == 1


def test_import_repeated_email_in_file(config, tmp_path):
    path = write_csv(tmp_path / "lista.csv", [HEADER, GOOD_ROW, GOOD_ROW])

    result = run(config, "patients", "import", str(path))

    assert "Línea 3: correo repetido en la línea 2" in result.output


def test_import_xlsx_with_dates_and_numbers(config, tmp_path):
    from datetime import datetime

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Nombre", "Apellidos", "Fecha de nacimiento", "Sexo", "Unidad", "Correo",
                  "Teléfono", "NSS", "Oxímetro"])
    sheet.append(["Ana", "López", datetime(1980, 5, 2), "F", "UMF-34", "ana@example.org",
                  6121234567, 1234567890, True])
    path = tmp_path / "lista.xlsx"
    workbook.save(path)

    result = run(config, "patients", "import", str(path))

    assert result.exit_code == 0, result.output
    patient = Patient.get()
    assert patient.birth_date.isoformat() == "1980-05-02"
    assert patient.social_security_number == "01234567890"
    assert patient.has_oximeter is True


def test_import_unknown_column(config, tmp_path):
    path = write_csv(tmp_path / "lista.csv", [HEADER + ["curp"], GOOD_ROW + ["X"]])

    result = run(config, "patients", "import", str(path))

    assert "columnas desconocidas: curp" in str(result.exception)


def test_discharge_skips_unsent_questionnaire(config):
    patient = enrol(config)

    run(config, "patients", "discharge", str(patient.id), "--reason", "rechazo")

    welcome = OutboxMessage.get(OutboxMessage.patient == patient)
    assert welcome.status == "skipped"
    assert welcome.last_error == "alta médica"


# Names staff read: nothing internal or English in a Spanish session

def test_show_uses_spanish_names(config):
    patient = enrol(config, comorbidities="EPOC, diabetes")
    add_report(patient, "verde", answers={"chest_pain": False, "dyspnea_level": 0,
                                          "overall_trend": "better"})
    log_call(patient.id, "sin_respuesta", "", "Enf. Soto")
    run(config, "patients", "discharge", str(patient.id), "--reason", "defunción", "--force")

    result = run(config, "patients", "show", str(patient.id))

    assert result.exit_code == 0, result.output
    text = result.output
    assert "Comorbilidades: EPOC, diabetes" in text
    assert "respuestas: respiración: A; dolor en el pecho: no; cómo se siente: mejor" in text
    assert "Llamada 1 por Enf. Soto: sin respuesta." in text
    assert "Alta médica (defunción)" in text
    for internal in ("copd", "chest_pain", "overall_trend", "False", "sin_respuesta", "defuncion"):
        assert internal not in text


def test_edit_names_fields_in_spanish(config):
    patient = enrol(config)

    result = run(config, "patients", "edit", str(patient.id), "--phone", "6127654321",
                 "--alt-contact", "Eva 6125550000")

    assert result.exit_code == 0, result.output
    assert "Paciente 1 actualizado: contacto alterno, teléfono." in result.output


def test_english_show_and_edit(make_config):
    config = open_store(make_config, general={"language": "en"})
    try:
        patient = enrol(config, comorbidities="EPOC")
        edit_result = run(config, "patients", "edit", str(patient.id), "--phone", "6127654321")
        show_result = run(config, "patients", "show", str(patient.id))
    finally:
        close_store()

    assert "Patient 1 updated: phone." in edit_result.output
    assert "Comorbidities: COPD" in show_result.output
    assert "Status: under monitoring" in show_result.output


@pytest.mark.parametrize("reason", ["defunción", "deceased", "DEFUNCION"])
def test_discharge_reason_either_language(config, reason):
    patient = enrol(config)

    result = run(config, "patients", "discharge", str(patient.id), "--reason", reason)

    assert result.exit_code == 0, result.output
    assert "dado de alta (defunción)" in result.output
    assert Patient.get().discharge_reason == "defuncion"


def test_discharge_unknown_reason_lists_spanish(config):
    patient = enrol(config)

    result = run(config, "patients", "discharge", str(patient.id), "--reason", "mejoria")

    message = str(result.exception)
    assert "recuperado, hospitalizado, referido, rechazo, defunción" in message
    assert "recovered" not in message


def test_add_help_says_first_questionnaire_queued(config):
    result = run(config, "patients", "add", "--help")

    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "deja en la bandeja de salida su bienvenida con el primer cuestionario" in text
    assert "siguiente pasada" in text


# Units and text fields

def test_add_unit_code_ignores_case(config):
    result = run(config, *ADD, "--unit", "umf-34")

    assert result.exit_code == 0, result.output
    assert Patient.get().unit.code == "UMF-34"


def test_list_unit_ignores_case(config):
    enrol(config)

    result = run(config, "patients", "list", "--unit", "umf-34")

    assert result.exit_code == 0, result.output
    assert "Ana López Pérez" in result.output


def test_list_unknown_unit_names_configured(config):
    result = run(config, "patients", "list", "--unit", "UMF-99")

    assert result.exit_code != 0
    message = str(result.exception)
    assert "unidad desconocida «UMF-99»" in message
    assert "UMF-34" in message


@pytest.mark.parametrize("name", ["Ana\nMaría", "Ana\rMaría", "Ana\x07", "Ana\u2028María"])
def test_add_rejects_control_characters(config, name):
    arguments = list(ADD)
    arguments[arguments.index("Ana")] = name

    result = run(config, *arguments)

    assert result.exit_code != 0
    assert "nombre: contiene un salto de línea o un carácter de control" in str(result.exception)
    assert Patient.select().count() == 0


# Reading list files

def test_import_binary_file_one_line(config, tmp_path):
    path = tmp_path / "lista.csv"
    path.write_bytes(b"nombre,apellidos\nAna,L\xf3pez\n\x00\x9d\xff\x10binario\n")

    result = run(config, "patients", "import", str(path))

    assert result.exit_code != 0
    assert type(result.exception).__name__ == "ImportFileError"
    assert str(result.exception).startswith("lista.csv, línea 3: el archivo no es texto CSV")
    assert Patient.select().count() == 0


def test_import_undecodable_bytes_named_by_line(config, tmp_path):
    path = tmp_path / "lista.csv"
    # 0x81 is undefined in Windows-1252 and invalid as UTF-8.
    path.write_bytes(",".join(HEADER).encode() + b"\nAna,L\x81pez\n")

    result = run(config, "patients", "import", str(path))

    assert str(result.exception).startswith("lista.csv, línea 2: el archivo no es texto CSV")


def test_import_doubled_quote_keeps_phone(config, tmp_path):
    path = tmp_path / "lista.csv"
    header = HEADER[:7] + ["contacto_alterno"]
    row = ",".join(GOOD_ROW[:7]) + ',"Juan ""Güero"" Paz, 6121112233"'
    path.write_text(",".join(header) + "\n" + row + "\n", encoding="utf-8")

    result = run(config, "patients", "import", str(path))

    assert result.exit_code == 0, result.output
    patient = Patient.get()
    assert patient.alt_contact == 'Juan "Güero" Paz, 6121112233'
    assert patient.phone == "6121234567"


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_import_semicolon_and_tab(config, tmp_path, delimiter):
    path = tmp_path / "lista.csv"
    path.write_text("\n".join(delimiter.join(row) for row in [HEADER, GOOD_ROW]) + "\n",
                    encoding="utf-8")

    result = run(config, "patients", "import", str(path))

    assert result.exit_code == 0, result.output
    assert Patient.get().email == "ana@example.org"


def test_import_quoted_semicolon_file(config, tmp_path):
    path = tmp_path / "lista.csv"
    row = ";".join(GOOD_ROW[:7]) + ';"diabetes; asma"'
    path.write_text(";".join(HEADER[:8]) + "\n" + row + "\n", encoding="utf-8")

    result = run(config, "patients", "import", str(path))

    assert result.exit_code != 0
    assert "comorbilidad desconocida «diabetes; asma»" in result.output


def test_import_windows_1252_and_bom(config, tmp_path):
    lines = "\r\n".join(",".join(row) for row in [HEADER, GOOD_ROW]) + "\r\n"
    cp1252 = write_bytes(tmp_path / "excel.csv", lines.encode("cp1252"))
    with_bom = write_bytes(tmp_path / "bom.csv", lines.replace("ana@", "eva@").encode("utf-8-sig"))

    for path in (cp1252, with_bom):
        result = run(config, "patients", "import", str(path))
        assert result.exit_code == 0, result.output
    assert [patient.last_name for patient in Patient.select()] == ["López", "López"]


def test_import_unclosed_quote_names_line(config, tmp_path):
    path = tmp_path / "lista.csv"
    row = ",".join(GOOD_ROW[:7]) + ',"diabetes'
    path.write_text(",".join(HEADER[:8]) + "\n" + row + "\n", encoding="utf-8")

    result = run(config, "patients", "import", str(path))

    assert type(result.exception).__name__ == "ImportFileError"
    assert "lista.csv, línea 2: no se pudo leer la fila CSV" in str(result.exception)


def test_import_rejects_line_break_in_name(config, tmp_path):
    path = tmp_path / "lista.csv"
    row = '"Ana\nMaría",' + ",".join(GOOD_ROW[1:])
    path.write_text(",".join(HEADER) + "\n" + row + "\n", encoding="utf-8")

    result = run(config, "patients", "import", str(path))

    assert "nombre: contiene un salto de línea" in result.output
    assert Patient.select().count() == 0


def test_import_error_lists_spanish_comorbidities(config, tmp_path):
    path = write_csv(tmp_path / "lista.csv", [HEADER, BAD_ROW])

    result = run(config, "patients", "import", str(path))

    assert "válidas: diabetes, hipertensión, obesidad, EPOC" in result.output
    assert "copd" not in result.output


def write_bytes(path, content):
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("content", [b"nombre,apellidos\nAna,L\n", b"PK\x03\x04not really a zip"])
def test_import_damaged_workbook_one_line(config, tmp_path, content):
    path = write_bytes(tmp_path / "lista.xlsx", content)

    result = run(config, "patients", "import", str(path))

    assert type(result.exception).__name__ == "ImportFileError"
    assert str(result.exception).startswith("lista.xlsx: no es un libro de Excel válido")


def test_import_zip_without_workbook(config, tmp_path):
    import zipfile

    path = tmp_path / "lista.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hola.txt", "no es un libro")

    result = run(config, "patients", "import", str(path))

    assert type(result.exception).__name__ == "ImportFileError"
    assert "no es un libro de Excel válido" in str(result.exception)
