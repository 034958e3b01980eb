"""Throwaway mail servers for tests: a real Dovecot (IMAP) and an aiosmtpd sink.

Both listen on 127.0.0.1 only, on free ports, with their files in a temp
dir, and both can be stopped and started again on the same ports, so tests
can simulate an outage. Dovecot's config is written here and never reads
/etc/dovecot. The SMTP server runs in its own process (this file is its
entry point): aiosmtpd in the test's process would share the GIL with the
code under test. It writes every message it accepts to a directory, and it
replies to chosen recipients with a temporary (4xx) or permanent (5xx) code.
"""

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from pathlib import Path

from imapclient import IMAPClient

LOOPBACK = "127.0.0.1"

# Dovecot 2.3.19 sends "* OK" about 0.1 s after spawn, and the SMTP process
# starts in about 0.5 s. The limit only bounds how long a broken start takes.
START_TIMEOUT_SECONDS = 15
# Dovecot 2.3.19 takes about 1.1 s to stop after SIGTERM.
STOP_TIMEOUT_SECONDS = 10
# Dovecot's default of 10 connections per user and IP is too few for tests
# that open several sessions, or for the daemon under load.
MAX_USER_CONNECTIONS = 1000

# aiosmtpd accepts any user name with this password.
SMTP_PASSWORD = "smtp-test-password"
# The file, in the SMTP spool dir, naming the recipients the server rejects.
REJECTIONS_FILE = "rejections.json"


class ServerError(RuntimeError):
    """A test server failed to start or stop."""


def free_port() -> int:
    """Return a TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def make_certificate(directory: Path, copy_from: Path | None = None) -> tuple[Path, Path]:
    """Write a self-signed EC P-256 certificate for localhost and 127.0.0.1, and its key.

    With ``copy_from`` (a cert.pem beside its key.pem), copy that pair instead,
    so several servers present one certificate and a client needs one CA file.
    """
    cert, key = directory / "cert.pem", directory / "key.pem"
    if copy_from is not None:
        shutil.copyfile(copy_from, cert)
        shutil.copyfile(copy_from.with_name("key.pem"), key)
        key.chmod(0o600)
        return cert, key
    if cert.exists() and key.exists():
        return cert, key

    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "30", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True)
    # Dovecot reads the key as root and aiosmtpd as the test's user, so no
    # one else needs to read it.
    key.chmod(0o600)
    return cert, key


def client_tls_context(cert: Path) -> ssl.SSLContext:
    """Return a client TLS context that verifies servers against the test certificate."""
    return ssl.create_default_context(cafile=str(cert))


def wait_for_greeting(port: int, greeting: bytes, tls_cert: Path | None = None) -> None:
    """Wait until the server on ``port`` sends a line starting with ``greeting``."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    last_error = None
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((LOOPBACK, port), timeout=1) as raw:
                stream = raw
                if tls_cert is not None:
                    stream = client_tls_context(tls_cert).wrap_socket(raw, server_hostname="localhost")
                if stream.recv(512).startswith(greeting):
                    return
        except OSError as exc:
            last_error = exc
        time.sleep(0.05)
    raise ServerError(f"no {greeting!r} greeting on {LOOPBACK}:{port} ({last_error})")


def wait_until_closed(port: int) -> None:
    """Wait until nothing accepts connections on ``port`` any more."""
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        try:
            socket.create_connection((LOOPBACK, port), timeout=0.2).close()
        except OSError:
            return
        time.sleep(0.05)
    raise ServerError(f"{LOOPBACK}:{port} still accepts connections after stop")


def stop_process(process: subprocess.Popen | None) -> None:
    """Stop a server started with start_new_session=True, and every process of its session.

    SIGTERM goes to the server, then SIGKILL to what is left of its process
    group: Dovecot's per-connection imap processes outlive the master for a
    while, and a client connected to one would not notice the outage.
    """
    if process is None:
        return
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


# --------------------------------------------------------------------------- Dovecot

@dataclass(frozen=True)
class MailUser:
    """An IMAP account on the test Dovecot, with URLs a mailtriage config accepts."""

    name: str
    password: str
    url: str  # imap:// on the plain port (loopback only)
    tls_url: str  # imaps:// on the TLS port, verified against the test certificate


