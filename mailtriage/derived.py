"""Values derived once per report from today's record, earlier day records and the profile.

Rules only compare these values. Every count back over time (fever streak,
returning fever, the previous record, the SpO2 reference) is computed here
over day records, never over single reports. Each function is pure.
"""

from datetime import date, datetime, timedelta

from mailtriage.contracts import PatientProfile, Unreadable
from mailtriage.dayrecords import DayRecord

YES = "yes"
NO = "no"
UNKNOWN = "unknown"

DYSPNEA_LETTERS = "ABCD"
DAYS_PER_YEAR = 365.25


def readable(answers: dict, key: str):
    """Return the key's reading, or None when it is unanswered or unreadable."""
    value = answers.get(key)
    return None if isinstance(value, Unreadable) else value


def in_window(illness_day: int, parameters: dict) -> bool:
    return parameters["WINDOW_FIRST_DAY"] <= illness_day <= parameters["WINDOW_LAST_DAY"]


def has_pregnancy_profile(profile: PatientProfile, parameters: dict) -> bool:
    """Pregnant, or delivered at most POSTPARTUM_DAYS days before the report's day."""
    if profile.pregnant:
        return True
    days = profile.postpartum_days
    return days is not None and 0 <= days <= parameters["POSTPARTUM_DAYS"]


def age_in_months(profile: PatientProfile) -> int:
    """Whole months of age: the profile's own count, else an estimate from years and days."""
    if profile.age_months is not None:
        return profile.age_months
    if profile.age_years == 0 and profile.age_days is not None:
        # NOTE: an estimate from days (months of average length); exact
        # months come from the birth date through profile_for.
        return int(profile.age_days * 12 / DAYS_PER_YEAR)
    return profile.age_years * 12


def is_high_risk(profile: PatientProfile, pregnancy_profile: bool, parameters: dict) -> bool:
    if profile.age_years >= parameters["AGE_HIGH_RISK_YEARS"]:
        return True
    if profile.age_years < parameters["AGE_YOUNG_CHILD_YEARS"]:
        return True
    risky = set(parameters["HIGH_RISK_COMORBIDITIES"])
    return pregnancy_profile or any(flag in risky for flag in profile.comorbidities)


def fever_status(answers: dict, parameters: dict) -> str:
    """Return yes, no or unknown for one record; reported and measured fever both count."""
    fever = readable(answers, "fever")
    temperature = readable(answers, "temperature_c")
    if fever is True or readable(answers, "fever_unresponsive") is True:
        return YES
    if temperature is not None and temperature >= parameters["FEVER_C"]:
        return YES
    return NO if fever is False else UNKNOWN


def newest_first(earlier: dict[date, DayRecord]) -> list[DayRecord]:
    return [earlier[day] for day in sorted(earlier, reverse=True)]


def fever_streak(today: DayRecord, earlier: dict[date, DayRecord],
                 parameters: dict) -> list[DayRecord | None]:
    """Return the days of the fever streak ending today, newest first; None stands for a gap day.

    A gap (a day with no report or of unknown status) counts as fever only
    when the nearest earlier day of known status had fever.
    """
    if fever_status(today.answers, parameters) != YES:
        return []

    streak: list[DayRecord | None] = [today]
    cursor = today.local_date - timedelta(days=1)
    for record in newest_first(earlier):
        status = fever_status(record.answers, parameters)
        if record.local_date > cursor or status == UNKNOWN:
            continue
        if status == NO:
            break
        gap_days = (cursor - record.local_date).days
        streak.extend([None] * gap_days)
        streak.append(record)
        cursor = record.local_date - timedelta(days=1)
    return streak


def known_fever_statuses(earlier: dict[date, DayRecord], parameters: dict) -> list[str]:
    """Fever status of each earlier day record, newest first, unknown ones skipped."""
    statuses = (fever_status(record.answers, parameters) for record in newest_first(earlier))
    return [status for status in statuses if status != UNKNOWN]


def fever_returned(fever_today: bool, earlier: dict[date, DayRecord], parameters: dict) -> tuple[bool, int]:
    """Return whether fever came back after FEVER_RETURN_CLEAR_REPORTS clear day records, and how many clear ones."""
    statuses = known_fever_statuses(earlier, parameters)
    clear_days = 0
    while clear_days < len(statuses) and statuses[clear_days] == NO:
        clear_days += 1

    fever_before = YES in statuses[clear_days:]
    returned = fever_today and clear_days >= parameters["FEVER_RETURN_CLEAR_REPORTS"] and fever_before
    return returned, clear_days


def recent_records(earlier: dict[date, DayRecord], received_at: datetime,
                   parameters: dict) -> list[DayRecord]:
    """Earlier day records whose last report arrived at most PREV_MAX_HOURS before this one, newest first."""
    oldest = received_at - timedelta(hours=parameters["PREV_MAX_HOURS"])
    return [record for record in newest_first(earlier)
            if record.last_received_at is not None and record.last_received_at >= oldest]


def previous_record(earlier: dict[date, DayRecord], received_at: datetime,
                    parameters: dict) -> DayRecord | None:
    """Return ``prev``: the most recent earlier day record, when it lies within PREV_MAX_HOURS."""
    newest = newest_first(earlier)
    if not newest:
        return None
    recent = recent_records({newest[0].local_date: newest[0]}, received_at, parameters)
    return recent[0] if recent else None


def previous_dyspnea(earlier: dict[date, DayRecord], received_at: datetime,
                     parameters: dict) -> tuple[int | None, date | None]:
    """Return ``prev_dyspnea`` and its day: the newest readable level within PREV_MAX_HOURS."""
    for record in recent_records(earlier, received_at, parameters):
        level = readable(record.answers, "dyspnea_level")
        if level is not None:
            return level, record.local_date
    return None, None


def spo2_reference(earlier: dict[date, DayRecord], today: date, parameters: dict) -> float | None:
    """Return the highest SpO2 of the SPO2_REF_REPORTS newest day records with one in the last SPO2_REF_DAYS days."""
    first_day = today - timedelta(days=parameters["SPO2_REF_DAYS"])
    values = [readable(record.answers, "spo2") for record in newest_first(earlier)
              if first_day <= record.local_date < today]
    values = [value for value in values if value is not None]
    chosen = values[:parameters["SPO2_REF_REPORTS"]]
    return max(chosen) if chosen else None


def dyspnea_letter(level: int | None) -> str | None:
    return None if level is None else DYSPNEA_LETTERS[int(level)]
