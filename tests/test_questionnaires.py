"""Questionnaires: folios, one daily questionnaire per local day, reminders and the send command."""

import re
from datetime import date, datetime, timezone

import pytest
from click.testing import CliRunner
from peewee import IntegrityError

from mailtriage import clock, questionnaires
from mailtriage.cli import build_cli
from mailtriage.config import load_config
from mailtriage.errors import MailtriageError
from mailtriage.folios import (
    FOLIO_ALPHABET, InvalidFolioError, format_folio, new_folio, normalize_folio, unused_folio,
)
from mailtriage.i18n import set_language
from mailtriage.models import Issuance, OutboxMessage, Patient, Reminder, Unit, database_proxy, open_database
from mailtriage.questionnaires import (
    AlreadyIssuedError, NotMonitoredError, find_due_patients, issue_due_questionnaires,
    issue_questionnaire, issue_reminder,
)
from mailtriage.questions import DEFAULT_QUESTIONS
from mailtriage.units import sync_units

MAZATLAN_UNIT = {
    "code": "UMF-34", "name": "UMF No. 34 La Paz",
    "emergency_service": "Urgencias del HGZ No. 1", "address": "Av. Reforma 100, La Paz",
    "emergency_phone": "612 000 0000", "timezone": "America/Mazatlan",
}
CDMX_UNIT = {
    "code": "UMF-7", "name": "UMF No. 7 Tlalpan",
    "emergency_service": "Urgencias del HGZ No. 32", "timezone": "America/Mexico_City",
}


@pytest.fixture
def config(make_config):
    set_language("es")
    config = load_config(make_config(units=[MAZATLAN_UNIT, CDMX_UNIT]))
    open_database(config.database_url)
    sync_units(config)
    yield config
    clock.set_now(None)
    set_language("es")
    database_proxy.close()


def add_patient(unit_code="UMF-34", first_name="Ana", email="ana@example.org", **fields):
    return Patient.create(unit=Unit.get(Unit.code == unit_code), first_name=first_name,
                          last_name="López", email=email, birth_date=date(1980, 5, 2),
                          enrolled_at=datetime(2026, 12, 1, 15, 0, tzinfo=timezone.utc), **fields)


def utc(day, hour, minute=0):
    return datetime(2026, 12, day, hour, minute, tzinfo=timezone.utc)


def numbered_lines(text):
    return [line for line in text.splitlines() if re.match(r"^\d+\. ", line)]


def outbox_of(issuance):
    return OutboxMessage.get(OutboxMessage.issuance == issuance)


# Folios


def test_new_folio_uses_alphabet():
    for _ in range(500):
        folio = new_folio()
        assert len(folio) == 8
        assert set(folio) <= set(FOLIO_ALPHABET)


def test_new_folios_differ():
    assert len({new_folio() for _ in range(1000)}) == 1000


def test_alphabet_has_no_lookalikes():
    for char in "01OIL":
        assert char not in FOLIO_ALPHABET


@pytest.mark.parametrize("typed", ["K7QM-2XPD", "k7qm-2xpd", "K7QM2XPD", " k7Qm2xpD\n"])
def test_normalize_folio_accepts_case_and_dash(typed):
    assert normalize_folio(typed) == "K7QM2XPD"


@pytest.mark.parametrize("typed", ["K7QM-2XP0", "K7QM-2XPI", "K7QM-2XPL", "K7QM2XP", "K7QM-2XPDD",
                                   "K7Q-M2XPD", "", "K7QM 2XPD"])
def test_normalize_folio_rejects_invalid(typed):
    with pytest.raises(InvalidFolioError):
        normalize_folio(typed)


def test_format_folio_adds_dash():
    assert format_folio("K7QM2XPD") == "K7QM-2XPD"


def test_unused_folio_draws_again_on_collision():
    drawn = iter(["AAAAAAAA", "BBBBBBBB", "CCCCCCCC"])

    folio = unused_folio(lambda folio: folio in {"AAAAAAAA", "BBBBBBBB"}, generate=lambda: next(drawn))

    assert folio == "CCCCCCCC"


def test_unused_folio_gives_up_when_always_taken():
    with pytest.raises(MailtriageError):
        unused_folio(lambda folio: True)


def test_issue_retries_folio_taken_concurrently(config, monkeypatch):
    first = add_patient()
    second = add_patient(first_name="Luis", email="luis@example.org")
    clock.set_now(utc(4, 17))
    first_folio = issue_questionnaire(first, config.unit("UMF-34"), config).folio
    # The check passed, but another process stored the same folio before the insert.
    drawn = iter([first_folio, "ZZZZ2222"])
    monkeypatch.setattr(questionnaires, "unused_folio", lambda is_taken: next(drawn))

    issuance = issue_questionnaire(second, config.unit("UMF-34"), config)

    assert issuance.folio == "ZZZZ2222"
    assert Issuance.select().count() == 2


