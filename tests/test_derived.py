"""The derived values triage computes once per report, each a pure function, plus the stored-row inputs."""

from datetime import date, datetime, timedelta, timezone

import pytest

from mailtriage import derived
from mailtriage.comments import compile_phrase, find_alarm_phrases, normalize_text
from mailtriage.contracts import PastReport, PatientProfile, Unreadable
from mailtriage.dayrecords import DayRecord, build_day_records, clean_answer, merge_answers
from mailtriage.rules import triage
from mailtriage.ruleset import default_ruleset
from mailtriage.spo2bands import BASELINE, PREGNANCY_ALTITUDE, STANDARD, bands_for

PARAMETERS = default_ruleset().parameters
TODAY = date(2026, 12, 10)
NOW = datetime(2026, 12, 10, 18, 0, tzinfo=timezone.utc)


def record(days_ago: int, color="verde", **answers) -> DayRecord:
    day = TODAY - timedelta(days=days_ago)
    arrival = NOW - timedelta(days=days_ago)
    return DayRecord(day, answers, (), color, arrival)


def records(*items: DayRecord) -> dict:
    return {item.local_date: item for item in items}


# Comment phrases.

def test_normalize_joins_decomposed_accents():
    assert normalize_text("opresio\u0301n en el pecho") == "opresion en el pecho"


def test_normalize_drops_invisible_characters():
    assert normalize_text("mora\u200bdo\u00ad") == "morado"


def test_normalize_full_width_and_punctuation():
    assert normalize_text("ＭＥ  falta,el-AIRE!") == "me falta el aire"


def test_phrase_wildcard_matches_word_start():
    phrases = (compile_phrase("morad*"),)

    assert find_alarm_phrases(["Labios MORADAS"], phrases) == ["moradas"]
    assert find_alarm_phrases(["amoratado"], phrases) == []


def test_phrase_needs_whole_consecutive_words():
    phrases = (compile_phrase("me falta aire"),)

    assert find_alarm_phrases(["me falta el aire"], phrases) == []
    assert find_alarm_phrases(["se me faltaaire"], phrases) == []
    assert find_alarm_phrases(["ayer me falta aire"], phrases) == ["me falta aire"]


def test_phrase_returns_patient_words_once():
    # "ahog*" matches inside "me ahogo", so it adds nothing of its own.
    phrases = (compile_phrase("me ahog*"), compile_phrase("morad*"), compile_phrase("ahog*"))

    found = find_alarm_phrases(["Me AHOGO y tengo los labios morados", "me ahogo"], phrases)

    assert found == ["me ahogo", "morados"]


def test_phrase_found_in_any_comment_of_day():
    phrases = (compile_phrase("dolor de pecho"),)

    assert find_alarm_phrases(["bien", "tengo dolor de pecho"], phrases) == ["dolor de pecho"]


@pytest.mark.parametrize("text", ["", "  ", "sat*ura", "*"])
def test_invalid_phrase_rejected(text):
    with pytest.raises(ValueError):
        compile_phrase(text)


# Answers and day records.

def test_clean_answer_out_of_range_is_unreadable():
    assert clean_answer("spo2", 45, 50) == Unreadable("45", "out_of_range")
    assert clean_answer("temperature_c", 43.5, 50) == Unreadable("43.5", "out_of_range")
    assert clean_answer("temperature_c", 43.0, 50) == 43.0


def test_clean_answer_wrong_type_is_unreadable():
    assert isinstance(clean_answer("wants_call", "tal vez", 50), Unreadable)
    assert isinstance(clean_answer("overall_trend", 3, 50), Unreadable)
    assert isinstance(clean_answer("dyspnea_level", True, 50), Unreadable)


def test_merge_keeps_most_severe_reading():
    merged, _ = merge_answers([
        {"chest_pain": True, "spo2": 95, "temperature_c": 37.0, "overall_trend": "worse"},
        {"chest_pain": False, "spo2": 93, "temperature_c": 38.2, "overall_trend": "better"},
    ])

    assert merged["chest_pain"] is True
    assert merged["spo2"] == 93
    assert merged["temperature_c"] == 38.2
    assert merged["overall_trend"] == "worse"


def test_merge_reading_beats_unreadable():
    unreadable = Unreadable("x", "not_yes_no")

    merged, _ = merge_answers([{"cyanosis": unreadable}, {"cyanosis": False}])

    assert merged["cyanosis"] is False


def test_merge_unreadable_only_without_reading():
    unreadable = Unreadable("x", "not_yes_no")

    merged, _ = merge_answers([{"cyanosis": unreadable}, {}])

    assert merged["cyanosis"] == unreadable


def test_merge_keeps_every_comment():
    _, comments = merge_answers([{"comments": "uno"}, {"comments": " "}, {"comments": "dos"}])

    assert comments == ("uno", "dos")


