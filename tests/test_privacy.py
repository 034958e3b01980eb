"""Privacy and secrets: logs, file modes, TLS, and who may receive a patient's reply.

The flows run the real daemon with --verbose (DEBUG) against the test
Dovecot and SMTP servers over TLS with passwords. Every line it prints is
searched for the invented patients' names, addresses, phones, email
addresses and symptom words, and for both passwords. A reply carries a
patient's triage, so it must never go to a stranger, a machine or a list.
"""

import mailbox
import os
import re
import stat
import subprocess
import sys
from email.utils import formataddr, make_msgid

import pytest

from faultmail import (
    GREEN, PATIENTS, RED, build_world, close_test_store, daemon_environment, enrol,
    latest_issuance, open_test_store, replies_received, reply, run_daemon_once,
)
from mailtriage.config import load_config
from mailtriage.errors import ConfigError
from mailtriage.folios import format_folio
from mailtriage.models import InboundMessage, OutboxMessage, Report

pytestmark = [pytest.mark.faults]

# Symptom words of the replies and the triage reasons, matched as whole words.
SYMPTOM_WORDS = ("fiebre", "tos", "disnea", "saturación", "oxigenación", "escalofríos", "olfato",
                 "flemas", "costado", "diarrea", "mareos", "escaleras", "respirar", "pecho")


def sensitive_strings(world) -> list[str]:
    """Every piece of personal data of the world's patients that a log must not contain."""
    found = []
    for patient, person in zip(world.patients, PATIENTS):
        found += [person.first_name, person.last_name, patient.email, patient.email.split("@")[0],
                  person.address, person.address.split(",")[0], person.phone, person.comment]
    return found


def assert_no_personal_data(text: str, world, passwords=()) -> None:
    for value in sensitive_strings(world):
        assert value.lower() not in text.lower(), f"{value!r} appears in the log"
    for word in SYMPTOM_WORDS:
        assert not re.search(rf"\b{word}\b", text, re.IGNORECASE), f"symptom word {word!r} in the log"
    for password in passwords:
        assert password not in text, "a password appears in the log"


