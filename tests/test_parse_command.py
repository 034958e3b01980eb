"""`mailtriage parse`: one message or a folder, with or without the store."""

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailtriage import clock
from mailtriage.cli import build_cli
from mailtriage.models import Issuance

from staffing import close_store, enrol, open_store

CORPUS = Path(__file__).parent / "data" / "corpus"


def corpus_message(prefix: str) -> Path:
    return next(CORPUS.glob(f"{prefix}_*")) / "message.eml"


@pytest.fixture
def config(make_config):
    yield open_store(make_config)
    close_store()


def run(config, *arguments):
    return CliRunner().invoke(build_cli(), ["--config", str(config.path), "parse", *arguments])


def test_no_store_json_reports_message_alone(config):
    result = run(config, str(corpus_message("S22")), "--no-store", "--json")

    assert result.exit_code == 0, result.output
    parsed = json.loads(result.output)
    assert parsed["kind"] == "answer"
    assert parsed["folio"] == "C9MZE8X7"
    assert parsed["patient"] is None
    assert parsed["answers"]["temperature_c"] == 38.5
    assert parsed["unanswered"] == []


def test_store_matches_patient_by_folio(config):
    patient = enrol(config, email="ana.torres@example.com")
    # Enrolment already issued today's questionnaire, so this one is dated the day before.
    Issuance.create(patient=patient, local_date=date(2026, 12, 3), folio="K7QM2XPD",
                    message_id="<q-20261204-K7QM2XPD@automonitoreo.example.mx>", created_at=clock.now())

    result = run(config, str(corpus_message("S01")), "--json")

    assert result.exit_code == 0, result.output
    parsed = json.loads(result.output)
    assert parsed["kind"] == "answer"
    assert parsed["patient"] == patient.id
    assert parsed["matched_by"] == "folio"


def test_store_without_patient_is_unknown_sender(config):
    result = run(config, str(corpus_message("S01")), "--json")

    parsed = json.loads(result.output)
    assert parsed["kind"] == "unknown_sender"
    assert parsed["patient"] is None
    assert parsed["answers"] == {}


def test_spanish_summary_names_questions(config):
    result = run(config, str(corpus_message("S43")), "--no-store")

    assert result.exit_code == 0, result.output
    assert "Tipo: respuesta" in result.output
    assert "Sin contestar: 3 (fiebre después del paracetamol)" in result.output
    assert "«no sé» (no es sí ni no)" in result.output


def test_max_bytes_overrides_config(config):
    result = run(config, str(corpus_message("S13")), "--no-store", "--json", "--max-bytes", "100")

    assert json.loads(result.output)["kind"] == "oversize"


def test_folder_summary_counts(config, tmp_path):
    folder = tmp_path / "mensajes"
    folder.mkdir()
    for prefix in ("S22", "S43", "S28"):
        shutil.copy(corpus_message(prefix), folder / f"{prefix}.eml")

    result = run(config, str(folder), "--no-store", "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"full": 1, "partial": 1, "none": 0, "not_answer": 1}
