"""Building triage's inputs from stored rows: the patient's profile and report history."""

from datetime import date, datetime

from mailtriage import clock
from mailtriage.contracts import PastReport, PatientProfile, Unreadable
from mailtriage.models import Patient, Report


def whole_years(birth_date: date, on_date: date) -> int:
    before_birthday = (on_date.month, on_date.day) < (birth_date.month, birth_date.day)
    return on_date.year - birth_date.year - before_birthday


def whole_months(birth_date: date, on_date: date) -> int:
    months = (on_date.year - birth_date.year) * 12 + on_date.month - birth_date.month
    return months - (on_date.day < birth_date.day)


def profile_for(patient: Patient, unit, on_date: date) -> PatientProfile:
    """Build the patient's profile as of the report's calendar day.

    ``unit`` is the configured unit (mailtriage.config.Unit), or None when it
    is no longer configured: then the stored unit's time zone is used and the
    altitude is unknown, which selects the standard SpO2 bands.
    """
    timezone = unit.timezone if unit is not None else patient.unit.timezone
    onset = patient.onset_date
    onset_estimated = onset is None
    if onset_estimated:
        onset = clock.local_date(patient.enrolled_at, timezone)

    delivered = patient.delivery_date is not None and patient.delivery_date <= on_date
    return PatientProfile(
        age_years=whole_years(patient.birth_date, on_date),
        age_days=(on_date - patient.birth_date).days,
        age_months=whole_months(patient.birth_date, on_date),
        pregnant=bool(patient.pregnant) and not delivered,
        postpartum_days=(on_date - patient.delivery_date).days if delivered else None,
        comorbidities=tuple(patient.comorbidities or ()),
        illness_day=(on_date - onset).days + 1,
        onset_estimated=onset_estimated,
        unit_altitude_m=unit.altitude_m if unit is not None else None,
        baseline_spo2=patient.baseline_spo2,
        has_oximeter=bool(patient.has_oximeter),
        unit_timezone=timezone,
    )


def history_for(patient: Patient, before: datetime) -> list[PastReport]:
    """Load the patient's reports of this monitoring episode that arrived before ``before``."""
    query = (Report.select()
             .where((Report.patient == patient) & (Report.received_at < before)
                    & (Report.received_at >= patient.enrolled_at))
             .order_by(Report.received_at))
    return [past_report(report) for report in query]


def past_report(report: Report) -> PastReport:
    """Turn a stored report into what triage reads: readings plus Unreadable answers."""
    answers = dict(report.answers or {})
    for key, stored in (report.unreadable or {}).items():
        if isinstance(stored, dict):
            answers[key] = Unreadable(str(stored.get("raw", "")), str(stored.get("why", "")))
        else:
            answers[key] = Unreadable(str(stored), "")
    return PastReport(received_at=report.received_at, answers=answers, color=report.color,
                      local_date=report.local_date)