def run_verbose(config_path) -> subprocess.CompletedProcess:
    result = run_daemon_once(config_path, verbose=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def strange_messages(world) -> list[bytes]:
    """A stranger using a folio, an autoresponder and a bounce, each naming a patient."""
    patient = world.patients[0]
    stranger = reply(patient, RED, sender="vecina.curiosa@example.net")
    vacation = reply(patient, GREEN, extra_headers={"Auto-Submitted": "auto-replied"})
    bounce = (f"From: MAILER-DAEMON@example.com\r\nTo: automonitoreo@umf34.example.mx\r\n"
              f"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: {make_msgid()}\r\n"
              f"\r\n<{patient.email}>: user unknown\r\n").encode()
    return [stranger, vacation, bounce]


# --------------------------------------------------------------------------- logs

@pytest.mark.servers
def test_debug_log_has_no_personal_data(make_config, dovecot, smtp_server):
    world = build_world(make_config, dovecot, smtp_server, tls=True)
    refused = world.patients[2].email
    smtp_server.reject(refused, f"550 5.1.1 <{refused}>: Recipient address rejected")
    dovecot.append_many(world.user, strange_messages(world))

    first = run_verbose(world.config_path)
    second = run_verbose(world.config_path)

    log = first.stderr + first.stdout + second.stderr + second.stdout
    assert "DEBUG" in log
    assert "message" in log
    assert_no_personal_data(log, world, passwords=(dovecot.password, smtp_server.password))


@pytest.mark.servers
def test_failed_logins_do_not_log_password(make_config, dovecot, smtp_server):
    user = dovecot.new_user()
    wrong = "clave-equivocada-7731"
    config_path = make_config(mailbox_url=user.tls_url, mailbox_password=wrong,
                              smtp_url=smtp_server.url("smtp+starttls", username="automonitoreo"),
                              smtp_password=wrong)

    result = run_daemon_once(config_path, verbose=True)

    assert result.returncode == 1
    assert "rechazó el inicio de sesión" in result.stderr
    assert wrong not in result.stderr + result.stdout


# --------------------------------------------------------------------------- file modes

def mode_of(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def run_cli_with_open_umask(config_path, *arguments) -> subprocess.CompletedProcess:
    """Run the CLI as an operator whose umask lets others read new files (022)."""
    return subprocess.run(
        [sys.executable, "-m", "mailtriage", "--config", str(config_path), *arguments],
        env=daemon_environment(), capture_output=True, text=True, timeout=60,
        preexec_fn=lambda: os.umask(0o022))


def test_files_with_health_data_owner_only(make_config, tmp_path):
    state = tmp_path / "estado"
    config_path = make_config(database={"url": f"sqlite:///{state / 'datos' / 'mailtriage.db'}"},
                              mailbox_url=f"maildir://{state / 'Buzon'}",
                              smtp_url=f"maildir://{state / 'Enviados'}")
    config = open_test_store(config_path)
    try:
        patient = enrol(config, PATIENTS[0])
        raw = reply(patient, RED, comment=PATIENTS[0].comment)
    finally:
        close_test_store()
    mailbox.Maildir(state / "Buzon", create=True).add(raw)

    passed = run_cli_with_open_umask(config_path, "poll", "--once")
    assert passed.returncode == 0, passed.stderr[-3000:]
    exported = run_cli_with_open_umask(config_path, "export", "--color", "rojo",
                                       "--output", str(tmp_path / "rojos.csv"))
    assert exported.returncode == 0, exported.stderr[-3000:]
    backed_up = run_cli_with_open_umask(config_path, "backup", str(tmp_path / "respaldo.db"))
    assert backed_up.returncode == 0, backed_up.stderr[-3000:]

    database_dir = state / "datos"
    assert mode_of(database_dir) == 0o700
    for path in database_dir.iterdir():
        assert mode_of(path) == 0o600, path.name
    assert mode_of(tmp_path / "rojos.csv") == 0o600
    assert mode_of(tmp_path / "respaldo.db") == 0o600
    sent = [path for path in (state / "Enviados").rglob("*") if path.is_file()]
    assert sent
    for path in sent:
        assert mode_of(path) == 0o600, path
    for path in [state / "Enviados", *(state / "Enviados").rglob("*")]:
        if path.is_dir():
            assert mode_of(path) == 0o700, path
    # The daemon creates the processed folder. The message files in it keep
    # the mode the mail delivery agent gave them.
    processed = state / "Buzon" / ".Procesados"
    for path in [processed, *processed.rglob("*")]:
        if path.is_dir():
            assert mode_of(path) == 0o700, path


# --------------------------------------------------------------------------- TLS

@pytest.mark.parametrize("table, url", [
    ("mailbox", "imap://automonitoreo@imap.salud.example/INBOX"),
    ("smtp", "smtp://automonitoreo@smtp.salud.example:25"),
])
def test_plain_text_rejected_off_loopback(make_config, table, url):
    config_path = make_config(**{f"{table}_url": url})

    with pytest.raises(ConfigError) as raised:
        load_config(config_path)
    assert "127.0.0.1" in str(raised.value)
    assert table in str(raised.value)


def test_tls_verification_on_by_default(make_config):
    config = load_config(make_config(mailbox_url="imaps://automonitoreo@imap.salud.example/INBOX",
                                     smtp_url="smtps://automonitoreo@smtp.salud.example"))

    assert config.mailbox.tls_verify is True
    assert config.smtp.tls_verify is True


def drop_ca_file(config_path) -> None:
    text = config_path.read_text(encoding="utf-8")
    config_path.write_text(re.sub(r"(?m)^ca_file = .*\n", "", text), encoding="utf-8")


@pytest.mark.servers
def test_self_signed_imap_rejected_without_ca_file(make_config, dovecot):
    user = dovecot.new_user()
    config_path = make_config(mailbox_url=user.tls_url, mailbox_password=user.password)
    drop_ca_file(config_path)

    result = run_daemon_once(config_path)

    assert result.returncode == 1
    assert "certificado TLS" in result.stderr
    assert "ca_file" in result.stderr


@pytest.mark.servers
def test_self_signed_smtp_rejected_without_ca_file(make_config, dovecot, smtp_server):
    world = build_world(make_config, dovecot, smtp_server, tls=True)
    drop_ca_file(world.config_path)
    # Give the mailbox its certificate back, so only the SMTP connection lacks one.
    text = world.config_path.read_text(encoding="utf-8")
    world.config_path.write_text(
        text.replace("[mailbox]\n", f'[mailbox]\nca_file = "{dovecot.cert}"\n', 1), encoding="utf-8")

    result = run_daemon_once(world.config_path)

    assert result.returncode == 0, result.stderr[-3000:]
    assert "certificado TLS" in result.stderr
    assert replies_received(smtp_server, world.patients) == {
        patient.email.lower(): [] for patient in world.patients}


# --------------------------------------------------------------------------- who gets a reply

@pytest.fixture
def quiet_world(make_config, dovecot, smtp_server):
    """Three enrolled patients whose replies are not delivered."""
    return build_world(make_config, dovecot, smtp_server, deliver=False)


def replies_to(smtp_server, address: str) -> list:
    return [message for message in smtp_server.messages()
            if address.lower() in [recipient.lower() for recipient in message.envelope_to]]


def machine_headers() -> list[dict]:
    return [
        {"Auto-Submitted": "auto-replied"},
        {"Auto-Submitted": "auto-generated"},
        {"X-Autoreply": "yes"},
        {"X-Autorespond": "Automatic reply"},
        {"Precedence": "bulk"},
        {"Precedence": "junk"},
        {"Precedence": "list"},
        {"List-Id": "Familia Barragan <familia.example.com>", "List-Post": "<mailto:familia@example.com>"},
        {"Return-Path": "<>"},
    ]


@pytest.mark.servers
@pytest.mark.parametrize("headers", machine_headers(), ids=lambda headers: next(iter(headers)))
def test_machine_messages_get_no_reply(quiet_world, dovecot, smtp_server, headers):
    patient = quiet_world.patients[0]
    open_test_store(quiet_world.config_path)
    try:
        raw = reply(patient, RED, extra_headers=headers)
    finally:
        close_test_store()
    dovecot.append(quiet_world.user, raw)

    run_verbose(quiet_world.config_path)

    assert replies_to(smtp_server, patient.email) == []
    open_test_store(quiet_world.config_path)
    try:
        assert OutboxMessage.select().where(OutboxMessage.kind == "reply").count() == 0
        assert InboundMessage.get().outcome == "recorded"
    finally:
        close_test_store()


@pytest.mark.servers
def test_bounce_gets_no_reply(quiet_world, dovecot, smtp_server):
    patient = quiet_world.patients[0]
    bounce = (f"From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\n"
              f"To: automonitoreo@umf34.example.mx\r\nMessage-ID: {make_msgid()}\r\n"
              f"Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
              f"Content-Type: multipart/report; report-type=delivery-status; boundary=b1\r\n\r\n"
              f"--b1\r\nContent-Type: text/plain\r\n\r\n<{patient.email}>: user unknown\r\n"
              f"--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
              f"Final-Recipient: rfc822; {patient.email}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
              f"--b1--\r\n").encode()
    dovecot.append(quiet_world.user, bounce)

    run_verbose(quiet_world.config_path)

    assert smtp_server.messages() == []
    open_test_store(quiet_world.config_path)
    try:
        row = InboundMessage.get()
        assert row.kind == "bounce"
        assert Report.select().count() == 0
    finally:
        close_test_store()


@pytest.mark.servers
def test_stranger_with_folio_not_attached(quiet_world, dovecot, smtp_server):
    """A neighbour who forwards a patient's folio from her own address gets nothing back."""
    patient = quiet_world.patients[0]
    stranger = "vecina.curiosa@example.net"
    open_test_store(quiet_world.config_path)
    try:
        forged = reply(patient, RED, sender=stranger)
        forged_unthreaded = reply(patient, GREEN, sender=stranger, thread=False)
    finally:
        close_test_store()
    dovecot.append_many(quiet_world.user, [forged, forged_unthreaded])

    run_verbose(quiet_world.config_path)

    assert replies_to(smtp_server, stranger) == []
    assert replies_to(smtp_server, patient.email) == []
    open_test_store(quiet_world.config_path)
    try:
        assert Report.select().count() == 0
        for row in InboundMessage.select():
            assert row.patient_id is None
            assert row.kind == "unknown_sender"
            assert row.outcome == "recorded"
    finally:
        close_test_store()


@pytest.mark.servers
def test_foreign_folio_not_attached(quiet_world, dovecot, smtp_server):
    """A patient who sends another patient's folio is recorded, never reported for the other."""
    sender, owner = quiet_world.patients[0], quiet_world.patients[1]
    open_test_store(quiet_world.config_path)
    try:
        owner_folio = latest_issuance(owner).folio
        foreign = reply(sender, RED, folio=owner_folio, thread=False)
    finally:
        close_test_store()
    dovecot.append(quiet_world.user, foreign)

    run_verbose(quiet_world.config_path)

    assert replies_to(smtp_server, owner.email) == []
    open_test_store(quiet_world.config_path)
    try:
        assert Report.select().where(Report.patient == owner).count() == 0
        row = InboundMessage.get()
        assert row.patient_id != owner.id
        assert row.kind == "folio_mismatch"
    finally:
        close_test_store()


@pytest.mark.servers
def test_threading_headers_attach_without_folio(quiet_world, dovecot, smtp_server):
    """A reply with no folio in it is attached through In-Reply-To to the issuance sent to its sender."""
    patient = quiet_world.patients[0]
    open_test_store(quiet_world.config_path)
    try:
        raw = reply(patient, GREEN)
        issuance = latest_issuance(patient)
    finally:
        close_test_store()
    folio_text = format_folio(issuance.folio).encode()
    raw = raw.replace(folio_text, b"").replace(b"[Folio ]", b"").replace(b"Folio: ", b"")
    dovecot.append(quiet_world.user, raw)

    run_verbose(quiet_world.config_path)

    open_test_store(quiet_world.config_path)
    try:
        report = Report.get(Report.patient == patient)
        assert report.matched_by == "in_reply_to"
    finally:
        close_test_store()
    assert len(replies_to(smtp_server, patient.email)) == 1


@pytest.mark.servers
def test_replies_per_sender_limited(make_config, dovecot, smtp_server):
    """A loop with a patient's mail client is cut at max_replies_per_sender_per_hour."""
    world = build_world(make_config, dovecot, smtp_server, deliver=False,
                        smtp={"max_replies_per_sender_per_hour": 2})
    patient = world.patients[0]
    open_test_store(world.config_path)
    try:
        looping = [reply(patient, GREEN) for _ in range(5)]
    finally:
        close_test_store()
    dovecot.append_many(world.user, looping)

    result = run_verbose(world.config_path)

    assert len(replies_to(smtp_server, patient.email)) == 2
    assert "skipped" in result.stderr
    open_test_store(world.config_path)
    try:
        assert Report.select().where(Report.patient == patient).count() == 5
        skipped = OutboxMessage.select().where((OutboxMessage.kind == "reply")
                                              & (OutboxMessage.status == "skipped"))
        assert skipped.count() == 3
    finally:
        close_test_store()


def hostile_messages(patient_address: str) -> dict[str, bytes]:
    """Messages from a patient's address that check_structure rejects, by what is wrong with them."""
    head = (f"From: {patient_address}\r\nTo: automonitoreo@umf34.example.mx\r\n"
            f"Subject: Re: Cuestionario\r\nMIME-Version: 1.0\r\n")
    many_parts = "".join(f"--b\r\nContent-Type: text/plain\r\n\r\n{number}\r\n" for number in range(250))
    deep = "Content-Type: text/plain\r\n\r\n1 no\r\n"
    for level in range(15):
        deep = (f"Content-Type: multipart/mixed; boundary=n{level}\r\n\r\n"
                f"--n{level}\r\n{deep}\r\n--n{level}--\r\n")
    return {
        "partes": (head + f"Message-ID: <partes@example.com>\r\n"
                   f"Content-Type: multipart/mixed; boundary=b\r\n\r\n{many_parts}--b--\r\n").encode(),
        "anidado": (head + f"Message-ID: <anidado@example.com>\r\n{deep}").encode(),
        "encabezado": (head + "Message-ID: <encabezado@example.com>\r\nReferences: "
                       + " ".join(f"<r{number}@example.com>" for number in range(3000))
                       + "\r\n\r\n1 no\r\n").encode(),
    }


@pytest.mark.servers
def test_hostile_messages_recorded_unanswered(quiet_world, dovecot, smtp_server):
    patient = quiet_world.patients[0]
    hostile = hostile_messages(patient.email)
    dovecot.append_many(quiet_world.user, list(hostile.values()))

    run_verbose(quiet_world.config_path)

    assert replies_to(smtp_server, patient.email) == []
    assert dovecot.count(quiet_world.user, "Procesados") == len(hostile)
    open_test_store(quiet_world.config_path)
    try:
        rows = {row.message_id: row for row in InboundMessage.select()}
        assert Report.select().count() == 0
    finally:
        close_test_store()
    for name in hostile:
        row = rows[f"<{name}@example.com>"]
        assert row.kind == "oversize", name
        assert row.outcome == "recorded", name
        assert row.last_error, name


@pytest.mark.servers
def test_starttls_not_offered_fails_closed(make_config, dovecot, smtp_server):
    """smtp+starttls:// to a server that offers no STARTTLS sends nothing in clear text."""
    world = build_world(make_config, dovecot, smtp_server)
    text = world.config_path.read_text(encoding="utf-8")
    plain_url = smtp_server.url("smtp")
    world.config_path.write_text(
        text.replace(f'url = "{plain_url}"', f'url = "{plain_url.replace("smtp://", "smtp+starttls://")}"\n'
                     f'ca_file = "{smtp_server.cert}"'), encoding="utf-8")

    assert "smtp+starttls://" in world.config_path.read_text(encoding="utf-8")

    result = run_daemon_once(world.config_path)

    assert result.returncode == 0, result.stderr[-3000:]
    assert "STARTTLS" in result.stderr, result.stderr[-3000:]
    assert smtp_server.messages() == []
