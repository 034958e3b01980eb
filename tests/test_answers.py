"""Reading one answer's text: yes/no, numbers, choices, not-measured words, and locating answers."""

import pytest

from mailtriage.answers import find_answer_texts
from mailtriage.answervalues import read_value
from mailtriage.contracts import (
    AMBIGUOUS, CONFLICTING, NOT_A_CHOICE, NOT_A_NUMBER, NOT_YES_NO, OUT_OF_RANGE,
)
from mailtriage.questions import DEFAULT_QUESTIONS

QUESTIONS = {question.key: question for question in DEFAULT_QUESTIONS}


def read(key, text):
    return read_value(QUESTIONS[key], text)


@pytest.mark.parametrize("text", [
    "si", "sí", "SI", "Sí.", "s", "yes", "y", "x", "✓", "✔", "✔\ufe0f", "si tengo", "sí, un poco",
    "afirmativo", "[x]", "[X]", "Sí, desde anoche", "si un poco",
])
def test_yes_forms_read_true(text):
    assert read("cough", text).value is True


@pytest.mark.parametrize("text", [
    "no", "NO.", "n", "no tengo", "ninguno", "ninguna", "nada", "negativo", "[ ]", "no gracias",
])
def test_no_forms_read_false(text):
    assert read("cough", text).value is False


@pytest.mark.parametrize("text, why", [
    ("tal vez", NOT_YES_NO),
    ("no sé", NOT_YES_NO),
    ("poquito", NOT_YES_NO),
    ("si no", CONFLICTING),
    ("no, bueno si", CONFLICTING),
])
def test_unclear_yes_no_is_unreadable(text, why):
    value = read("chest_pain", text)

    assert value.value is None
    assert value.unreadable.why == why
    assert value.unreadable.raw == text


@pytest.mark.parametrize("text", ["", "   ", "\u00a0", "."])
def test_blank_is_unanswered_not_no(text):
    value = read("chest_pain", text)

    assert not value.answered


@pytest.mark.parametrize("text, celsius", [
    ("38.5", 38.5), ("38,5", 38.5), ("38.5 °C", 38.5), ("38.5°", 38.5), ("38 grados", 38.0),
    ("101.3 F", 38.5), ("101.3 °F", 38.5), ("101.3", 38.5), ("36", 36.0),
])
def test_temperature_forms(text, celsius):
    assert read("temperature_c", text).value == pytest.approx(celsius, abs=0.05)


@pytest.mark.parametrize("text, why", [
    ("45", OUT_OF_RANGE), ("33.9", OUT_OF_RANGE), ("120 F", OUT_OF_RANGE),
    ("38-39", AMBIGUOUS), ("entre 38 y 39", AMBIGUOUS), ("alta", NOT_A_NUMBER),
])
def test_unreadable_temperatures(text, why):
    assert read("temperature_c", text).unreadable.why == why


@pytest.mark.parametrize("text, percent", [("92", 92), ("92%", 92), ("92 %", 92), ("sat 92", 92),
                                           ("100", 100), ("50", 50)])
def test_spo2_forms(text, percent):
    assert read("spo2", text).value == percent


@pytest.mark.parametrize("text, why", [("101", OUT_OF_RANGE), ("49", OUT_OF_RANGE),
                                       ("90-92", AMBIGUOUS), ("bien", NOT_A_NUMBER)])
def test_unreadable_spo2(text, why):
    assert read("spo2", text).unreadable.why == why


@pytest.mark.parametrize("key, text", [
    ("temperature_c", "no la medí"), ("temperature_c", "no tengo termómetro"),
    ("spo2", "no tengo oxímetro"), ("spo2", "n/a"), ("spo2", "-"),
    ("fever_unresponsive", "no tomé medicamento"),
])
def test_not_measured_words_are_unanswered(key, text):
    assert not read(key, text).answered


def test_value_beside_not_measured_words_is_read():
    assert read("temperature_c", "no tengo termómetro pero creo 38").value == 38.0
    assert read("spo2", "sin oxímetro, 90-95").unreadable.why == AMBIGUOUS


def test_no_tengo_on_item_three_is_no():
    assert read("fever_unresponsive", "no tengo").value is False


@pytest.mark.parametrize("text, level", [
    ("a", 0), ("A", 0), ("b", 1), ("B)", 1), ("la B", 1), ("C", 2), ("d", 3),
    ("B o C", 2), ("0", 0), ("1", 1), ("2", 2), ("3", 3), ("4", 3),
])
def test_breathing_choices(text, level):
    assert read("dyspnea_level", text).value == level


@pytest.mark.parametrize("text", ["bien", "7", "regular"])
def test_breathing_non_choice_is_unreadable(text):
    assert read("dyspnea_level", text).unreadable.why == NOT_A_CHOICE


@pytest.mark.parametrize("text, trend", [
    ("mejor", "better"), ("Igual", "same"), ("PEOR", "worse"), ("mejor que ayer", "better"),
    ("igual o peor", "worse"), ("better", "better"),
])
def test_trend_choices(text, trend):
    assert read("overall_trend", text).value == trend