DOVECOT_CONF = """\
instance_name = {instance}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = {host}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:~/Maildir
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
protocol imap {{
  mail_max_userip_connections = {max_connections}
}}
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = {host}
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = {host}
    port = {imaps_port}
    ssl = yes
  }}
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""


class DovecotServer:
    """A Dovecot instance of its own, where any user name logs in with one password."""

    def __init__(self, root: Path | None = None, cert: Path | None = None, extra_config: str = ""):
        """Prepare an instance; ``extra_config`` lines are appended to its dovecot.conf.

        For example ``imap_capability = IMAP4rev1`` makes the server advertise
        no IDLE, MOVE or UIDPLUS, to test a client's fallbacks.
        """
        if shutil.which("dovecot") is None:
            raise ServerError("dovecot is not installed: run `make test-deps`")
        # Every directory above the mail dir must be traversable by nobody,
        # which pytest's 0700 base temp dir is not: by default use /tmp.
        self.owns_root = root is None
        self.root = Path(tempfile.mkdtemp(prefix="mailtriage-dovecot-")) if root is None else root
        self.password = secrets.token_hex(8)
        self.imap_port = free_port()
        self.imaps_port = free_port()
        self.cert, self.key = make_certificate(self.root, copy_from=cert)
        self.conf = self.root / "dovecot.conf"
        self.process: subprocess.Popen | None = None
        self._user_numbers = itertools.count(1)
        self._prepare_dirs(extra_config)

    def _prepare_dirs(self, extra_config: str) -> None:
        # Dovecot's unprivileged processes must traverse the root, and the
        # mail processes run as nobody and create each user's Maildir.
        self.root.chmod(0o755)
        mail = self.root / "mail"
        mail.mkdir(exist_ok=True)
        nobody = pwd.getpwnam("nobody")
        os.chown(mail, nobody.pw_uid, nobody.pw_gid)

        self.conf.write_text(DOVECOT_CONF.format(
            instance=f"mailtriage-test-{os.getpid()}", root=self.root, host=LOOPBACK,
            cert=self.cert, key=self.key, password=self.password,
            max_connections=MAX_USER_CONNECTIONS,
            imap_port=self.imap_port, imaps_port=self.imaps_port) + extra_config + "\n")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start Dovecot in the foreground, and return once both ports greet."""
        if self.running:
            return
        self.process = subprocess.Popen(
            ["dovecot", "-F", "-c", str(self.conf)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        try:
            wait_for_greeting(self.imap_port, b"* OK")
            wait_for_greeting(self.imaps_port, b"* OK", tls_cert=self.cert)
        except ServerError as exc:
            stop_process(self.process)
            raise ServerError(f"{exc}; see {self.root / 'dovecot.log'}: {self._log_tail()}") from exc

    def stop(self) -> None:
        """Stop Dovecot with SIGTERM. Mailboxes stay on disk for a later start()."""
        stop_process(self.process)
        self.process = None
        wait_until_closed(self.imap_port)

    def restart(self) -> None:
        self.stop()
        self.start()

    def remove(self) -> None:
        """Stop Dovecot and delete its temp dir, when this object made it."""
        self.stop()
        if self.owns_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def _log_tail(self) -> str:
        log = self.root / "dovecot.log"
        lines = log.read_text(errors="replace").splitlines() if log.exists() else []
        stderr = self.process.stderr.read().decode(errors="replace") if self.process else ""
        return " | ".join(lines[-5:] + stderr.splitlines()[-5:])

    def new_user(self) -> MailUser:
        """Return a user name never used before: it logs in to an empty mailbox."""
        name = f"u{next(self._user_numbers):04d}x{secrets.token_hex(3)}"
        return MailUser(
            name=name, password=self.password,
            url=f"imap://{name}@{LOOPBACK}:{self.imap_port}/INBOX",
            tls_url=f"imaps://{name}@{LOOPBACK}:{self.imaps_port}/INBOX")

    @contextlib.contextmanager
    def client(self, user: MailUser | str, tls: bool = False):
        """Yield an IMAPClient logged in as ``user``, on the plain or the TLS port."""
        name = user.name if isinstance(user, MailUser) else user
        if tls:
            imap = IMAPClient(LOOPBACK, port=self.imaps_port, ssl=True,
                              ssl_context=client_tls_context(self.cert), timeout=10)
        else:
            imap = IMAPClient(LOOPBACK, port=self.imap_port, ssl=False, timeout=10)
        try:
            imap.login(name, self.password)
            yield imap
        finally:
            with contextlib.suppress(Exception):
                imap.logout()

    def append(self, user: MailUser | str, raw: bytes, folder: str = "INBOX",
               flags: tuple = (), msg_time=None) -> None:
        """Store one message in ``folder`` (created when missing), as a mail client would."""
        with self.client(user) as imap:
            if folder != "INBOX" and not imap.folder_exists(folder):
                imap.create_folder(folder)
            imap.append(folder, raw, flags=flags, msg_time=msg_time)

    def append_many(self, user: MailUser | str, messages: list[bytes], folder: str = "INBOX") -> None:
        """Store many messages with one MULTIAPPEND, 10 to 25 times faster than one by one.

        A server configured without MULTIAPPEND gets one APPEND per message.
        """
        with self.client(user) as imap:
            if folder != "INBOX" and not imap.folder_exists(folder):
                imap.create_folder(folder)
            if imap.has_capability("MULTIAPPEND"):
                imap.multiappend(folder, messages)
                return
            for raw in messages:
                imap.append(folder, raw)

    def folders(self, user: MailUser | str) -> list[str]:
        with self.client(user) as imap:
            return sorted(name for _flags, _delimiter, name in imap.list_folders())

    def messages(self, user: MailUser | str, folder: str = "INBOX") -> list[bytes]:
        """Return the raw bytes of every message in ``folder`` by UID order, or [] without the folder."""
        with self.client(user) as imap:
            if not imap.folder_exists(folder):
                return []
            imap.select_folder(folder, readonly=True)
            uids = imap.search("ALL")
            fetched = imap.fetch(uids, ["BODY.PEEK[]"]) if uids else {}
            return [fetched[uid][b"BODY[]"] for uid in sorted(fetched)]

    def count(self, user: MailUser | str, folder: str = "INBOX") -> int:
        with self.client(user) as imap:
            if not imap.folder_exists(folder):
                return 0
            return imap.folder_status(folder, [b"MESSAGES"])[b"MESSAGES"]


# --------------------------------------------------------------------------- SMTP


class ReceivedMessage(EmailMessage):
    """A message as the SMTP server received it, with its envelope.

    The parser fills the headers and body; ``SmtpServer.messages`` sets the
    envelope attributes from the record the server wrote beside the bytes.
    """

    raw: bytes = b""
    envelope_from: str = ""
    envelope_to: list[str] = []
    tls: bool = False
    auth_user: str | None = None
    port: int = 0


class SmtpServer:
    """An aiosmtpd server in a child process, on three loopback ports.

    ``port`` speaks plain SMTP, ``starttls_port`` offers STARTTLS, and
    ``smtps_port`` is TLS from the first byte. All three accept AUTH with any
    user name and ``SMTP_PASSWORD``, and write to the same spool directory.
    """

    def __init__(self, root: Path, cert: Path | None = None):
        self.root = root
        self.spool = root / "spool"
        self.spool.mkdir(parents=True, exist_ok=True)
        self.cert, self.key = make_certificate(root, copy_from=cert)
        self.password = SMTP_PASSWORD
        self.port = free_port()
        self.starttls_port = free_port()
        self.smtps_port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        if self.running:
            return
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "smtp",
             "--spool", str(self.spool), "--cert", str(self.cert), "--key", str(self.key),
             "--port", str(self.port), "--starttls-port", str(self.starttls_port),
             "--smtps-port", str(self.smtps_port)],
            stdout=subprocess.DEVNULL, stderr=(self.root / "smtp.log").open("ab"),
            start_new_session=True)
        try:
            wait_for_greeting(self.port, b"220")
            wait_for_greeting(self.smtps_port, b"220", tls_cert=self.cert)
        except ServerError as exc:
            stop_process(self.process)
            log = (self.root / "smtp.log").read_text(errors="replace")[-2000:]
            raise ServerError(f"{exc}; SMTP server log: {log}") from exc

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None
        wait_until_closed(self.port)

    def restart(self) -> None:
        self.stop()
        self.start()

    def url(self, mode: str = "smtp", username: str = "") -> str:
        """Return a mailtriage SMTP URL: mode is smtp, smtp+starttls or smtps."""
        port = {"smtp": self.port, "smtp+starttls": self.starttls_port, "smtps": self.smtps_port}[mode]
        user = f"{username}@" if username else ""
        return f"{mode}://{user}{LOOPBACK}:{port}"

    def reject(self, recipient: str, reply: str) -> None:
        """Reply to RCPT TO for ``recipient`` with ``reply``, e.g. "451 4.3.0 Try later"."""
        code = reply.split(" ", 1)[0]
        if not (len(code) == 3 and code[0] in "45" and code.isdigit()):
            raise ValueError(f"rejection reply must start with a 4xx or 5xx code: {reply!r}")
        if not reply.isascii():
            # aiosmtpd sends replies as ASCII (RFC 5321) and answers 500 otherwise.
            raise ValueError(f"rejection reply must be ASCII: {reply!r}")
        rules = self._rejections()
        rules[recipient.lower()] = reply
        self._write_json(self.spool / REJECTIONS_FILE, rules)

    def accept_all(self) -> None:
        """Drop every rejection set by reject()."""
        (self.spool / REJECTIONS_FILE).unlink(missing_ok=True)

    def _rejections(self) -> dict:
        path = self.spool / REJECTIONS_FILE
        return json.loads(path.read_text()) if path.exists() else {}

    @staticmethod
    def _write_json(path: Path, value) -> None:
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(value))
        temporary.replace(path)

    def messages(self) -> list[ReceivedMessage]:
        """Return every message received since the last clear(), in arrival order."""
        received = []
        for raw_path in sorted(self.spool.glob("*.eml")):
            envelope = json.loads(raw_path.with_suffix(".json").read_text())
            raw = raw_path.read_bytes()
            message = BytesParser(_class=ReceivedMessage, policy=default_policy).parsebytes(raw)
            message.raw = raw
            message.envelope_from = envelope["mail_from"]
            message.envelope_to = envelope["rcpt_tos"]
            message.tls = envelope["tls"]
            message.auth_user = envelope["auth_user"]
            message.port = envelope["port"]
            received.append(message)
        return received

    def wait_for_messages(self, count: int, timeout: float = 10) -> list[ReceivedMessage]:
        """Wait until at least ``count`` messages arrived, and return them all."""
        deadline = time.monotonic() + timeout
        while True:
            received = self.messages()
            if len(received) >= count or time.monotonic() > deadline:
                return received
            time.sleep(0.02)

    def clear(self) -> None:
        for path in self.spool.iterdir():
            if path.suffix in (".eml", ".json") and path.name != REJECTIONS_FILE:
                path.unlink(missing_ok=True)