def test_folios_unique_across_issuances(config):
    patients = [add_patient(first_name=f"P{index}", email=f"p{index}@example.org") for index in range(30)]
    clock.set_now(utc(4, 17))

    issue_due_questionnaires(config)

    folios = [row.folio for row in Issuance.select()]
    assert len(folios) == len(patients)
    assert len(set(folios)) == len(folios)


# The questionnaire email


def test_questionnaire_queued_with_folio_subject(config):
    patient = add_patient()
    clock.set_now(utc(4, 17))

    issuance = issue_questionnaire(patient, config.unit("UMF-34"), config)
    message = outbox_of(issuance)

    assert message.kind == "questionnaire"
    assert message.subject == f"Cuestionario de automonitoreo COVID-19 [Folio {format_folio(issuance.folio)}]"
    assert message.message_id == f"<q-20261204-{issuance.folio}@umf34.example.mx>"
    assert issuance.message_id == message.message_id
    assert message.extra_headers == {"Reply-To": "automonitoreo@umf34.example.mx"}
    assert message.to_address == "ana@example.org"
    assert message.status == "pending"
    assert message.body_text.startswith("Hola, Ana:\n")
    assert f"Folio: {format_folio(issuance.folio)}" in message.body_text


def test_questionnaire_lines_match_questions(config):
    patient = add_patient()

    message = outbox_of(issue_questionnaire(patient, config.unit("UMF-34"), config))

    expected = [f"{number}. {question.prompt_es}" for number, question in enumerate(DEFAULT_QUESTIONS, 1)]
    assert numbered_lines(message.body_text) == expected
    html_lines = re.findall(r">(\d+\. [^<]*)</p>", message.body_html)
    assert html_lines == expected


def test_english_questionnaire_uses_english_prompts(config):
    patient = add_patient(language="en")

    issuance = issue_questionnaire(patient, config.unit("UMF-34"), config)
    message = outbox_of(issuance)

    expected = [f"{number}. {question.prompt_en}" for number, question in enumerate(DEFAULT_QUESTIONS, 1)]
    assert numbered_lines(message.body_text) == expected
    assert message.subject == f"COVID-19 self-monitoring questionnaire [Folio {format_folio(issuance.folio)}]"
    assert message.body_text.startswith("Hello Ana,")


def test_questionnaire_html_escapes_name(config):
    patient = add_patient(first_name="<b>Ana</b>")

    message = outbox_of(issue_questionnaire(patient, config.unit("UMF-34"), config))

    assert "&lt;b&gt;Ana&lt;/b&gt;" in message.body_html
    assert "<b>Ana</b>" not in message.body_html


def test_welcome_holds_first_questionnaire(config):
    patient = add_patient()
    clock.set_now(utc(4, 15))

    issuance = issue_questionnaire(patient, config.unit("UMF-34"), config, kind="enrolment")
    message = outbox_of(issuance)

    assert message.kind == "welcome"
    assert "[Folio " in message.subject
    assert "bienvenida" in message.body_text
    assert "Urgencias del HGZ No. 1" in message.body_text
    assert len(numbered_lines(message.body_text)) == len(DEFAULT_QUESTIONS)


def test_welcome_counts_as_days_questionnaire(config):
    patient = add_patient()
    clock.set_now(utc(4, 15))
    issue_questionnaire(patient, config.unit("UMF-34"), config, kind="enrolment")

    clock.set_now(utc(4, 17))

    assert issue_due_questionnaires(config) == 0


def test_parser_reads_reply_typed_into_questionnaire(config):
    parser = pytest.importorskip("mailtriage.parser")
    patient = add_patient()
    message = outbox_of(issue_questionnaire(patient, config.unit("UMF-34"), config))
    typed = {1: "no", 4: "si", 10: "B", 11: "no", 12: "no", 13: "no", 14: "no", 15: "95",
             16: "mejor", 17: "no"}
    lines = []
    for line in message.body_text.splitlines():
        number = re.match(r"^(\d+)\. ", line)
        lines.append(f"{line} {typed[int(number.group(1))]}" if number and int(number.group(1)) in typed
                     else line)
    raw = ("From: Ana <ana@example.org>\r\nTo: automonitoreo@umf34.example.mx\r\n"
           f"Subject: Re: {message.subject}\r\nMessage-ID: <reply-1@example.org>\r\n"
           f"In-Reply-To: {message.message_id}\r\nMIME-Version: 1.0\r\n"
           "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
           + "\r\n".join(lines) + "\r\n").encode("utf-8")

    reading = parser.parse_message(raw, config.max_message_bytes)

    assert reading.folio == message.issuance.folio
    assert reading.unreadable == {}
    assert reading.answers["fever"] is False
    assert reading.answers["cough"] is True
    assert reading.answers["dyspnea_level"] == 1
    assert reading.answers["spo2"] == 95
    assert reading.answers["wants_call"] is False


