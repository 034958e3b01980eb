"""Matching a reading to a patient: folio, then thread ids, then sender, never a foreign folio."""

from mailtriage.contracts import (
    ANSWER, AUTOREPLY, FOLIO_MISMATCH, UNKNOWN_FOLIO, UNKNOWN_SENDER, MessageReading,
)
from mailtriage.matching import IssuanceRef, match_reading
from mailtriage.parser import find_folio

ANA = IssuanceRef(id=10, folio="K7QM2XPD", patient_id=1, patient_email="Ana.Torres@example.com")
JOSE = IssuanceRef(id=20, folio="2EG8NW7K", patient_id=2, patient_email="jose@example.mx")
QUESTIONNAIRE_ID = "<q-20261204-K7QM2XPD@automonitoreo.example.mx>"


class Directory:
    """A store with two patients, each with one issuance."""

    patients = {"ana.torres@example.com": 1, "jose@example.mx": 2}
    issuances = {ANA.folio: ANA, JOSE.folio: JOSE}
    message_ids = {QUESTIONNAIRE_ID: ANA}

    def patient_by_email(self, address):
        return self.patients.get(address)

    def issuance_by_folio(self, folio):
        return self.issuances.get(folio)

    def issuance_by_message_id(self, message_id):
        return self.message_ids.get(message_id)


def reading(**fields):
    return MessageReading(kind=ANSWER, **fields)


def test_folio_first():
    match = match_reading(reading(sender="ana.torres@example.com", folio="K7QM2XPD"), Directory())

    assert match.kind == ANSWER
    assert match.patient_id == 1
    assert match.issuance_id == 10
    assert match.matched_by == "folio"


def test_in_reply_to_without_folio_text():
    match = match_reading(reading(sender="ana.torres@example.com", in_reply_to=[QUESTIONNAIRE_ID]),
                          Directory())

    assert match.matched_by == "in_reply_to"
    assert match.folio == "K7QM2XPD"


def test_sender_only():
    match = match_reading(reading(sender="jose@example.mx", in_reply_to=["<other@example.mx>"]),
                          Directory())

    assert match.kind == ANSWER
    assert match.patient_id == 2
    assert match.folio is None
    assert match.matched_by == "sender"


def test_unknown_sender_even_with_valid_folio():
    match = match_reading(reading(sender="hija@example.com", folio="K7QM2XPD"), Directory())

    assert match.kind == UNKNOWN_SENDER
    assert match.patient_id is None


def test_unknown_folio_not_attached():
    match = match_reading(reading(sender="jose@example.mx", folio="W9BD4HTK"), Directory())

    assert match.kind == UNKNOWN_FOLIO
    assert match.folio == "W9BD4HTK"
    assert match.patient_id is None


def test_unknown_questionnaire_id_is_unknown_folio():
    old_id = "<q-20250714-W9BD4HTK@automonitoreo.example.mx>"
    match = match_reading(reading(sender="jose@example.mx", in_reply_to=[old_id]), Directory())

    assert match.kind == UNKNOWN_FOLIO
    assert match.folio == "W9BD4HTK"


def test_foreign_folio_is_mismatch():
    match = match_reading(reading(sender="jose@example.mx", folio="K7QM2XPD"), Directory())

    assert match.kind == FOLIO_MISMATCH
    assert match.folio == "K7QM2XPD"
    assert match.patient_id is None


def test_non_answer_kinds_pass_through():
    match = match_reading(MessageReading(kind=AUTOREPLY, sender="ana.torres@example.com"), Directory())

    assert match.kind == AUTOREPLY
    assert match.patient_id is None


def test_folio_forms():
    assert find_folio("Re: Cuestionario [Folio K7QM-2XPD]", None, "") == "K7QM2XPD"
    assert find_folio("Re: K7QM2XPD", None, "") == "K7QM2XPD"
    assert find_folio("hola", "6HTWV55R", "") == "6HTWV55R"
    assert find_folio("hola", None, "mi folio es k7qm2xpd") == "K7QM2XPD"
    assert find_folio("hola", None, "Folio: 7yt2-ys9v") == "7YT2YS9V"


def test_words_and_phone_numbers_are_not_folios():
    assert find_folio("hola", None, "Tel. 5552-3456, mama-papa, código AB23CD45") is None
