"""The reply corpus: every case folder is read and matched exactly as its expected.json states.

Set CORPUS_DIR to run the same checks on another folder laid out the same way
(case folders with message.eml and expected.json, plus roster.json).
"""

import json
import os
import unicodedata
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from mailtriage.contracts import ANSWER, FOLIO_MISMATCH, UNKNOWN_FOLIO, UNKNOWN_SENDER
from mailtriage.matching import StoreDirectory, match_reading
from mailtriage.models import Issuance, Patient, Unit, database_proxy, open_database
from mailtriage.parser import parse_message

CORPUS = Path(os.environ.get("CORPUS_DIR", Path(__file__).parent / "data" / "corpus"))
ROSTER = json.loads((CORPUS / "roster.json").read_text(encoding="utf-8"))
CASES = sorted(path for path in CORPUS.iterdir() if (path / "message.eml").is_file())
MAX_BYTES = ROSTER["config"]["max_message_bytes"]


def normalise_comment(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split()).strip().casefold()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A SQLite store holding the roster's patients and issuances; maps database ids to roster ids."""
    path = tmp_path_factory.mktemp("corpus") / "store.sqlite"
    database = open_database(f"sqlite:///{path}")
    unit = Unit.create(code="TEST", name="Unidad de prueba", timezone=ROSTER["config"]["timezone"])
    now = datetime.now(timezone.utc)

    roster_ids = {}
    for entry in ROSTER["patients"]:
        patient = Patient.create(unit=unit, first_name=entry["name"], email=entry["email"],
                                 birth_date=date(1970, 1, 1), enrolled_at=now)
        roster_ids[patient.id] = entry["id"]
        for issued in entry.get("issuances", []):
            # A roster may leave the Message-ID out; matching then relies on the folio.
            message_id = issued.get("message_id") or f"<q-{issued['date']}-{issued['folio']}@corpus.invalid>"
            Issuance.create(patient=patient, local_date=date.fromisoformat(issued["date"]),
                            folio=issued["folio"], message_id=message_id, created_at=now)
    yield database, roster_ids
    database.close()


@pytest.mark.parametrize("case", CASES, ids=lambda path: path.name)
def test_case(case, store):
    database, roster_ids = store
    database_proxy.initialize(database)
    raw = (case / "message.eml").read_bytes()
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))

    reading = parse_message(raw, MAX_BYTES)
    match = match_reading(reading, StoreDirectory())

    assert match.kind == expected["kind"]
    if expected["kind"] == ANSWER:
        assert roster_ids[match.patient_id] == expected["patient"]
        assert match.folio == expected["folio"]
        assert match.matched_by == expected["matched_by"]
        assert_answers(reading, expected)
    elif expected["kind"] in (UNKNOWN_FOLIO, FOLIO_MISMATCH):
        assert match.folio == expected["folio"]
        assert match.patient_id is None
    elif expected["kind"] == UNKNOWN_SENDER:
        assert match.patient_id is None


def assert_answers(reading, expected):
    assert set(reading.unanswered) == set(expected["unanswered"])
    assert set(reading.unreadable) == set(expected["unreadable"])
    assert reading.answers.keys() == expected["answers"].keys()
    for key, why in expected.get("unreadable_detail", {}).items():
        assert reading.unreadable[key].why == why["why"], key

    for key, value in expected["answers"].items():
        if key in ("temperature_c", "spo2"):
            assert abs(reading.answers[key] - value) <= 0.1, key
        elif key in ("dyspnea_level", "overall_trend"):
            assert reading.answers[key] == value, key
        elif key == "comments":
            assert normalise_comment(reading.answers[key]) == normalise_comment(value)
        else:
            assert reading.answers[key] is value, key