# --------------------------------------------------------------------------- the SMTP process


class SpoolHandler:
    """aiosmtpd handler: rejects listed recipients and writes accepted messages to the spool."""

    def __init__(self, spool: Path):
        self.spool = spool
        self.sequence = itertools.count(1)

    def _rejection_for(self, address: str) -> str | None:
        # Read on every RCPT so a test's reject() applies to the very next message.
        path = self.spool / REJECTIONS_FILE
        try:
            return json.loads(path.read_text()).get(address.lower())
        except FileNotFoundError:
            return None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        rejection = self._rejection_for(address)
        if rejection:
            return rejection
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        stem = f"{time.time_ns():020d}-{os.getpid()}-{next(self.sequence):06d}"
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            # STARTTLS sets session.ssl, but implicit TLS shows only on the transport.
            "tls": session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None,
            "auth_user": _auth_user(session),
            "port": server.transport.get_extra_info("sockname")[1],
        }
        # The record is renamed into place before the .eml, which readers list.
        SmtpServer._write_json(self.spool / f"{stem}.json", record)
        temporary = self.spool / f"{stem}.part"
        temporary.write_bytes(envelope.original_content)
        temporary.replace(self.spool / f"{stem}.eml")
        return "250 2.0.0 Message accepted"


def _auth_user(session) -> str | None:
    login = session.auth_data
    if login is None:
        return None
    name = getattr(login, "login", login)
    return name.decode() if isinstance(name, bytes) else str(name)


