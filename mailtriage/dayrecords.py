"""Day records: the reports of one calendar day merged into one reading per question.

Rules never read single earlier reports. Each key of a day record keeps the
most severe reading among that day's reports, so a later reply can fill in
a blank or add a finding but never take a finding back. Only readings
compete: a key is unreadable in the record only when no report of the day
read it and at least one could not.
"""

from dataclasses import dataclass
from datetime import date, datetime

from mailtriage import clock
from mailtriage.contracts import (
    COLOR_SEVERITY, NOT_A_CHOICE, NOT_A_NUMBER, NOT_YES_NO, OUT_OF_RANGE, PastReport, Unreadable,
)
from mailtriage.questions import (
    DEFAULT_QUESTIONS, DYSPNEA, SPO2, TEMPERATURE, TEXT, TREND, YES_NO,
)

# The range a temperature must lie in to be a reading, in °C, both ends
# included. The parser already rejects values outside it; one that reaches
# triage anyway is unreadable.
TEMPERATURE_MIN_C = 34.0
TEMPERATURE_MAX_C = 43.0
SPO2_MAX = 100

DYSPNEA_LEVELS = range(0, 4)
TREND_SEVERITY = {"better": 0, "same": 1, "worse": 2}

KIND_BY_KEY = {question.key: question.kind for question in DEFAULT_QUESTIONS}


@dataclass(frozen=True)
class DayRecord:
    """The merged reading of one calendar day: answers (readable or Unreadable), comments, color and time."""

    local_date: date
    answers: dict
    comments: tuple[str, ...]
    color: str | None
    last_received_at: datetime | None


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def clean_answer(key: str, value, spo2_min: float):
    """Return the value when it is a reading of the key's type and range, otherwise an Unreadable."""
    if isinstance(value, Unreadable):
        return value

    kind = KIND_BY_KEY.get(key)
    if kind == YES_NO and not isinstance(value, bool):
        return Unreadable(str(value), NOT_YES_NO)
    if kind in (TEMPERATURE, SPO2) and not _is_number(value):
        return Unreadable(str(value), NOT_A_NUMBER)
    if kind == TEMPERATURE and not TEMPERATURE_MIN_C <= value <= TEMPERATURE_MAX_C:
        return Unreadable(str(value), OUT_OF_RANGE)
    if kind == SPO2 and not spo2_min <= value <= SPO2_MAX:
        return Unreadable(str(value), OUT_OF_RANGE)
    if kind == DYSPNEA and not (_is_number(value) and value == int(value) and value in DYSPNEA_LEVELS):
        return Unreadable(str(value), NOT_A_CHOICE)
    if kind == TREND and value not in TREND_SEVERITY:
        return Unreadable(str(value), NOT_A_CHOICE)
    if kind == TEXT and not isinstance(value, str):
        return Unreadable(str(value), NOT_A_CHOICE)
    return value


def clean_answers(answers: dict, spo2_min: float) -> dict:
    """Clean every answer of one report. A None value counts as unanswered."""
    return {key: clean_answer(key, value, spo2_min)
            for key, value in answers.items() if value is not None}


def more_severe(key: str, first, second):
    """Return the more severe of two readings of one key."""
    kind = KIND_BY_KEY.get(key)
    if kind == YES_NO:
        return first or second
    if kind in (TEMPERATURE, DYSPNEA):
        return max(first, second)
    if kind == SPO2:
        return min(first, second)
    if kind == TREND:
        return max(first, second, key=TREND_SEVERITY.__getitem__)
    # Free text and keys the default questionnaire does not know: the later reading.
    return second


def merge_answers(reports: list[dict]) -> tuple[dict, tuple[str, ...]]:
    """Merge cleaned answers of one day, given in arrival order, into (answers, readable comments)."""
    merged = {}
    keys = {key for answers in reports for key in answers}
    for key in keys:
        values = [answers[key] for answers in reports if key in answers]
        readings = [value for value in values if not isinstance(value, Unreadable)]
        if readings:
            merged[key] = readings[0]
            for reading in readings[1:]:
                merged[key] = more_severe(key, merged[key], reading)
        else:
            merged[key] = values[-1]

    comments = tuple(
        answers["comments"].strip() for answers in reports
        if isinstance(answers.get("comments"), str) and answers["comments"].strip()
    )
    return merged, comments


def worst_color(colors) -> str | None:
    known = [color for color in colors if color in COLOR_SEVERITY]
    return max(known, key=COLOR_SEVERITY.__getitem__) if known else None


def report_date(report: PastReport, timezone_name: str) -> date:
    """Return a report's calendar day: the one stored with it, or its arrival in the unit's time zone."""
    if report.local_date is not None:
        return report.local_date
    return clock.local_date(report.received_at, timezone_name)


def build_day_records(history: list[PastReport], timezone_name: str,
                      spo2_min: float) -> dict[date, DayRecord]:
    """Group earlier reports by calendar day and merge each day into one record."""
    by_date: dict[date, list[PastReport]] = {}
    for report in sorted(history, key=lambda report: report.received_at):
        by_date.setdefault(report_date(report, timezone_name), []).append(report)

    records = {}
    for local_date, reports in by_date.items():
        answers, comments = merge_answers([clean_answers(report.answers, spo2_min) for report in reports])
        records[local_date] = DayRecord(
            local_date=local_date,
            answers=answers,
            comments=comments,
            color=worst_color(report.color for report in reports),
            last_received_at=reports[-1].received_at,
        )
    return records
