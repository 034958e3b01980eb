"""The test servers themselves: login, append, TLS, capture, rejections, restarts."""

import smtplib
import ssl
import tomllib
from email.message import EmailMessage

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from mailtriage.config import load_config
from servers import LOOPBACK

pytestmark = pytest.mark.servers


def sample_message(to="paciente@example.mx", subject="Prueba") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "automonitoreo@umf34.example.mx"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = "<prueba-1@umf34.example.mx>"
    message.set_content("Hola, ¿cómo se siente hoy?")
    return message


def test_dovecot_new_user_has_empty_inbox(dovecot):
    user = dovecot.new_user()

    assert dovecot.messages(user) == []
    assert dovecot.folders(user) == ["INBOX"]


def test_dovecot_users_are_distinct(dovecot):
    first, second = dovecot.new_user(), dovecot.new_user()
    dovecot.append(first, b"Subject: uno\r\n\r\nuno\r\n")

    assert first.name != second.name
    assert dovecot.count(first) == 1
    assert dovecot.count(second) == 0


def test_dovecot_append_and_list(dovecot):
    user = dovecot.new_user()
    raw = sample_message().as_bytes()

    dovecot.append(user, raw)
    dovecot.append(user, raw, folder="Procesados")
    dovecot.append_many(user, [raw, raw], folder="Procesados")

    assert dovecot.messages(user) == [raw.replace(b"\n", b"\r\n")]
    assert dovecot.count(user, "Procesados") == 3
    assert "Procesados" in dovecot.folders(user)


def test_dovecot_rejects_wrong_password(dovecot):
    user = dovecot.new_user()
    imap = IMAPClient(LOOPBACK, port=dovecot.imap_port, ssl=False, timeout=5)

    with pytest.raises(LoginError):
        imap.login(user.name, "not-the-password")


def test_dovecot_tls_verifies_test_certificate(dovecot):
    user = dovecot.new_user()
    dovecot.append(user, b"Subject: tls\r\n\r\ncuerpo\r\n")

    with dovecot.client(user, tls=True) as imap:
        imap.select_folder("INBOX")
        assert imap.search("ALL") == [1]


def test_dovecot_tls_rejects_unknown_certificate(dovecot):
    context = ssl.create_default_context()  # the system CAs only

    with pytest.raises(ssl.SSLCertVerificationError):
        IMAPClient(LOOPBACK, port=dovecot.imaps_port, ssl=True, ssl_context=context, timeout=5)


def test_dovecot_offers_idle_move_uidplus(dovecot):
    with dovecot.client(dovecot.new_user()) as imap:
        capabilities = imap.capabilities()

    for name in (b"IDLE", b"MOVE", b"UIDPLUS"):
        assert name in capabilities


def test_dovecot_restart_keeps_mail(dovecot):
    user = dovecot.new_user()
    dovecot.append(user, b"Subject: antes\r\n\r\nantes\r\n")

    dovecot.stop()
    with pytest.raises(OSError):
        IMAPClient(LOOPBACK, port=dovecot.imap_port, ssl=False, timeout=2)
    dovecot.start()

    assert dovecot.count(user) == 1


def test_smtp_captures_envelope_and_bytes(smtp_server):
    message = sample_message()

    with smtplib.SMTP(LOOPBACK, smtp_server.port, timeout=5) as client:
        client.send_message(message, from_addr="rebotes@umf34.example.mx",
                            to_addrs=["paciente@example.mx", "copia@example.mx"])

    [received] = smtp_server.messages()
    assert received["Subject"] == "Prueba"
    assert received.envelope_from == "rebotes@umf34.example.mx"
    assert received.envelope_to == ["paciente@example.mx", "copia@example.mx"]
    assert received.get_content().strip() == "Hola, ¿cómo se siente hoy?"
    assert received.tls is False
    assert received.port == smtp_server.port
    assert received.raw.startswith(b"From: automonitoreo@umf34.example.mx\r\n")


