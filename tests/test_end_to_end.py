"""End to end on the real Dovecot and SMTP servers: questionnaire out, reply in, triage, answer out."""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime, formataddr, make_msgid

import pytest
from click.testing import CliRunner

from mailtriage import clock
from mailtriage.cli import build_cli
from mailtriage.config import load_config
from mailtriage.daemon import open_store, run_once
from mailtriage.i18n import set_language
from mailtriage.models import InboundMessage, OutboxMessage, Report, database_proxy

from patient_mail import GREEN_ANSWERS, RED_ANSWERS, YELLOW_ANSWERS, compact, enrol
from servers import SMTP_PASSWORD

pytestmark = pytest.mark.servers

# 09:00 in Mazatlán (UTC-7), the default unit's time zone.
MORNING = datetime(2026, 12, 4, 16, 0, tzinfo=timezone.utc)

# How long the daemon test waits for the daemon to send or to stop. It is a
# generous bound, because with 1 s intervals both happen within a few seconds.
DAEMON_WAIT_SECONDS = 30

# A phrase of each color's reply, as the Spanish templates write it.
COLOR_TEXT = {
    "verde": "puede seguir cuidándose en casa",
    "amarillo": "le llamará",
    "rojo": "Vaya ahora mismo a",
}


@pytest.fixture
def site(dovecot, smtp_server, make_config):
    """A config on a fresh IMAP user and the SMTP server, with its database open."""
    set_language("es")
    clock.set_now(MORNING)
    user = dovecot.new_user()
    path = make_config(mailbox_url=user.url, mailbox_password=user.password,
                       smtp_url=smtp_server.url("smtp+starttls", username="automonitoreo"),
                       smtp_password=SMTP_PASSWORD)
    config = load_config(path)
    open_store(config)
    yield Site(config, path, user, dovecot, smtp_server)
    clock.set_now(None)
    database_proxy.close()