def test_day_records_group_by_unit_calendar_day():
    # 01:40 UTC on 5 Dec is 19:40 on 4 Dec in Mexico City.
    history = [
        PastReport(datetime(2026, 12, 5, 1, 40, tzinfo=timezone.utc), {"fever": True}, "verde"),
        PastReport(datetime(2026, 12, 4, 20, 0, tzinfo=timezone.utc), {"fever": False}, "amarillo"),
    ]

    days = build_day_records(history, "America/Mexico_City", 50)

    assert list(days) == [date(2026, 12, 4)]
    assert days[date(2026, 12, 4)].answers["fever"] is True
    assert days[date(2026, 12, 4)].color == "amarillo"


# Profile values.

@pytest.mark.parametrize("postpartum_days, expected", [(42, True), (43, False), (None, False)])
def test_pregnancy_profile_postpartum(postpartum_days, expected):
    profile = PatientProfile(age_years=30, age_days=None, postpartum_days=postpartum_days)

    assert derived.has_pregnancy_profile(profile, PARAMETERS) is expected


@pytest.mark.parametrize("age, comorbidities, expected", [
    (59, (), False), (60, (), True), (4, (), True), (5, (), False), (40, ("smoking",), True),
])
def test_high_risk(age, comorbidities, expected):
    profile = PatientProfile(age_years=age, age_days=None, comorbidities=comorbidities)

    assert derived.is_high_risk(profile, False, PARAMETERS) is expected


def test_age_months_prefers_profile_count():
    assert derived.age_in_months(PatientProfile(age_years=0, age_days=150, age_months=5)) == 5
    assert derived.age_in_months(PatientProfile(age_years=0, age_days=150)) == 4
    assert derived.age_in_months(PatientProfile(age_years=2, age_days=None)) == 24


# Fever.

@pytest.mark.parametrize("answers, expected", [
    ({"fever": True, "temperature_c": 37.0}, "yes"),
    ({"fever": False, "temperature_c": 38.0}, "yes"),
    ({"fever": False, "temperature_c": 37.9}, "no"),
    ({"temperature_c": 36.5}, "unknown"),
    ({"fever": False, "fever_unresponsive": True}, "yes"),
    ({"fever": Unreadable("?", "not_yes_no")}, "unknown"),
])
def test_fever_status(answers, expected):
    assert derived.fever_status(answers, PARAMETERS) == expected


def test_streak_gap_after_fever_counts():
    today = record(0, fever=True)

    streak = derived.fever_streak(today, records(record(2, fever=True)), PARAMETERS)

    assert len(streak) == 3


def test_streak_gap_after_clear_day_does_not_count():
    today = record(0, fever=True)

    streak = derived.fever_streak(today, records(record(2, fever=False)), PARAMETERS)

    assert len(streak) == 1


def test_streak_skips_unknown_day():
    today = record(0, fever=True)
    earlier = records(record(1, fever=Unreadable("?", "not_yes_no")), record(2, fever=True))

    assert len(derived.fever_streak(today, earlier, PARAMETERS)) == 3


def test_streak_zero_without_fever_today():
    assert derived.fever_streak(record(0, fever=False), records(record(1, fever=True)), PARAMETERS) == []


def test_fever_returned_after_two_clear_days():
    earlier = records(record(1, fever=False), record(2, fever=False), record(3, fever=True))

    assert derived.fever_returned(True, earlier, PARAMETERS) == (True, 2)


def test_fever_returned_skips_unknown_days():
    earlier = records(record(1, fever=False), record(2), record(3, fever=False), record(4, fever=True))

    assert derived.fever_returned(True, earlier, PARAMETERS) == (True, 2)


def test_fever_not_returned_after_one_clear_day():
    earlier = records(record(1, fever=False), record(2, fever=True))

    assert derived.fever_returned(True, earlier, PARAMETERS) == (False, 1)


# Previous record, breathing and SpO2 reference.

def test_prev_none_beyond_max_hours():
    assert derived.previous_record(records(record(4, fever=False)), NOW, PARAMETERS) is None
    assert derived.previous_record(records(record(3, fever=False)), NOW, PARAMETERS) is not None


def test_prev_dyspnea_falls_back_to_readable_level():
    earlier = records(record(1, dyspnea_level=Unreadable("?", "not_a_choice")), record(2, dyspnea_level=0))

    assert derived.previous_dyspnea(earlier, NOW, PARAMETERS) == (0, TODAY - timedelta(days=2))


def test_spo2_reference_takes_three_days_with_value():
    earlier = records(record(1, spo2=95), record(2), record(3, spo2=94), record(4, spo2=96), record(5, spo2=99))

    assert derived.spo2_reference(earlier, TODAY, PARAMETERS) == 96


def test_spo2_reference_ignores_older_than_five_days():
    assert derived.spo2_reference(records(record(6, spo2=99)), TODAY, PARAMETERS) is None


# SpO2 bands.

