"""Helpers for the fault, outage, quarantine and privacy tests.

The invented patients have distinctive names, addresses and symptom words,
so a leak into a log is easy to find. The helpers write the replies their
mail clients send and a config pointing at the real test servers, and run
the daemon as a separate process, which a fault point can kill.
"""

import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path

from mailtriage import clock
from mailtriage.config import load_config
from mailtriage.enrolment import enrol_patient, validate_profile
from mailtriage.folios import format_folio
from mailtriage.i18n import set_language
from mailtriage.models import (
    InboundMessage, Issuance, OutboxMessage, Report, database_proxy, open_database,
)
from mailtriage.units import sync_units

MONITORING_ADDRESS = "automonitoreo@umf34.example.mx"
PROCESSED = "Procesados"

# A daemon pass over a few messages takes about 2 s; a hung one is killed.
DAEMON_TIMEOUT_SECONDS = 60

# How long a `mailtriage run` daemon gets to reach a state before the test fails.
RUN_WAIT_SECONDS = 40


@dataclass(frozen=True)
class InventedPatient:
    """Personal data a log line must never contain."""

    first_name: str
    last_name: str
    email: str
    address: str
    phone: str
    comment: str  # free text of question 18, with symptom words


PATIENTS = (
    InventedPatient("Xóchitl", "Quetzalli Barragán", "xochitl.quetzalli@example.com",
                    "Calle Tamarindo 418, Col. Esterito", "612 555 0141",
                    "me duele el costado y escupo flemas verdosas"),
    InventedPatient("Eustaquio", "Moctezuma Ibarra", "eustaquio.moctezuma@example.org",
                    "Callejón Guaymas 77, Col. Pueblo Nuevo", "612 555 0142",
                    "siento escalofríos y perdí el olfato"),
    InventedPatient("Rigoberta", "Anaya Zendejas", "rigoberta.anaya@example.mx",
                    "Privada Mulegé 9, Fracc. Camino Real", "612 555 0143",
                    "tengo diarrea y mareos desde ayer"),
    InventedPatient("Filemón", "Cárdenas Ulloa", "filemon.cardenas@example.net",
                    "Av. Isabel la Católica 1502, Col. Los Olivos", "612 555 0144",
                    "me cuesta respirar cuando subo escaleras"),
)

# Answers by question number, as a patient types them below the quoted
# questionnaire; 18 is the free-text comment.
GREEN = {1: "no", 4: "no", 5: "no", 6: "no", 7: "no", 8: "no", 9: "no", 10: "a", 11: "no",
         12: "no", 13: "no", 14: "no", 15: "97", 16: "mejor", 17: "no"}
YELLOW = {**GREEN, 1: "si", 2: "38.6", 3: "no", 4: "si", 7: "si", 10: "b", 15: "94", 16: "peor"}
RED = {**YELLOW, 10: "d", 11: "si"}


def open_test_store(config_path: Path):
    """Load the config, open its database and mirror its units; return the config."""
    set_language("es")
    clock.set_now(None)
    config = load_config(config_path)
    open_database(config.database_url)
    sync_units(config)
    return config


def close_test_store() -> None:
    if not database_proxy.is_closed():
        database_proxy.close()


def enrol(config, person: InventedPatient, email: str | None = None):
    """Enrol an invented patient; enrolment queues the first questionnaire with its folio."""
    profile = {
        "first_name": person.first_name, "last_name": person.last_name,
        "email": email or person.email, "phone": person.phone,
        "alt_contact": f"{person.address}, tel. {person.phone}",
        "sex": "F", "birth_date": "1979-03-14", "unit": config.units[0].code,
        "has_oximeter": "si",
    }
    return enrol_patient(validate_profile(profile, config), config, actor="prueba")


def latest_issuance(patient) -> Issuance:
    return (Issuance.select().where(Issuance.patient == patient)
            .order_by(Issuance.id.desc()).first())


def reply(patient, answers: dict, comment: str = "", sender: str | None = None,
          message_id: str | None = None, extra_headers: dict | None = None,
          folio: str | None = None, thread: bool = True) -> bytes:
    """Return a plain-text reply to the patient's latest questionnaire.

    ``sender`` replaces the patient's address, ``folio`` the issuance's
    folio, and ``thread=False`` leaves out In-Reply-To and References.
    """
    issuance = latest_issuance(patient)
    used_folio = folio or issuance.folio
    headers = {
        "From": formataddr((patient.full_name, sender or patient.email), charset="utf-8"),
        "To": MONITORING_ADDRESS,
        "Subject": f"Re: Cuestionario de automonitoreo COVID-19 [Folio {format_folio(used_folio)}]",
        "Date": format_datetime(clock.now()),
        "Message-ID": message_id or make_msgid(domain="example.com"),
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=utf-8",
        "Content-Transfer-Encoding": "8bit",
    }
    if thread:
        headers["In-Reply-To"] = issuance.message_id
        headers["References"] = issuance.message_id
    headers.update(extra_headers or {})

    lines = [f"{number} {value}".strip() for number, value in sorted(answers.items())]
    if comment:
        lines.append(f"18 {comment}")
    body = "\r\n".join(lines) + f"\r\n\r\nFolio: {format_folio(used_folio)}\r\n"
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return (head + "\r\n" + body).encode("utf-8")


