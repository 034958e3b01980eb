"""Display names: stored codes and answers as staff read them, in Spanish or English."""

import pytest

from mailtriage.display_names import (
    COMORBIDITY_NAMES, FIELD_NAMES, answers_text, display_list, display_name,
)
from mailtriage.i18n import set_language

# One answer of every kind the questionnaire stores, as the pipeline stores them.
ANSWERS = {
    "fever": True, "temperature_c": 38.5, "cough": False, "dyspnea_level": 1, "spo2": 93,
    "overall_trend": "same", "comments": "tengo tos seca",
}


@pytest.fixture
def english():
    set_language("en")
    yield
    set_language("es")


def test_answers_in_spanish_words():
    set_language("es")

    text = answers_text(ANSWERS, {})

    assert text == ("fiebre: sí; temperatura: 38.5 °C; tos: no; respiración: B; "
                    "oxigenación: 93%; cómo se siente: igual; comentarios: «tengo tos seca»")


def test_answers_in_english_words(english):
    text = answers_text(ANSWERS, {})

    assert "fever: yes" in text
    assert "breathing: B" in text
    assert "how you feel: same" in text
    assert "oxygen saturation: 93%" in text


def test_answers_show_no_internal_keys():
    set_language("es")

    text = answers_text(ANSWERS | {"body_aches": False, "chest_pain": False}, {})

    for key in ("body_aches", "chest_pain", "overall_trend", "dyspnea_level", "True", "False"):
        assert key not in text
    assert "dolor de músculos: no" in text
    assert "dolor en el pecho: no" in text


def test_whole_temperature_without_decimal():
    set_language("es")

    assert answers_text({"temperature_c": 38.0}, {}) == "temperatura: 38 °C"


def test_unreadable_answer_shows_raw_text():
    set_language("es")

    text = answers_text({}, {"spo2": {"raw": "noventa y algo", "why": "not_a_number"}})

    assert text == "oxigenación: ilegible «noventa y algo»"


def test_unknown_key_kept_visible():
    set_language("es")

    assert answers_text({"old_question": 3}, {}) == "old_question: 3"


def test_no_answers_is_dash():
    assert answers_text({}, None) == "-"


def test_comorbidities_in_spanish():
    set_language("es")

    assert display_list(COMORBIDITY_NAMES, ["copd", "diabetes", "ckd"]) == (
        "EPOC, diabetes, enfermedad renal crónica")


def test_field_names_follow_language(english):
    assert display_name(FIELD_NAMES, "phone") == "phone"
    set_language("es")
    assert display_name(FIELD_NAMES, "phone") == "teléfono"
    assert display_name(FIELD_NAMES, "social_security_number") == "NSS"


def test_unknown_code_shown_as_stored():
    assert display_name(COMORBIDITY_NAMES, "gout") == "gout"
    assert display_name(COMORBIDITY_NAMES, None) == "-"