def test_baseline_bands_with_decimals():
    bands = bands_for(False, 10, 90, PARAMETERS)

    assert bands.profile == BASELINE
    assert bands.color_of(87) == "rojo"
    assert bands.color_of(89) == "amarillo"
    assert bands.color_of(89.5) == "verde"


def test_baseline_at_green_floor_ignored():
    assert bands_for(False, 10, 95, PARAMETERS).profile == STANDARD


def test_unknown_altitude_uses_standard_bands():
    assert bands_for(False, None, None, PARAMETERS).profile == STANDARD
    assert bands_for(True, 2240, None, PARAMETERS).profile == PREGNANCY_ALTITUDE


# Reply blocks.

ADULT = PatientProfile(age_years=35, age_days=None, illness_day=3, has_oximeter=True)
ALL_CLEAR = {"fever": False, "dyspnea_level": 0, "chest_pain": False, "cyanosis": False,
             "confusion": False, "other_alarm": False, "overall_trend": "same", "wants_call": False}


def test_blocks_very_low_spo2_and_could_not_read():
    result = triage({**ALL_CLEAR, "spo2": 45}, ADULT, [], NOW, default_ruleset())

    assert "very_low_spo2" in result.blocks
    assert "could_not_read" in result.blocks
    assert result.unreadable_keys == ["spo2"]


def test_blocks_measure_spo2_when_left_blank():
    result = triage(dict(ALL_CLEAR), ADULT, [], NOW, default_ruleset())

    assert result.color == "verde"
    assert result.blocks == ["measure_spo2"]


def test_blocks_comment_go_now_with_y15():
    result = triage({**ALL_CLEAR, "spo2": 97, "comments": "me ahogo"}, ADULT, [], NOW, default_ruleset())

    assert [hit.rule_id for hit in result.hits] == ["Y15"]
    assert result.blocks == ["comment_go_now"]


def test_y15_reason_quotes_patient_words():
    comment = "Me ahogo al subir y tengo los labios morados"

    result = triage({**ALL_CLEAR, "spo2": 97, "comments": comment}, ADULT, [], NOW, default_ruleset())

    hit = next(hit for hit in result.hits if hit.rule_id == "Y15")
    assert hit.reason == "Comentario con frase de alarma: «me ahogo, morados»"
    assert hit.values == {"comment_phrases": ["me ahogo", "morados"]}


def test_hit_carries_streak_temperatures():
    history = [PastReport(NOW - timedelta(days=days), {**ALL_CLEAR, "fever": True, "temperature_c": temp},
                          "verde") for days, temp in ((1, 38.4), (2, 38.1))]

    result = triage({**ALL_CLEAR, "spo2": 97, "fever": True, "temperature_c": 38.2},
                    ADULT, history, NOW, default_ruleset())

    hit = next(hit for hit in result.hits if hit.rule_id == "Y07")
    assert hit.reason == "Fiebre 3 días seguidos"
    assert hit.values == {"fever_streak": 3, "fever_streak_temperatures": [38.2, 38.4, 38.1]}


# Inputs built from stored rows.

@pytest.fixture
def store(make_config):
    from staffing import close_store, open_store

    yield open_store(make_config)
    close_store()


def test_profile_for_counts_on_report_day(store):
    from staffing import enrol

    from mailtriage.triage_inputs import profile_for

    patient = enrol(store, birth_date="2026-02-10", onset_date="2026-12-01", comorbidities="asma")

    profile = profile_for(patient, store.units[0], date(2026, 12, 4))

    assert profile.age_years == 0
    assert profile.age_days == 297
    assert profile.age_months == 9
    assert profile.illness_day == 4
    assert profile.onset_estimated is False
    assert profile.comorbidities == ("asthma",)
    assert profile.unit_timezone == store.units[0].timezone


def test_profile_for_estimates_onset_from_enrolment(store):
    from staffing import enrol

    from mailtriage.triage_inputs import profile_for

    patient = enrol(store)

    profile = profile_for(patient, store.units[0], date(2026, 12, 8))

    assert profile.illness_day == 5
    assert profile.onset_estimated is True


def test_history_for_reads_unreadable_and_stops_before(store):
    from staffing import START, add_report, enrol

    from mailtriage.models import Report
    from mailtriage.triage_inputs import history_for

    patient = enrol(store)
    first = add_report(patient, "amarillo", answers={"fever": True}, at=START + timedelta(hours=1))
    Report.update(unreadable={"spo2": {"raw": "9O", "why": "not_a_number"}}).where(Report.id == first.id).execute()
    add_report(patient, "verde", at=START + timedelta(hours=5))

    history = history_for(patient, START + timedelta(hours=3))

    assert len(history) == 1
    assert history[0].answers == {"fever": True, "spo2": Unreadable("9O", "not_a_number")}
    assert history[0].color == "amarillo"
    assert history[0].local_date == first.local_date
