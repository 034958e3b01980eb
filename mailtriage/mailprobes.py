"""Probes of the mail servers for ``mailtriage check``: IMAP login and folders, SMTP with TLS.

They connect as the daemon would, with the same TLS settings, and turn each
failure into one line that names the cause and never a password.
"""

import asyncio
import errno
import os
import socket
import ssl
from pathlib import Path

from mailtriage.config import Config, Endpoint
from mailtriage.errors import MailtriageError
from mailtriage.i18n import tr

# A server silent for this long is reported as unreachable. A healthy server
# on the institute's network responds within a second or two.
PROBE_TIMEOUT_SECONDS = 10


def describe_error(exc: BaseException) -> str:
    """Say in one line why a connection or operation failed, looking through chained causes."""
    for cause in _causes(exc):
        reason = known_reason(cause)
        if reason:
            return reason
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _causes(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def known_reason(exc: BaseException) -> str:
    """Return the reason of a usual connection failure in the active language, or "" for others."""
    import aiosmtplib
    from imapclient.exceptions import LoginError

    if isinstance(exc, ConnectionRefusedError) or getattr(exc, "errno", None) == errno.ECONNREFUSED:
        return tr("conexión rechazada: ¿el servidor está en marcha y escucha en ese puerto?",
                  "connection refused: is the server running and listening on that port?")
    if isinstance(exc, (socket.timeout, TimeoutError, aiosmtplib.SMTPTimeoutError)):
        return tr("sin respuesta en {s} s", "no answer within {s} s", s=PROBE_TIMEOUT_SECONDS)
    if isinstance(exc, socket.gaierror):
        return tr("no se encontró el servidor en el DNS ({why})",
                  "the server name was not found in DNS ({why})", why=exc.strerror)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return tr("certificado TLS no válido ({why}); revise ca_file o tls_verify",
                  "invalid TLS certificate ({why}); check ca_file or tls_verify",
                  why=exc.verify_message)
    if isinstance(exc, ssl.SSLError):
        return tr("falló el TLS ({why})", "TLS failed ({why})", why=exc.reason or exc)
    if isinstance(exc, (LoginError, aiosmtplib.SMTPAuthenticationError)):
        return tr("el servidor rechazó el usuario o la contraseña: revise password_file o password_env",
                  "the server rejected the user name or password: check password_file or password_env")
    if isinstance(exc, MailtriageError):
        return str(exc)
    return ""


def tls_context(endpoint: Endpoint) -> ssl.SSLContext:
    """Build the TLS context of an endpoint: its ca_file, and no verification only if tls_verify is false."""
    context = ssl.create_default_context(cafile=endpoint.ca_file or None)
    if not endpoint.tls_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def check_mailbox(config: Config) -> tuple[bool, str]:
    endpoint = config.mailbox
    if endpoint.scheme == "maildir":
        return _check_maildir_dir(Path(endpoint.path))
    try:
        return True, f"{endpoint.display}: {_probe_imap(config, endpoint)}"
    except Exception as exc:  # noqa: BLE001 -- the probe's edge
        return False, f"{endpoint.display}: {describe_error(exc)}"


def _probe_imap(config: Config, endpoint: Endpoint) -> str:
    from imapclient import IMAPClient

    use_tls = endpoint.scheme == "imaps"
    client = IMAPClient(endpoint.host, port=endpoint.port, ssl=use_tls,
                        ssl_context=tls_context(endpoint) if use_tls else None,
                        timeout=PROBE_TIMEOUT_SECONDS)
    try:
        client.login(endpoint.username, endpoint.password)
        idle = client.has_capability("IDLE")
        client.select_folder(endpoint.folder, readonly=True)
        created = _ensure_folders(client, (config.processed_folder, config.quarantine_folder))
    finally:
        _logout_quietly(client)

    parts = [tr("sesión iniciada", "logged in"),
             tr("carpeta {f} abierta", "folder {f} opened", f=endpoint.folder)]
    if created:
        parts.append(tr("carpetas creadas: {f}", "folders created: {f}", f=", ".join(created)))
    parts.append(tr("IDLE disponible", "IDLE offered") if idle
                 else tr("sin IDLE: se consultará cada poll_seconds", "no IDLE: polls every poll_seconds"))
    return ", ".join(parts)


def _ensure_folders(client, folders) -> list[str]:
    """Create the folders the daemon moves messages into when missing, as the daemon would."""
    created = []
    for folder in folders:
        if not client.folder_exists(folder):
            client.create_folder(folder)
            created.append(folder)
    return created


def _logout_quietly(client) -> None:
    try:
        client.logout()
    except Exception:  # noqa: BLE001 -- the answer is known; a failed goodbye changes nothing
        client.shutdown()


def _check_maildir_dir(path: Path) -> tuple[bool, str]:
    """Check a local Maildir (the demo): it exists with cur/new/tmp, or its parent lets it be created."""
    where = f"maildir:{path}"
    if path.is_dir():
        missing = [name for name in ("cur", "new", "tmp") if not (path / name).is_dir()]
        if missing:
            return False, tr("{w}: no es un Maildir (faltan {m})", "{w}: not a Maildir ({m} missing)",
                             w=where, m=", ".join(missing))
        if not os.access(path, os.W_OK):
            return False, tr("{w}: sin permiso de escritura", "{w}: not writable", w=where)
        return True, tr("{w}: Maildir local", "{w}: local Maildir", w=where)

    parent = next((p for p in path.parents if p.exists()), None)
    if parent is None or not os.access(parent, os.W_OK):
        return False, tr("{w}: no existe y no se puede crear en {p}", "{w}: missing and cannot be created in {p}",
                         w=where, p=parent)
    return True, tr("{w}: no existe aún; se crea al iniciar", "{w}: does not exist yet; created at start",
                    w=where)


def check_smtp(config: Config) -> tuple[bool, str]:
    endpoint = config.smtp
    if endpoint.scheme == "maildir":
        ok, detail = _check_maildir_dir(Path(endpoint.path))
        return ok, detail + tr(" (el correo se guarda ahí, no se envía)", " (mail is stored there, not sent)")
    try:
        return True, f"{endpoint.display}: {asyncio.run(_probe_smtp(endpoint))}"
    except Exception as exc:  # noqa: BLE001 -- the probe's edge
        return False, f"{endpoint.display}: {describe_error(exc)}"


async def _probe_smtp(endpoint: Endpoint) -> str:
    import aiosmtplib

    use_tls = endpoint.scheme == "smtps"
    start_tls = endpoint.scheme == "smtp+starttls"
    client = aiosmtplib.SMTP(
        hostname=endpoint.host, port=endpoint.port, use_tls=use_tls, start_tls=start_tls,
        tls_context=tls_context(endpoint) if endpoint.uses_tls else None,
        timeout=PROBE_TIMEOUT_SECONDS)
    await client.connect()
    try:
        if endpoint.username:
            await client.login(endpoint.username, endpoint.password)
    finally:
        await client.quit()

    tls = {"smtps": tr("TLS desde el inicio", "TLS from the start"),
           "smtp+starttls": "STARTTLS", "smtp": tr("sin TLS (solo loopback)", "no TLS (loopback only)")}
    login = (tr("sesión iniciada como {u}", "logged in as {u}", u=endpoint.username) if endpoint.username
             else tr("sin autenticación", "no authentication"))
    return f"{tls[endpoint.scheme]}, {login}"
