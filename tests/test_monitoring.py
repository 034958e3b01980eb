"""The non-reporting check on a real store: reminders, call-list entries, escalation, idempotence."""

from datetime import timedelta

import pytest

from mailtriage import clock
from mailtriage.calls import call_list, log_call
from mailtriage.models import CallListEntry, OutboxMessage, Patient, Reminder, Unit
from mailtriage.monitoring import run_nonreporting_check

from staffing import add_report, close_store, enrol, open_store


@pytest.fixture
def config(make_config):
    yield open_store(make_config)
    close_store()


def open_rules():
    return sorted(entry.rule for entry in
                  CallListEntry.select().where(CallListEntry.closed_at.is_null()))


def test_quiet_patient_left_alone(config):
    enrol(config)
    clock.advance(timedelta(hours=23))

    summary = run_nonreporting_check(config)

    assert summary.patients == 1
    assert summary.reminders == 0
    assert Reminder.select().count() == 0
    assert open_rules() == []


def test_reminder_after_24_hours_once(config):
    patient = enrol(config)
    clock.advance(timedelta(hours=24))

    first = run_nonreporting_check(config)
    clock.advance(timedelta(minutes=1))
    second = run_nonreporting_check(config)

    assert first.reminders == 1
    assert second.reminders == 0
    reminder = Reminder.get(Reminder.patient == patient)
    assert reminder.outbox.kind == "reminder"
    assert reminder.outbox.subject.startswith("Recordatorio: cuestionario de automonitoreo")
    # A standard-risk adult before illness day 5 gets a reminder only.
    assert open_rules() == []


def test_reminder_repeats_every_24_hours(config):
    enrol(config)
    for _ in range(3):
        clock.advance(timedelta(hours=24))
        run_nonreporting_check(config)

    assert Reminder.select().count() == 3


def test_high_risk_silent_30_hours_listed(config):
    patient = enrol(config, birth_date="1960-01-01")
    add_report(patient, "verde")
    clock.advance(timedelta(hours=30))

    run_nonreporting_check(config)
    run_nonreporting_check(config)

    assert open_rules() == ["N1"]
    (item,) = call_list()
    assert item.patient.id == patient.id
    assert item.rank == 2
    assert item.entries[0].reasons == ["Sin contacto desde hace 30 h"]


def test_silence_48_hours_priority_call(config):
    patient = enrol(config)
    add_report(patient, "verde")
    clock.advance(timedelta(hours=48))

    summary = run_nonreporting_check(config)

    assert summary.entries_opened == {"N2": 1}
    (item,) = call_list()
    assert item.rank == 1


def test_answered_call_resets_contact(config):
    patient = enrol(config, birth_date="1960-01-01")
    add_report(patient, "verde")
    clock.advance(timedelta(hours=30))
    run_nonreporting_check(config)
    log_call(patient.id, "contestada", "Está bien, contestará hoy", "enfermera")

    clock.advance(timedelta(hours=1))
    run_nonreporting_check(config)

    assert open_rules() == []


def test_unconfirmed_red_listed_per_report(config):
    patient = enrol(config)
    first = add_report(patient, "rojo", at=clock.now())
    clock.advance(timedelta(hours=2))
    add_report(patient, "amarillo", "A")
    clock.advance(timedelta(hours=2))

    run_nonreporting_check(config)
    run_nonreporting_check(config)

    entry = CallListEntry.get(CallListEntry.rule == "N4")
    assert entry.report.id == first.id
    assert CallListEntry.select().where(CallListEntry.rule == "N4").count() == 1
    assert call_list()[0].rank == 0


def test_confirmed_red_not_listed_again(config):
    patient = enrol(config)
    add_report(patient, "rojo")
    clock.advance(timedelta(hours=1))
    log_call(patient.id, "llego_a_urgencias", "Ingresó a Urgencias", "enfermera")
    clock.advance(timedelta(hours=4))

    run_nonreporting_check(config)

    assert open_rules() == []


def test_two_unanswered_calls_escalate(config):
    patient = enrol(config)
    add_report(patient, "amarillo", "N")
    clock.advance(timedelta(hours=1))
    log_call(patient.id, "sin_respuesta", "", "enfermera")
    clock.advance(timedelta(hours=1, minutes=30))
    log_call(patient.id, "buzon_de_voz", "", "enfermera")

    run_nonreporting_check(config)

    assert "N3" in open_rules()
    (item,) = call_list()
    assert item.escalated
    assert item.attempts == 2
    assert item.rank == 1


def test_discharged_patient_skipped(config):
    patient = enrol(config)
    Patient.update(status="discharged").where(Patient.id == patient.id).execute()
    clock.advance(timedelta(hours=72))

    summary = run_nonreporting_check(config)

    assert summary.patients == 0
    assert Reminder.select().count() == 0


def test_one_failing_patient_does_not_stop_others(config):
    # A patient stored without any questionnaire cannot be reminded.
    Patient.create(unit=Unit.get(), first_name="Sin", last_name="Cuestionario",
                   email="sin@example.org", birth_date=clock.now().date().replace(year=1980),
                   enrolled_at=clock.now())
    enrol(config)
    clock.advance(timedelta(hours=25))

    summary = run_nonreporting_check(config)

    assert summary.failures == 1
    assert summary.reminders == 1
    assert OutboxMessage.select().where(OutboxMessage.kind == "reminder").count() == 1
