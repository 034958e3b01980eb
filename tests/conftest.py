"""Shared fixtures: the real mail servers and a mailtriage config pointing at them.

``dovecot`` and ``smtp_server`` start once per session, on first use. Before
every test, a server already started is started again if a test stopped it,
its SMTP rejections are dropped and its received messages are cleared, so
each test reads only its own mail. Give each test its own IMAP user with
``dovecot.new_user()``.
"""

import socket

import pytest
import tomli_w

from servers import LOOPBACK, DovecotServer, ServerError, SmtpServer, make_certificate
# The PostgreSQL fixtures, for the tests of several daemons sharing one database.
from pgserver import postgres, postgres_url  # noqa: F401

# Servers started in this session, checked before each test.
_started_servers: list = []

DEFAULT_UNIT = {
    "code": "UMF-34",
    "name": "Unidad de Medicina Familiar No. 34",
    "emergency_service": "Urgencias del Hospital General de Zona No. 1",
    "address": "Av. Reforma 100, La Paz, B.C.S.",
    "emergency_phone": "612 000 0000",
    "timezone": "America/Mazatlan",
}

TLS_SCHEMES = ("imaps://", "smtps://", "smtp+starttls://")


@pytest.fixture(scope="session")
def test_certificate(tmp_path_factory):
    """The self-signed certificate (for localhost and 127.0.0.1) both servers present."""
    cert, _key = make_certificate(tmp_path_factory.mktemp("tls"))
    return cert


@pytest.fixture(scope="session")
def dovecot(tmp_path_factory, test_certificate):
    """A Dovecot on loopback for the whole session (see tests/servers.py)."""
    try:
        server = DovecotServer(cert=test_certificate)
    except ServerError as exc:
        pytest.fail(f"cannot start the test Dovecot: {exc}", pytrace=False)

    try:
        server.start()
    except ServerError as exc:
        server.remove()
        pytest.fail(f"cannot start the test Dovecot: {exc}", pytrace=False)

    _started_servers.append(server)
    yield server
    _started_servers.remove(server)
    server.remove()


@pytest.fixture(scope="session")
def smtp_server(tmp_path_factory, test_certificate):
    """An aiosmtpd server in its own process for the whole session (see tests/servers.py)."""
    root = tmp_path_factory.mktemp("smtp")
    server = SmtpServer(root, cert=test_certificate)
    try:
        server.start()
    except ServerError as exc:
        pytest.fail(f"cannot start the test SMTP server: {exc}", pytrace=False)

    _started_servers.append(server)
    yield server
    _started_servers.remove(server)
    server.stop()


@pytest.fixture(autouse=True)
def _fresh_servers():
    """Give each test running servers, no SMTP rejections and an empty SMTP spool."""
    for server in _started_servers:
        if not server.running:
            server.start()
        if isinstance(server, SmtpServer):
            server.accept_all()
            server.clear()
    yield


@pytest.fixture
def silent_server():
    """Return a loopback port that accepts connections and never sends a byte, for timeout tests."""
    with socket.socket() as listener:
        listener.bind((LOOPBACK, 0))
        listener.listen()
        yield listener.getsockname()[1]


@pytest.fixture
def make_config(tmp_path, test_certificate):
    """Return a function writing a mailtriage TOML config into a test's temp dir.

    ``mailbox_url`` and ``smtp_url`` default to Maildirs in the temp dir; the
    database is SQLite in the temp dir, with one unit, ``DEFAULT_UNIT``.
    ``mailbox_password`` and ``smtp_password`` go into owner-only files named by
    ``password_file``. A TLS URL gets the test certificate as ``ca_file``.
    Any other keyword names a config table, such as ``schedule`` or
    ``general``, and its dict is merged over the defaults. ``units`` replaces
    the unit list.
    """
    def write(directory=None, *, mailbox_url=None, smtp_url=None, mailbox_password=None,
              smtp_password=None, filename="mailtriage.toml", **overrides):
        root = directory or tmp_path
        document = {
            "general": {"language": "es", "log_level": "INFO"},
            "database": {"url": f"sqlite:///{root / 'mailtriage.db'}"},
            "mailbox": _endpoint_table(root, "mailbox", mailbox_url or f"maildir://{root / 'Maildir'}",
                                       mailbox_password, test_certificate),
            "smtp": _endpoint_table(root, "smtp", smtp_url or f"maildir://{root / 'Enviados'}",
                                    smtp_password, test_certificate),
            "units": [dict(DEFAULT_UNIT)],
        }
        document["smtp"]["from"] = "Automonitoreo COVID-19 <automonitoreo@umf34.example.mx>"

        for table, values in overrides.items():
            if table == "units":
                document["units"] = list(values)
            else:
                document.setdefault(table, {}).update(values)

        path = root / filename
        path.write_text(tomli_w.dumps(document), encoding="utf-8")
        path.chmod(0o600)
        return path

    return write


def _endpoint_table(root, name, url, password, cert) -> dict:
    table = {"url": url}
    if password is not None:
        secret = root / f"{name}.password"
        secret.write_text(password, encoding="utf-8")
        secret.chmod(0o600)
        table["password_file"] = str(secret)
    if url.startswith(TLS_SCHEMES):
        table["ca_file"] = str(cert)
    return table


@pytest.fixture
def configure(make_config, tmp_path):
    """Return a function that writes a config, opens its database and returns the Config."""
    from mailtriage.config import load_config
    from mailtriage.models import database_proxy, open_database

    def build(**options):
        config = load_config(make_config(tmp_path, **options))
        open_database(config.database_url)
        return config

    yield build
    if not database_proxy.is_closed():
        database_proxy.close()