def message_id_of(raw: bytes) -> str:
    return str(BytesHeaderParser().parsebytes(raw)["Message-ID"]).strip()


def daemon_environment(fault: str | None = None) -> dict:
    environment = dict(os.environ)
    environment.pop("MAILTRIAGE_FAULT", None)
    environment.pop("MAILTRIAGE_CONFIG", None)
    if fault:
        environment["MAILTRIAGE_FAULT"] = fault
    return environment


def run_daemon_once(config_path: Path, fault: str | None = None, verbose: bool = False,
                    timeout: float = DAEMON_TIMEOUT_SECONDS) -> subprocess.CompletedProcess:
    """Run `mailtriage poll --once` as its own process, with MAILTRIAGE_FAULT set to ``fault``."""
    initialise(config_path)
    command = [sys.executable, "-m", "mailtriage", "--config", str(config_path)]
    if verbose:
        command.append("--verbose")
    command += ["poll", "--once"]
    return subprocess.run(command, env=daemon_environment(fault), capture_output=True,
                          text=True, timeout=timeout)


# Configs `mailtriage init` already ran for in this test session.
_initialised: set[Path] = set()


def initialise(config_path: Path) -> None:
    """Run `mailtriage init`, as an administrator does once before starting the daemon."""
    if config_path in _initialised:
        return
    subprocess.run([sys.executable, "-m", "mailtriage", "--config", str(config_path), "init"],
                   env=daemon_environment(None), capture_output=True, check=True, timeout=60)
    _initialised.add(config_path)


