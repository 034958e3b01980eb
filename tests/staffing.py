"""Helpers for the staff-side tests: an open store, enrolled patients and stored reports."""

from datetime import datetime, timezone

from mailtriage import clock
from mailtriage.config import load_config
from mailtriage.enrolment import enrol_patient, validate_profile
from mailtriage.i18n import set_language
from mailtriage.models import Report, database_proxy, open_database
from mailtriage.units import sync_units

# 09:30 in La Paz (America/Mazatlan, UTC-7): after the default questionnaire time.
START = datetime(2026, 12, 4, 16, 30, tzinfo=timezone.utc)

PROFILE = {
    "first_name": "Ana", "last_name": "López Pérez", "birth_date": "1980-05-02", "sex": "F",
    "unit": "UMF-34", "email": "ana.lopez@example.org", "phone": "612 123 4567",
    "alt_contact": "Luis López 612 765 4321", "has_oximeter": "sí", "comorbidities": "",
}


def open_store(make_config, **overrides):
    """Write a config, open its database and freeze the clock at START; return the config."""
    set_language("es")
    clock.set_now(START)
    config = load_config(make_config(**overrides))
    open_database(config.database_url)
    sync_units(config)
    return config


def close_store():
    clock.set_now(None)
    set_language("es")
    if not database_proxy.is_closed():
        database_proxy.close()


def enrol(config, actor="enfermera", **changes):
    """Enrol a patient with PROFILE plus ``changes`` and return it."""
    return enrol_patient(validate_profile(PROFILE | changes, config), config, actor)


def add_report(patient, color, priority=None, reasons=(), answers=None, at=None):
    """Store a triaged report as the pipeline would, received at ``at`` (default: now)."""
    moment = at or clock.now()
    return Report.create(
        patient=patient, received_at=moment,
        local_date=clock.local_date(moment, patient.unit.timezone), color=color, priority=priority,
        answers=answers or {}, hits=[{"rule_id": "Y", "reason": reason} for reason in reasons],
        created_at=moment)
