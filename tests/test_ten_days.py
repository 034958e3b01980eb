"""One patient through ten simulated days on the real Dovecot and SMTP servers.

Enrolment, a questionnaire every morning, a yellow day closed by a call, a
missed day with its reminder, a red day with the staff alert and the
confirmation of arrival, and the discharge that stops the questionnaires.
The clock is frozen and moved by the test; each day runs the daemon's pass.
"""

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from mailtriage import clock
from mailtriage.cli import build_cli
from mailtriage.config import load_config
from mailtriage.daemon import open_store, run_once
from mailtriage.i18n import set_language
from mailtriage.models import CallListEntry, Patient, Reminder, Report, database_proxy
from mailtriage.monitoring import run_nonreporting_check

from conftest import DEFAULT_UNIT
from patient_mail import GREEN_ANSWERS, RED_ANSWERS, YELLOW_ANSWERS, reply_to
from servers import SMTP_PASSWORD

pytestmark = pytest.mark.servers

# 09:30 in La Paz (America/Mazatlan, UTC-7), just after the 09:00 questionnaire time.
# The simulated days lie in the real past: the test Dovecot (2.3) stored the
# real time when APPEND gave a date in the future, and the arrival time of a
# reply (its INTERNALDATE) decides the day of its report.
FIRST_MORNING = (datetime.now(timezone.utc) - timedelta(days=30)).replace(
    hour=16, minute=30, second=0, microsecond=0)
STAFF_EMAIL = "guardia@umf34.example.mx"
PATIENT_EMAIL = "rosa.mendez@example.org"

# Each day's reply: None is a missed day. Day 5 is green but yellow A by Y18,
# because the day before was red and arrival must be confirmed.
DAY_ANSWERS = [GREEN_ANSWERS, YELLOW_ANSWERS, None, GREEN_ANSWERS, RED_ANSWERS,
               GREEN_ANSWERS, GREEN_ANSWERS, GREEN_ANSWERS, GREEN_ANSWERS]
EXPECTED_COLORS = ["verde", "amarillo", "verde", "rojo", "amarillo", "verde", "verde", "verde"]

# A phrase of each color's reply, as the Spanish templates write it.
REPLY_TEXT = {"verde": "puede seguir cuidándose en casa", "amarillo": "le llamará",
              "rojo": "Vaya ahora mismo a"}

ENROL = ["patients", "add", "--first-name", "Rosa", "--last-name", "Méndez Ortiz",
         "--birth-date", "1988-03-14", "--sex", "F", "--email", PATIENT_EMAIL,
         "--phone", "612 345 6789", "--alt-contact", "Jorge Méndez 612 987 6543",
         "--has-oximeter", "sí", "--staff", "Enf. Castro"]