class RunDaemon:
    """A `mailtriage run` process whose log goes to a file the test can read while it runs."""

    def __init__(self, config_path: Path, log_path: Path, fault: str | None = None,
                 preexec_fn=None):
        self.log_path = log_path
        self.log_file = log_path.open("ab")
        initialise(config_path)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mailtriage", "--config", str(config_path), "run"],
            env=daemon_environment(fault), stdout=subprocess.DEVNULL, stderr=self.log_file,
            preexec_fn=preexec_fn)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_for_log(self, text: str, seconds: float = RUN_WAIT_SECONDS) -> None:
        wait_until(lambda: text in self.log() or self.process.poll() is not None,
                   f"{text!r} in the daemon's log", seconds)
        assert text in self.log(), self.log()[-3000:]

    def wait(self, seconds: float = RUN_WAIT_SECONDS) -> int:
        try:
            return self.process.wait(timeout=seconds)
        finally:
            self.log_file.close()

    def stop(self) -> int:
        """Stop the daemon with SIGTERM, as systemd does, and return its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.wait()
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.wait()


def wait_until(condition, what: str, seconds: float = RUN_WAIT_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


def replies_received(smtp_server, patients) -> dict:
    """Return, per patient address, the Message-IDs of the replies the SMTP server received.

    A reply is a message to the patient with In-Reply-To set, which
    questionnaires, welcomes and reminders do not have.
    """
    addresses = {patient.email.lower() for patient in patients}
    found: dict[str, list[str]] = {address: [] for address in addresses}
    for message in smtp_server.messages():
        recipients = [address.lower() for address in message.envelope_to]
        for address in recipients:
            if address in addresses and message["In-Reply-To"]:
                found[address].append(str(message["Message-ID"]))
    return found


# --------------------------------------------------------------------------- a world of patients

# A patient sends at most this many replies in a world, below the default
# max_replies_per_sender_per_hour (5), so every reply is answered.
REPLIES_PER_PATIENT = 3


@dataclass
class World:
    """A config on the test servers, enrolled patients and their replies."""

    config_path: Path
    user: object
    folder: str
    patients: list = field(default_factory=list)
    message_ids: list = field(default_factory=list)
    replies: list = field(default_factory=list)  # raw bytes, in message_ids' order


@dataclass
class DeliveryCount:
    """Counts from one check: messages, and the replies the SMTP server received for them."""

    messages: int
    replies_received: int
    distinct_replies: int


def invented_person(number: int) -> InventedPatient:
    """Return PATIENTS[number], or a further invented patient past the end of that list."""
    if number < len(PATIENTS):
        return PATIENTS[number]
    return InventedPatient(f"Prueba{number}", "Fallas Simuladas", f"prueba{number}@example.com",
                           f"Calle Ficticia {number}, Col. Ensayo", f"612 555 0{number:03d}",
                           "me siento igual")


def build_world(make_config, dovecot, smtp_server, folder: str = "INBOX", deliver: bool = True,
                tls: bool = False, messages: int = 3, **overrides) -> World:
    """Enrol patients, send their welcomes, then put ``messages`` replies in ``folder``.

    Up to three messages come from three patients, one each; more come from
    enough patients to send REPLIES_PER_PATIENT each. With ``deliver=False``
    the replies are only written, and ``deliver_replies`` puts them in the
    folder later. With ``tls`` the daemon uses imaps:// and
    smtp+starttls:// with a password for both.

    The daemon polls every second and retries the outbox after one second,
    so tests of `mailtriage run` and of retries wait little. ``overrides``
    go to make_config.
    """
    user = dovecot.new_user()
    mailbox_url = (user.tls_url if tls else user.url).rsplit("/", 1)[0] + f"/{folder}"
    smtp = {"smtp_url": smtp_server.url("smtp")}
    if tls:
        smtp = {"smtp_url": smtp_server.url("smtp+starttls", username="automonitoreo"),
                "smtp_password": smtp_server.password}
    schedule = {"poll_seconds": 1, "outbox_retry_seconds": 1, **overrides.pop("schedule", {})}
    config_path = make_config(mailbox_url=mailbox_url, mailbox_password=user.password,
                              schedule=schedule, **smtp, **overrides)
    if folder != "INBOX":
        with dovecot.client(user) as imap:
            imap.create_folder(folder)
    world = World(config_path=config_path, user=user, folder=folder)

    patients = messages if messages <= 3 else -(-messages // REPLIES_PER_PATIENT)
    config = open_test_store(config_path)
    try:
        for number in range(patients):
            person = invented_person(number)
            world.patients.append(enrol(config, person, email=unique_address(person)))
    finally:
        close_test_store()

    # A first pass sends the welcome questionnaires, so the faulted pass
    # below sends replies only.
    first = run_daemon_once(config_path)
    assert first.returncode == 0, first.stderr
    smtp_server.clear()

    write_replies(world, messages)
    if deliver:
        deliver_replies(world, dovecot)
    return world


def write_replies(world: World, messages: int) -> None:
    """Write ``messages`` replies, round-robin over the patients, green, yellow and red in turn."""
    open_test_store(world.config_path)
    try:
        for number in range(messages):
            patient = world.patients[number % len(world.patients)]
            person = invented_person(number % len(world.patients))
            raw = reply(patient, (GREEN, YELLOW, RED)[number % 3], comment=person.comment)
            world.replies.append(raw)
            world.message_ids.append(message_id_of(raw))
    finally:
        close_test_store()


def deliver_replies(world: World, dovecot) -> None:
    dovecot.append_many(world.user, world.replies, folder=world.folder)


def unique_address(person) -> str:
    """Give each test its own addresses, because the SMTP spool is shared by the session."""
    local, domain = person.email.split("@")
    return f"{local}.{secrets.token_hex(3)}@{domain}"


def replies_by_message(smtp_server) -> dict[str, list[str]]:
    """Return the Message-IDs of the replies the SMTP server received, by the message they answer."""
    found: dict[str, list[str]] = {}
    for message in smtp_server.messages():
        answered = message["In-Reply-To"]
        if answered:
            found.setdefault(str(answered).strip(), []).append(str(message["Message-ID"]))
    return found


def check_exactly_once(world: World, dovecot, smtp_server) -> DeliveryCount:
    """Assert that each message was reported once, answered with one Message-ID and filed.

    A reply resent after a crash keeps its Message-ID, so the SMTP server
    may hold copies, but never two different replies to one message.
    """
    open_test_store(world.config_path)
    try:
        rows = list(InboundMessage.select())
        assert sorted(row.message_id for row in rows) == sorted(world.message_ids)
        for row in rows:
            assert row.outcome == "reported", (row.id, row.outcome, row.last_error)
            assert row.handled_on_server, row.id
            assert Report.select().where(Report.inbound == row).count() == 1, row.message_id

        replies = list(OutboxMessage.select().where(OutboxMessage.kind == "reply"))
        assert len(replies) == len(world.message_ids)
        for row in replies:
            assert row.status == "sent", (row.id, row.status, row.last_error)
    finally:
        close_test_store()

    received = replies_by_message(smtp_server)
    for message_id in world.message_ids:
        assert len(set(received.get(message_id, []))) == 1, (message_id, received.get(message_id))

    assert dovecot.count(world.user, world.folder) == 0
    assert dovecot.count(world.user, PROCESSED) == len(world.message_ids)
    return DeliveryCount(
        messages=len(world.message_ids),
        replies_received=sum(len(received.get(message_id, [])) for message_id in world.message_ids),
        distinct_replies=len({reply_id for message_id in world.message_ids
                              for reply_id in received.get(message_id, [])}))