def test_trend_non_choice_is_unreadable():
    assert read("overall_trend", "más o menos").unreadable.why == NOT_A_CHOICE


def test_comment_keeps_text_collapsed():
    assert read("comments", "  me duele   la\ngarganta ").value == "me duele la garganta"


def locate(*lines):
    return find_answer_texts(list(lines), DEFAULT_QUESTIONS)


def test_compact_one_line_forms():
    assert locate("1 si 2 38,5 3 no") == [("fever", "si"), ("temperature_c", "38,5"),
                                          ("fever_unresponsive", "no")]
    assert locate("1.no, 4.yes, 5.no") == [("fever", "no,"), ("cough", "yes,"), ("headache", "no")]
    assert locate("1-S 2-N") == [("fever", "S"), ("temperature_c", "N")]


def test_wrapped_prompt_number_is_not_an_item():
    found = locate("14. ¿Se ha desmayado, ha tosido sangre, vomita todo lo que toma o lleva",
                   "12 horas sin orinar? (SI/NO): no")

    assert found == [("other_alarm", "no")]


def test_next_line_answer_but_not_next_item():
    found = locate("1. ¿Ha tenido fiebre o calentura desde su último cuestionario? (SI/NO):",
                   "no", "3. Si tuvo fiebre: ¿seguía alta una hora después de tomar paracetamol? (SI/NO):",
                   "4. ¿Tiene tos? (SI/NO): si")

    assert found == [("fever", "no"), ("cough", "si")]


def test_retyped_names_pick_longest():
    found = locate("desmayo o tos con sangre: no", "tos: si", "[x] fiebre", "temp 38,5")

    assert found == [("other_alarm", "no"), ("cough", "si"), ("fever", "[x] fiebre"),
                     ("temperature_c", "38,5")]


def test_comment_line_ends_compact_scan():
    assert locate("18 tengo 2 dias con tos") == [("comments", "tengo 2 dias con tos")]


def test_preposition_a_is_not_letter_a():
    assert read("dyspnea_level", "a veces me falta el aire").unreadable.why == NOT_A_CHOICE
    assert read("dyspnea_level", "A) normal").value == 0


@pytest.mark.parametrize("text", ["SpO2 95", "spo2: 95%", "O2 95"])
def test_spo2_name_is_not_a_value(text):
    assert read("spo2", text).value == 95


@pytest.mark.parametrize("text, expected", [("R: no", False), ("Resp. si", True), ("-> si", True)])
def test_answer_label_is_skipped(text, expected):
    assert read("cough", text).value is expected


def test_sentence_after_retyped_name_is_not_an_answer():
    assert locate("Tos leve desde ayer") == []
    assert locate("tos si") == [("cough", "si")]


def test_dates_and_times_open_no_item():
    assert locate("4 de diciembre", "9:12 a. m.", "2-36.5") == [("temperature_c", "36.5")]


def test_compact_list_inside_sentence():
    found = locate("Buen día, le respondo: 1 no, 2 37.5, 3 no, 17 no")

    assert [key for key, _ in found] == ["fever", "temperature_c", "fever_unresponsive", "wants_call"]


def test_two_numbers_in_sentence_are_not_a_list():
    assert locate("tengo 2 hijos y 3 perros") == []


def test_comment_stops_at_sign_off():
    assert locate("18. me duele la garganta", "en la noche", "Saludos", "Ana") == [
        ("comments", "me duele la garganta en la noche")]


def test_bare_number_stops_at_blank_line():
    assert locate("17 no", "18.", "", "Ana") == [("wants_call", "no")]
    assert locate("18. Comentarios:", "", "Saludos") == []


@pytest.mark.parametrize("key, text", [("fever_unresponsive", "no tomé"),
                                       ("temperature_c", "no me la tomé"),
                                       ("temperature_c", "no tuve fiebre"), ("spo2", "nada")])
def test_more_not_measured_words(key, text):
    assert not read(key, text).answered


def test_retyped_question_wording_is_skipped():
    found = locate("4. ¿Tiene tos? SI", "2. Temperatura más alta: 38", "¿Tiene dolor de cabeza? no",
                   "18. comento que todo bien", "3. Si")

    assert found == [("cough", "SI"), ("temperature_c", "38"), ("headache", "no"),
                     ("comments", "comento que todo bien"), ("fever_unresponsive", "Si")]


@pytest.mark.parametrize("text", ["✗", "❌"])
def test_cross_marks_are_not_a_no(text):
    assert read("cough", text).unreadable.why == NOT_YES_NO


def test_numbers_follow_configured_order():
    without_item_three = tuple(question for question in DEFAULT_QUESTIONS
                               if question.key != "fever_unresponsive")

    found = find_answer_texts(["1 no", "3 si", "", "paracetamol: si"], without_item_three)

    assert found == [("fever", "no"), ("cough", "si")]


def test_pregunta_before_number():
    assert locate("Pregunta 1: no", "Pregunta 4: si", "#10 b") == [
        ("fever", "no"), ("cough", "si"), ("dyspnea_level", "b")]