# One daily questionnaire per local day


def test_due_only_after_local_questionnaire_time(config):
    la_paz = add_patient("UMF-34")
    tlalpan = add_patient("UMF-7", first_name="Eva", email="eva@example.org")

    # 15:30 UTC is 08:30 in La Paz (UTC-7) and 09:30 in Mexico City (UTC-6).
    clock.set_now(utc(4, 15, 30))
    assert issue_due_questionnaires(config) == 1
    assert Issuance.get().patient_id == tlalpan.id

    clock.set_now(utc(4, 16, 0))
    assert issue_due_questionnaires(config) == 1
    assert Issuance.select().where(Issuance.patient == la_paz).count() == 1


def test_never_twice_on_same_local_day(config):
    add_patient("UMF-34")
    add_patient("UMF-7", first_name="Eva", email="eva@example.org")
    clock.set_now(utc(4, 16, 5))
    assert issue_due_questionnaires(config) == 2

    # 06:30 UTC on the 5th: 23:30 of the 4th in La Paz, 00:30 of the 5th in Mexico City.
    for moment in (utc(4, 20), utc(5, 6, 30), utc(5, 14, 59)):
        clock.set_now(moment)
        assert issue_due_questionnaires(config) == 0

    assert Issuance.select().count() == 2


def test_next_local_day_issues_again(config):
    la_paz = add_patient("UMF-34")
    tlalpan = add_patient("UMF-7", first_name="Eva", email="eva@example.org")
    clock.set_now(utc(4, 16, 5))
    issue_due_questionnaires(config)

    clock.set_now(utc(5, 15, 0))
    assert issue_due_questionnaires(config) == 1
    clock.set_now(utc(5, 16, 0))
    assert issue_due_questionnaires(config) == 1

    days = {(row.patient_id, row.local_date) for row in Issuance.select()}
    assert days == {(la_paz.id, date(2026, 12, 4)), (la_paz.id, date(2026, 12, 5)),
                    (tlalpan.id, date(2026, 12, 4)), (tlalpan.id, date(2026, 12, 5))}


def test_local_date_is_units_date(config):
    add_patient("UMF-34")
    # 06:30 UTC on the 5th is still the 4th in La Paz.
    clock.set_now(utc(5, 6, 30))

    issue_due_questionnaires(config)

    assert Issuance.get().local_date == date(2026, 12, 4)


def test_database_rejects_second_daily_issuance(config):
    patient = add_patient()
    clock.set_now(utc(4, 17))
    first = issue_questionnaire(patient, config.unit("UMF-34"), config)

    with pytest.raises(IntegrityError), database_proxy.atomic():
        Issuance.create(patient=patient, local_date=first.local_date, folio="ZZZZ3333",
                        message_id="<other@example>", kind="daily", created_at=clock.now())


def test_second_daily_issue_rejected(config):
    patient = add_patient()
    clock.set_now(utc(4, 17))
    issue_questionnaire(patient, config.unit("UMF-34"), config)

    with pytest.raises(AlreadyIssuedError):
        issue_questionnaire(patient, config.unit("UMF-34"), config)


def test_on_demand_not_limited_per_day(config):
    patient = add_patient()
    clock.set_now(utc(4, 17))
    issue_questionnaire(patient, config.unit("UMF-34"), config)

    issue_questionnaire(patient, config.unit("UMF-34"), config, kind="on_demand")
    issue_questionnaire(patient, config.unit("UMF-34"), config, kind="on_demand")

    assert Issuance.select().count() == 3
    assert issue_due_questionnaires(config) == 0


def test_none_after_discharge(config):
    patient = add_patient()
    patient.status = "discharged"
    patient.discharged_at = utc(4, 10)
    patient.save()
    clock.set_now(utc(4, 17))

    assert find_due_patients(config) == []
    assert issue_due_questionnaires(config) == 0
    with pytest.raises(NotMonitoredError):
        issue_questionnaire(patient, config.unit("UMF-34"), config, kind="on_demand")
    assert Issuance.select().count() == 0