def test_smtp_clear_empties_spool(smtp_server):
    with smtplib.SMTP(LOOPBACK, smtp_server.port, timeout=5) as client:
        client.send_message(sample_message())

    smtp_server.clear()

    assert smtp_server.messages() == []


def test_smtp_starttls_with_login(smtp_server, test_certificate):
    context = ssl.create_default_context(cafile=str(test_certificate))

    with smtplib.SMTP(LOOPBACK, smtp_server.starttls_port, timeout=5) as client:
        client.starttls(context=context)
        client.login("automonitoreo", smtp_server.password)
        client.send_message(sample_message())

    [received] = smtp_server.messages()
    assert received.tls is True
    assert received.auth_user == "automonitoreo"


def test_smtps_verifies_test_certificate(smtp_server, test_certificate):
    context = ssl.create_default_context(cafile=str(test_certificate))

    with smtplib.SMTP_SSL(LOOPBACK, smtp_server.smtps_port, context=context, timeout=5) as client:
        client.send_message(sample_message())

    assert smtp_server.messages()[0].tls is True


def test_smtp_login_wrong_password_fails(smtp_server):
    with smtplib.SMTP(LOOPBACK, smtp_server.port, timeout=5) as client:
        with pytest.raises(smtplib.SMTPAuthenticationError):
            client.login("automonitoreo", "wrong")


@pytest.mark.parametrize("reply, code", [("451 4.3.0 Try again later", 451),
                                         ("550 5.1.1 User unknown", 550)])
def test_smtp_rejects_chosen_recipient(smtp_server, reply, code):
    smtp_server.reject("Rechazado@example.mx", reply)

    with smtplib.SMTP(LOOPBACK, smtp_server.port, timeout=5) as client:
        refused = client.send_message(sample_message(), to_addrs=["rechazado@example.mx", "ok@example.mx"])

    assert refused["rechazado@example.mx"][0] == code
    [received] = smtp_server.messages()
    assert received.envelope_to == ["ok@example.mx"]


def test_smtp_rejections_reset_between_tests(smtp_server):
    with smtplib.SMTP(LOOPBACK, smtp_server.port, timeout=5) as client:
        refused = client.send_message(sample_message(to="rechazado@example.mx"))

    assert refused == {}


def test_smtp_restart_on_same_port(smtp_server):
    port = smtp_server.port
    smtp_server.stop()

    with pytest.raises(OSError):
        smtplib.SMTP(LOOPBACK, port, timeout=2)
    smtp_server.start()

    with smtplib.SMTP(LOOPBACK, port, timeout=5) as client:
        client.send_message(sample_message())
    assert len(smtp_server.messages()) == 1


def test_make_config_loads(make_config, tmp_path, dovecot, smtp_server):
    user = dovecot.new_user()
    path = make_config(tmp_path, mailbox_url=user.tls_url, mailbox_password=user.password,
                       smtp_url=smtp_server.url("smtp+starttls", "automonitoreo"),
                       smtp_password=smtp_server.password, schedule={"poll_seconds": 1})

    config = load_config(path)

    assert config.mailbox.host == LOOPBACK
    assert config.mailbox.port == dovecot.imaps_port
    assert config.mailbox.username == user.name
    assert config.mailbox.password == user.password
    assert config.mailbox.ca_file.endswith("cert.pem")
    assert config.smtp.password == smtp_server.password
    assert config.poll_seconds == 1
    assert config.database_url == f"sqlite:///{tmp_path / 'mailtriage.db'}"
    assert [unit.code for unit in config.units] == ["UMF-34"]
    assert (path.stat().st_mode & 0o777) == 0o600


def test_make_config_defaults_to_maildirs(make_config, tmp_path):
    path = make_config()

    document = tomllib.loads(path.read_text())
    config = load_config(path)

    assert config.mailbox.scheme == "maildir"
    assert config.smtp.scheme == "maildir"
    assert "password_file" not in document["mailbox"]
