"""Non-reporting rules: reminders, silence calls, escalation and the arrival check after a red report."""

from datetime import datetime, timedelta, timezone

import pytest

from mailtriage.contracts import PatientProfile
from mailtriage.i18n import set_language
from mailtriage.nonreporting import (
    CallRecord, ReportStamp, evaluate_nonreporting, last_day_color, unconfirmed_red_reports,
)
from mailtriage.ruleset import default_ruleset

NOW = datetime(2026, 12, 4, 18, 0, tzinfo=timezone.utc)
ADULT = PatientProfile(age_years=35, age_days=None, illness_day=4, unit_timezone="America/Mexico_City")


@pytest.fixture(autouse=True)
def spanish():
    set_language("es")
    yield
    set_language("es")


def ago(hours: float) -> datetime:
    return NOW - timedelta(hours=hours)


def evaluate(reports=(), calls=(), reminders=(), enrolled_hours=200, profile=ADULT):
    return evaluate_nonreporting(NOW, profile, list(reports), list(calls), list(reminders),
                                 ago(enrolled_hours), default_ruleset())


def test_reminder_24h_old_allows_another():
    result = evaluate([ReportStamp(ago(48), "verde")], reminders=[ago(24)])

    assert "N0" in result.rules


def test_reminder_within_24h_blocks_another():
    result = evaluate([ReportStamp(ago(47), "verde")], reminders=[ago(23.5)])

    assert "N0" not in result.rules


def test_never_reported_counts_from_enrolment():
    result = evaluate(enrolled_hours=50)

    assert result.rules == ["N0", "N2"]
    assert result.priority == "A"


def test_answered_call_is_contact():
    result = evaluate([ReportStamp(ago(60), "verde")], calls=[CallRecord(ago(10), True, False)])

    assert result.rules == ["N0"]
    assert result.color is None


def test_escalation_at_exactly_one_hour_span():
    calls = [CallRecord(ago(3), False, False), CallRecord(ago(2), False, False)]

    result = evaluate([ReportStamp(ago(5), "amarillo")], calls=calls)

    assert result.rules == ["N3"]
    assert result.actions == ["escalate_to_physician", "call_alt_contact"]
    assert result.hits[0].reason == "2 llamadas sin respuesta en 1 h: escalar"


def test_no_escalation_for_calls_before_last_contact():
    calls = [CallRecord(ago(8), False, False), CallRecord(ago(6), False, False)]

    result = evaluate([ReportStamp(ago(5), "amarillo")], calls=calls)

    assert result.rules == []


def test_answered_call_without_confirmation_keeps_red_check():
    result = evaluate([ReportStamp(ago(6), "rojo")], calls=[CallRecord(ago(2), True, False)])

    assert result.rules == ["N4"]
    assert result.priority == "A"


def test_confirmation_closes_every_earlier_red_report():
    reports = [ReportStamp(ago(30), "rojo"), ReportStamp(ago(10), "rojo")]

    result = evaluate(reports, calls=[CallRecord(ago(5), False, True)])

    assert "N4" not in result.rules


def test_confirmation_before_red_report_does_not_close_it():
    reports = [ReportStamp(ago(5), "rojo")]
    calls = [CallRecord(ago(6), False, True)]

    assert unconfirmed_red_reports(reports, calls) == reports


def test_second_red_report_does_not_reset_first():
    reports = [ReportStamp(ago(4.5), "rojo"), ReportStamp(ago(1), "rojo")]

    result = evaluate(reports)

    assert result.rules == ["N4"]
    assert result.hits[0].values == {"unconfirmed_red_hours": 4.5}


def test_last_day_color_is_worst_of_last_day():
    # 13:00 and 17:00 UTC are both 4 Dec in Mexico City; 23 h earlier is 3 Dec.
    reports = [ReportStamp(ago(28), "rojo"), ReportStamp(ago(5), "amarillo"), ReportStamp(ago(1), "verde")]

    assert last_day_color(reports, "America/Mexico_City") == "amarillo"


def test_yellow_last_day_gives_same_day_call():
    result = evaluate([ReportStamp(ago(30), "amarillo")], reminders=[ago(3)])

    assert result.rules == ["N1"]
    assert result.priority == "N"
    assert result.actions == ["staff_call"]