def test_questionnaire_time_configurable(make_config):
    config = load_config(make_config(units=[MAZATLAN_UNIT], schedule={"questionnaire_time": "07:15"}))
    open_database(config.database_url)
    sync_units(config)
    try:
        add_patient()
        clock.set_now(utc(4, 14, 14))  # 07:14 in La Paz
        assert issue_due_questionnaires(config) == 0
        clock.set_now(utc(4, 14, 15))
        assert issue_due_questionnaires(config) == 1
    finally:
        clock.set_now(None)
        database_proxy.close()


# Reminders


def test_reminder_repeats_latest_folio(config):
    patient = add_patient()
    clock.set_now(utc(4, 17))
    issuance = issue_questionnaire(patient, config.unit("UMF-34"), config)
    clock.set_now(utc(5, 17, 30))

    message = issue_reminder(patient, config.unit("UMF-34"), config)

    folio = format_folio(issuance.folio)
    assert message.kind == "reminder"
    assert message.subject == f"Recordatorio: cuestionario de automonitoreo COVID-19 [Folio {folio}]"
    assert message.in_reply_to == issuance.message_id
    assert "cuestionario del 4 dic 2026" in message.body_text
    assert "Urgencias del HGZ No. 1" in message.body_text
    assert "le falta el aire al caminar unos pasos" in message.body_text
    assert len(numbered_lines(message.body_text)) == len(DEFAULT_QUESTIONS)
    assert f"Folio: {folio}" in message.body_text
    assert Reminder.get().outbox_id == message.id


def test_reminder_needs_a_questionnaire(config):
    patient = add_patient()

    with pytest.raises(MailtriageError):
        issue_reminder(patient, None, config)

    assert OutboxMessage.select().count() == 0


# The command


def run_cli(config, *arguments):
    return CliRunner().invoke(build_cli(), ["--config", str(config.path), *arguments])


def test_send_all_due_prints_summary(config):
    add_patient()
    add_patient("UMF-7", first_name="Eva", email="eva@example.org")
    clock.set_now(utc(4, 17))

    result = run_cli(config, "questionnaires", "send", "--all-due")

    assert result.exit_code == 0, result.output
    assert "Cuestionarios emitidos: 2 (2 diarios, 0 a solicitud)." in result.output
    assert "Correos enviados: 2; con error: 0; pendientes: 0." in result.output
    assert Issuance.select().count() == 2


def test_send_patient_issues_on_demand(config):
    patient = add_patient()
    clock.set_now(utc(4, 10))

    result = run_cli(config, "questionnaires", "send", "--patient", str(patient.id))

    assert result.exit_code == 0, result.output
    assert "Cuestionarios emitidos: 1 (0 diarios, 1 a solicitud)." in result.output
    assert Issuance.get().kind == "on_demand"


def test_send_unknown_patient_fails(config):
    result = run_cli(config, "questionnaires", "send", "--patient", "999")

    assert result.exit_code != 0
    assert "no existe el paciente 999" in str(result.exception)


def test_send_without_options_issues_due(config):
    add_patient()
    clock.set_now(utc(4, 17))

    result = run_cli(config, "questionnaires", "send")

    assert result.exit_code == 0, result.output
    assert "Cuestionarios emitidos: 1 (1 diarios, 0 a solicitud)." in result.output
    assert Issuance.get().kind == "daily"


def test_send_repeated_patient_issues_once(config):
    patient = add_patient()
    clock.set_now(utc(4, 10))

    result = run_cli(config, "questionnaires", "send", "--patient", str(patient.id),
                     "--patient", str(patient.id))

    assert result.exit_code == 0, result.output
    assert "Cuestionarios emitidos: 1 (0 diarios, 1 a solicitud)." in result.output
    assert Issuance.select().count() == 1


def test_send_discharged_patient_names_status(config):
    patient = add_patient()
    patient.status = "discharged"
    patient.save()

    result = run_cli(config, "questionnaires", "send", "--patient", str(patient.id))

    assert result.exit_code != 0
    message = str(result.exception)
    assert "no está en seguimiento (alta médica)" in message
    assert "discharged" not in message
    assert Issuance.select().count() == 0


def test_send_many_shows_progress_label(config):
    for index in range(25):
        add_patient(first_name=f"P{index}", email=f"p{index}@example.org")
    clock.set_now(utc(4, 17))

    result = run_cli(config, "questionnaires", "send", "--all-due")

    assert result.exit_code == 0, result.output
    assert "Emitiendo cuestionarios" in result.output
    assert "Cuestionarios emitidos: 25 (25 diarios, 0 a solicitud)." in result.output