def _check_password(server, session, envelope, mechanism, auth_data):
    from aiosmtpd.smtp import AuthResult, LoginPassword

    if isinstance(auth_data, LoginPassword) and auth_data.password == SMTP_PASSWORD.encode():
        return AuthResult(success=True, auth_data=auth_data)
    return AuthResult(success=False, handled=False)


async def _serve_smtp(args) -> None:
    from aiosmtpd.smtp import SMTP

    handler = SpoolHandler(Path(args.spool))
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(args.cert, args.key)

    def factory(**options):
        # hostname= avoids a look-up of the machine's name. AUTH is allowed
        # without TLS too, because plain smtp:// is loopback only.
        return lambda: SMTP(handler, hostname="localhost", authenticator=_check_password,
                            auth_require_tls=False, **options)

    loop = asyncio.get_running_loop()
    servers = [
        await loop.create_server(factory(), LOOPBACK, args.port),
        await loop.create_server(factory(tls_context=tls), LOOPBACK, args.starttls_port),
        await loop.create_server(factory(), LOOPBACK, args.smtps_port, ssl=tls),
    ]
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    for server in servers:
        server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="Test SMTP server writing messages to a spool dir.")
    parser.add_argument("command", choices=["smtp"])
    parser.add_argument("--spool", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--starttls-port", type=int, required=True)
    parser.add_argument("--smtps-port", type=int, required=True)
    asyncio.run(_serve_smtp(parser.parse_args()))


if __name__ == "__main__":
    main()