class Site:
    def __init__(self, config, path, user, dovecot, smtp):
        self.config, self.path, self.user, self.dovecot, self.smtp = config, path, user, dovecot, smtp

    def enrol_and_send_questionnaire(self, email="ana.lopez@example.com", **fields):
        """Enrol a patient, run a pass, and return the patient and the questionnaire the SMTP server got."""
        patient = enrol(self.config, email=email, **fields)
        before = len(self.smtp.messages())
        run_once(self.config)
        received = self.smtp.wait_for_messages(before + 1)
        questionnaire = [message for message in received if email in message["To"]][-1]
        return patient, questionnaire

    def patient_replies(self, patient, questionnaire, answers: dict, minutes: int = 30,
                        extra_headers: dict | None = None, subject_prefix: str = "Re: ",
                        written: datetime | None = None) -> str:
        """Append the patient's reply to the questionnaire to the IMAP inbox; return its Message-ID."""
        written = written or MORNING + timedelta(minutes=minutes)
        message_id = make_msgid(domain="example.com")
        headers = {
            "From": formataddr((patient.full_name, patient.email), charset="utf-8"),
            "To": questionnaire["Reply-To"] or questionnaire["From"],
            "Subject": subject_prefix + questionnaire["Subject"],
            "Date": format_datetime(written),
            "Message-ID": message_id,
            "In-Reply-To": questionnaire["Message-ID"],
            "References": questionnaire["Message-ID"],
            "MIME-Version": "1.0",
            "Content-Type": "text/plain; charset=utf-8",
            "Content-Transfer-Encoding": "8bit",
            **(extra_headers or {}),
        }
        quoted = "\r\n".join("> " + line for line in questionnaire.get_body(("plain",))
                             .get_content().splitlines())
        body = f"{compact(answers)}\r\n\r\nEl vie, 4 dic 2026 escribió:\r\n{quoted}\r\n"
        raw = "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n" + body
        self.dovecot.append(self.user, raw.encode("utf-8"), msg_time=written)
        return message_id

    def replies_to(self, message_id: str):
        return [message for message in self.smtp.messages() if message["In-Reply-To"] == message_id]

    def export(self, colors: str) -> str:
        result = CliRunner().invoke(build_cli(), ["--config", str(self.path), "export", "--color", colors],
                                    catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output


@pytest.mark.parametrize("color, answers", [
    ("verde", GREEN_ANSWERS),
    ("amarillo", YELLOW_ANSWERS),
    ("rojo", RED_ANSWERS),
])
def test_reply_triaged_and_answered(site, color, answers):
    patient, questionnaire = site.enrol_and_send_questionnaire()
    assert questionnaire["Auto-Submitted"] == "auto-generated"
    assert "Folio" in questionnaire["Subject"]

    reply_id = site.patient_replies(patient, questionnaire, answers)
    summary = run_once(site.config)

    report = Report.get(Report.patient == patient)
    assert report.color == color
    assert summary.reports[color] == 1
    assert report.answers["cough"] == (answers[4] == "si")
    assert report.unreadable == {}
    assert report.ruleset_version
    assert all(hit["color"] != "rojo" for hit in report.hits) or color == "rojo"
    assert any(hit["color"] == color for hit in report.hits) or color == "verde"
    assert report.inbound.message_id == reply_id
    assert report.issuance.message_id == questionnaire["Message-ID"]

    answer, = site.replies_to(reply_id)
    assert answer["Subject"].startswith("Re: ")
    assert "Folio" in answer["Subject"]
    assert answer["References"].split() == [questionnaire["Message-ID"], reply_id]
    assert answer["Auto-Submitted"] == "auto-replied"
    assert patient.email in answer["To"]
    assert COLOR_TEXT[color] in answer.get_body(("plain",)).get_content()

    assert site.dovecot.count(site.user, "INBOX") == 0
    assert site.dovecot.count(site.user, site.config.processed_folder) == 1

    listed = site.export("amarillo,rojo")
    if color == "verde":
        assert patient.first_name not in listed
    else:
        assert patient.full_name in listed


def test_poll_command_prints_summary(site):
    patient, questionnaire = site.enrol_and_send_questionnaire()
    site.patient_replies(patient, questionnaire, YELLOW_ANSWERS)

    result = CliRunner().invoke(build_cli(), ["--config", str(site.path), "poll", "--once"],
                                catch_exceptions=False)

    assert result.exit_code == 0, result.output
    assert "Mensajes leídos: 1" in result.output
    assert "0 verde, 1 amarillo, 0 rojo" in result.output
    assert "Correos enviados: 1" in result.output


def test_autoreply_gets_no_answer(site):
    patient, questionnaire = site.enrol_and_send_questionnaire()
    reply_id = site.patient_replies(patient, questionnaire, {}, subject_prefix="Respuesta automática: ",
                                    extra_headers={"Auto-Submitted": "auto-replied"})

    summary = run_once(site.config)

    assert summary.not_answers == 1
    assert InboundMessage.get(InboundMessage.message_id == reply_id).kind == "autoreply"
    assert Report.select().count() == 0
    assert site.replies_to(reply_id) == []
    assert site.dovecot.count(site.user, site.config.processed_folder) == 1


def test_stranger_gets_no_answer(site):
    patient, questionnaire = site.enrol_and_send_questionnaire()
    reply_id = site.patient_replies(patient, questionnaire, GREEN_ANSWERS,
                                    extra_headers={"From": "Vecina <vecina@example.org>"})

    summary = run_once(site.config)

    assert summary.not_answers == 1
    assert InboundMessage.get(InboundMessage.message_id == reply_id).kind in (
        "unknown_sender", "folio_mismatch")
    assert Report.select().count() == 0
    assert site.replies_to(reply_id) == []
    assert OutboxMessage.select().where(OutboxMessage.kind == "reply").count() == 0


def test_second_reply_same_day_is_linked(site):
    patient, questionnaire = site.enrol_and_send_questionnaire()
    first_id = site.patient_replies(patient, questionnaire, GREEN_ANSWERS, minutes=30)
    run_once(site.config)
    second_id = site.patient_replies(patient, questionnaire, YELLOW_ANSWERS, minutes=120)
    clock.set_now(MORNING + timedelta(minutes=125))

    run_once(site.config)

    first, second = Report.select().order_by(Report.received_at)
    assert first.inbound.message_id == first_id
    assert second.inbound.message_id == second_id
    assert second.first_of_day == first
    assert len(site.replies_to(second_id)) == 1
    assert site.dovecot.count(site.user, site.config.processed_folder) == 2


def test_daemon_stops_on_sigterm(site, make_config):
    clock.set_now(None)
    path = make_config(mailbox_url=site.user.url, mailbox_password=site.user.password,
                       smtp_url=site.smtp.url("smtp+starttls", username="automonitoreo"),
                       smtp_password=SMTP_PASSWORD,
                       schedule={"poll_seconds": 1, "outbox_retry_seconds": 1})
    patient = enrol(site.config)
    environment = {**os.environ, "MAILTRIAGE_FAULT": ""}
    daemon = subprocess.Popen([sys.executable, "-m", "mailtriage", "--config", str(path), "run"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)
    try:
        questionnaire = site.smtp.wait_for_messages(1, timeout=DAEMON_WAIT_SECONDS)[0]
        reply_id = site.patient_replies(patient, questionnaire, YELLOW_ANSWERS,
                                        written=datetime.now(timezone.utc))
        answered = wait_until(lambda: site.replies_to(reply_id), DAEMON_WAIT_SECONDS)
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, stderr = daemon.communicate(timeout=DAEMON_WAIT_SECONDS)

    assert answered, stderr[-3000:]
    assert daemon.returncode == 0, stderr[-3000:]
    assert "daemon started" in stderr
    assert "daemon stopped" in stderr
    assert patient.email not in stderr
    assert Report.get(Report.patient == patient).color == "amarillo"

    status = CliRunner().invoke(build_cli(), ["--config", str(path), "status", "--json"])
    counts = json.loads(status.stdout)
    assert status.exit_code == 0, status.output
    assert counts["reports_today"]["amarillo"] == 1
    assert counts["outbox"]["pending"] == 0
    assert counts["daemons"], "the daemon recorded no poll"


def wait_until(condition, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    return condition()