class Clinic:
    """The site under test: config, servers and the CLI, with the clock under the test's control."""

    def __init__(self, config, path, user, dovecot, smtp):
        self.config, self.path, self.user, self.dovecot, self.smtp = config, path, user, dovecot, smtp

    def cli(self, *arguments) -> str:
        result = CliRunner().invoke(build_cli(), ["--config", str(self.path), *arguments],
                                    catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    def run_pass(self, expected_mail: int):
        """Run one daemon pass and wait until the SMTP server has received ``expected_mail`` messages."""
        summary = run_once(self.config)
        self.smtp.wait_for_messages(expected_mail)
        return summary

    def patient_replies(self, patient, answers: dict) -> str:
        raw = reply_to(patient, answers, clock.now())
        self.dovecot.append(self.user, raw, msg_time=clock.now())
        return raw.split(b"Message-ID: ", 1)[1].split(b"\r\n", 1)[0].decode()

    def mail_to(self, address: str) -> list:
        return [message for message in self.smtp.messages() if address in message["To"]]


@pytest.fixture
def clinic(dovecot, smtp_server, make_config):
    set_language("es")
    clock.set_now(FIRST_MORNING)
    user = dovecot.new_user()
    path = make_config(mailbox_url=user.url, mailbox_password=user.password,
                       smtp_url=smtp_server.url("smtp+starttls", username="automonitoreo"),
                       smtp_password=SMTP_PASSWORD,
                       units=[DEFAULT_UNIT | {"staff_email": STAFF_EMAIL}])
    config = load_config(path)
    open_store(config)
    yield Clinic(config, path, user, dovecot, smtp_server)
    clock.set_now(None)
    database_proxy.close()


def body(message) -> str:
    return message.get_body(("plain",)).get_content()


def test_ten_days_of_monitoring(clinic):
    sent = 0

    # Day 0: the nurse enrols the patient, and the welcome with the first questionnaire goes out.
    assert "Paciente 1 registrado" in clinic.cli(*ENROL)
    patient = Patient.get(Patient.email == PATIENT_EMAIL)
    sent += 1
    summary = clinic.run_pass(sent)
    assert summary.questionnaires_issued == 0
    (welcome,) = clinic.mail_to(PATIENT_EMAIL)
    assert welcome["Subject"].startswith("Bienvenida al automonitoreo COVID-19")
    assert "Folio" in welcome["Subject"]

    for day, answers in enumerate(DAY_ANSWERS):
        morning = FIRST_MORNING + timedelta(days=day)
        clock.set_now(morning)
        if day > 0:
            sent += 1
            summary = clinic.run_pass(sent)
            assert summary.questionnaires_issued == 1
            assert clinic.mail_to(PATIENT_EMAIL)[-1]["Subject"].startswith(
                "Cuestionario de automonitoreo COVID-19 [Folio")

        if answers is None:
            check_missed_day(clinic, patient, morning)
            sent += 1
            continue

        clock.set_now(morning + timedelta(hours=2))
        reply_id = clinic.patient_replies(patient, answers)
        red = answers is RED_ANSWERS
        sent += 2 if red else 1
        clinic.run_pass(sent)
        check_reply(clinic, patient, reply_id, day)

        if day == 1:
            check_yellow_day(clinic, patient)
        if red:
            check_red_day(clinic, patient)
        if day == 4:
            check_call_after_red(clinic, patient)

    # The welcome, 8 daily questionnaires, 8 replies, 1 reminder and 1 staff alert.
    assert len(clinic.smtp.messages()) == sent == 19
    check_discharge(clinic, patient)
    check_history(clinic, patient)


def check_reply(clinic, patient, reply_id: str, day: int) -> None:
    reports = list(Report.select().where(Report.patient == patient).order_by(Report.received_at))
    expected = EXPECTED_COLORS[len(reports) - 1]
    assert reports[-1].color == expected, f"day {day}: {reports[-1].hits}"
    assert reports[-1].inbound.message_id == reply_id

    (answer,) = [message for message in clinic.smtp.messages() if message["In-Reply-To"] == reply_id]
    assert PATIENT_EMAIL in answer["To"]
    assert answer["Subject"].startswith("Re: ")
    assert REPLY_TEXT[expected] in body(answer)


def check_yellow_day(clinic, patient) -> None:
    listed = clinic.cli("calls", "list")
    assert "[prioridad" in listed
    assert "Paciente 1: Rosa Méndez Ortiz" in listed

    exported = clinic.cli("export", "--color", "amarillo,rojo")
    assert exported.count("Rosa Méndez Ortiz") == 1

    clock.advance(timedelta(minutes=10))
    logged = clinic.cli("calls", "log", str(patient.id), "--outcome", "contestada",
                        "--note", "Fiebre controlada; vigilar", "--staff", "Enf. Castro")
    assert "entradas cerradas: 1" in logged
    assert clinic.cli("calls", "list").strip() == "No hay llamadas pendientes."


def check_missed_day(clinic, patient, morning) -> None:
    # 24 h after the last report plus a minute, the call of yesterday is still under 24 h old.
    yesterday_report = Report.select().order_by(Report.received_at.desc()).first()
    clock.set_now(yesterday_report.received_at + timedelta(hours=24, minutes=1))
    first = run_nonreporting_check(clinic.config)
    again = run_nonreporting_check(clinic.config)

    assert first.reminders == 1
    assert again.reminders == 0
    assert Reminder.select().count() == 1
    assert CallListEntry.select().where(CallListEntry.closed_at.is_null()).count() == 0

    not_reporting = clinic.cli("export", "--non-reporting")
    assert "Rosa Méndez Ortiz" in not_reporting

    clinic.run_pass(len(clinic.smtp.messages()) + 1)
    reminder = clinic.mail_to(PATIENT_EMAIL)[-1]
    # Python's email package folds this 80-character Subject line before its
    # first word, so the parsed header keeps a leading space.
    assert reminder["Subject"].startswith("Recordatorio: cuestionario de automonitoreo COVID-19")


def check_red_day(clinic, patient) -> None:
    (alert,) = clinic.mail_to(STAFF_EMAIL)
    text = body(alert)
    assert "mailtriage patients show 1" in text
    for private in ("Rosa", "Méndez", PATIENT_EMAIL, "pecho", "aire", "rojo"):
        assert private not in text

    listed = clinic.cli("calls", "list")
    assert listed.startswith("[ROJO: confirmar llegada a Urgencias] Paciente 1")


def check_call_after_red(clinic, patient) -> None:
    clock.advance(timedelta(hours=1))
    clinic.cli("calls", "log", str(patient.id), "--outcome", "llego_a_urgencias",
               "--note", "Ingresó a Urgencias del HGZ 1", "--staff", "Dr. Peña")
    assert clinic.cli("calls", "list").strip() == "No hay llamadas pendientes."

    # Four hours later the arrival check (N4) does not list the confirmed red report again.
    clock.advance(timedelta(hours=4))
    run_nonreporting_check(clinic.config)
    assert clinic.cli("calls", "list").strip() == "No hay llamadas pendientes."


def check_discharge(clinic, patient) -> None:
    # Day 5 was yellow A: the call that closes it comes before the discharge.
    assert "Paciente 1" in clinic.cli("calls", "list")
    clinic.cli("calls", "log", str(patient.id), "--outcome", "contestada", "--note", "Estable")

    # Day 9, 08:00 local: the physician discharges before the questionnaire time.
    clock.set_now(FIRST_MORNING + timedelta(days=9, hours=-1, minutes=-30))
    discharged = clinic.cli("patients", "discharge", str(patient.id), "--reason", "recuperado",
                            "--staff", "Dra. Ruiz")
    assert "dado de alta (recuperado)" in discharged

    before = len(clinic.smtp.messages())
    for day in (9, 10):
        clock.set_now(FIRST_MORNING + timedelta(days=day))
        assert run_once(clinic.config).questionnaires_issued == 0
        assert run_nonreporting_check(clinic.config).patients == 0
    assert len(clinic.smtp.messages()) == before


def check_history(clinic, patient) -> None:
    shown = clinic.cli("patients", "show", str(patient.id))
    colors = [line.split(": ", 1)[1].split()[0] for line in shown.splitlines() if "  Reporte " in line]
    assert colors == [color.upper() for color in EXPECTED_COLORS]
    assert shown.index("Registro por Enf. Castro") < shown.index("Recordatorio enviado")
    assert shown.index("Recordatorio enviado") < shown.index("Alta médica (recuperado) por Dra. Ruiz")

    history = list(csv.reader(io.StringIO(clinic.cli("export", "--history").lstrip("\ufeff"))))
    events = [row[4] for row in history[1:]]
    assert history[0][4] == "Evento"
    assert events.count("reporte") == len(EXPECTED_COLORS)
    assert events.count("llamada") == 3
    assert events.count("recordatorio") == 1

    listed = clinic.cli("patients", "list", "--all")
    assert "alta médica" in listed

    audit = clinic.cli("audit", "--patient", str(patient.id))
    actions = [line.split("  ")[2] for line in audit.strip().splitlines()]
    assert actions == ["registro", "llamada", "llamada", "llamada", "alta médica"]
