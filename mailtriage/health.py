"""Probes for ``mailtriage check``: try each part the daemon needs, for real, and say why one fails.

Each probe returns a ProbeResult whose detail names the host and port (or
file) and never a password. A probe catches every error of its own part,
so one broken part never hides the state of the others.
"""

import asyncio
import errno
import os
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from mailtriage.config import Config, Endpoint
from mailtriage.errors import MailtriageError
from mailtriage.i18n import tr

# A server that has not answered in this time is reported as unreachable;
# a healthy server on the institute's network answers within a second or two.
PROBE_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class ProbeResult:
    """The verdict on one part: its name as users read it, ✓ or ✗, and the details."""

    part: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'✓' if self.ok else '✗'} {self.part}: {self.detail}"


def run_probes(config: Config) -> list[ProbeResult]:
    """Probe the database, mailbox, SMTP server, templates and rules, in that order."""
    probes = (
        (tr("Base de datos", "Database"), check_database),
        (tr("Buzón", "Mailbox"), check_mailbox),
        (tr("Envío", "Sending"), check_smtp),
        (tr("Plantillas", "Templates"), check_templates),
        (tr("Reglas", "Rules"), check_rules),
    )
    results = []
    for part, probe in probes:
        try:
            ok, detail = probe(config)
        # The edge of one probe: whatever failed is that part's ✗, not a traceback.
        except Exception as exc:  # noqa: BLE001
            ok, detail = False, describe_error(exc)
        results.append(ProbeResult(part, ok, detail))
    return results


def describe_error(exc: BaseException) -> str:
    """Say in one line why a connection or operation failed, looking through chained causes."""
    for cause in _causes(exc):
        reason = _known_reason(cause)
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


def _known_reason(exc: BaseException) -> str:
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


def _safe_database_url(url: str) -> str:
    """The database URL without a password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()


# --- database --------------------------------------------------------------

def check_database(config: Config) -> tuple[bool, str]:
    from mailtriage.migrations import MIGRATIONS, pending_migrations
    from mailtriage.models import open_database

    where = _safe_database_url(config.database_url)
    if _is_missing_sqlite_file(config.database_url):
        return True, tr("{db}: no existe aún; se creará vacía al iniciar el servicio "
                        "(si ya había datos, revise [database] url)",
                        "{db}: does not exist yet; it is created empty when the service starts "
                        "(if there was data, check [database] url)", db=where)
    problem = _sqlite_file_problem(config.database_url)
    if problem:
        return False, f"{where}: {problem}"

    try:
        database = open_database(config.database_url, migrate=False)
        database.execute_sql("SELECT 1")
        pending = pending_migrations(database)
    except Exception as exc:  # noqa: BLE001 -- any driver error is this probe's ✗
        return False, f"{where}: {describe_error(exc)}"

    if pending:
        return False, tr(
            "{db}: faltan {n} migraciones del esquema ({names}); se aplican al iniciar el servicio, "
            "tras una copia junto a la base", "{db}: {n} schema migrations pending ({names}); they are "
            "applied when the service starts, after a copy next to the database",
            db=where, n=len(pending), names=", ".join(pending))
    return True, tr("{db}: esquema al día (migraciones aplicadas: {n})",
                    "{db}: schema up to date (migrations applied: {n})", db=where, n=len(MIGRATIONS))


def _is_missing_sqlite_file(url: str) -> bool:
    return url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists()


def _sqlite_file_problem(url: str) -> str:
    """Return why an existing SQLite file cannot be used as is, or "" (also for other databases)."""
    if not url.startswith("sqlite:///"):
        return ""
    path = Path(url[len("sqlite:///"):])
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        return tr("permisos {m:o}: otros usuarios pueden leer datos de salud; ejecute chmod 600 {f}",
                  "mode {m:o}: other users can read health data; run chmod 600 {f}", m=mode, f=path)
    if not os.access(path, os.R_OK | os.W_OK):
        return tr("sin permiso de lectura y escritura para este usuario",
                  "this user cannot read and write it")
    return ""


# --- mailbox -----------------------------------------------------------------

def tls_context(endpoint: Endpoint) -> ssl.SSLContext:
    """The TLS settings of an endpoint: its ca_file, and no verification only if tls_verify is false."""
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
    """A local Maildir (the demo): it exists with cur/new/tmp, or its parent lets it be created."""
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


# --- SMTP ------------------------------------------------------------------------

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


# --- templates and rules ----------------------------------------------------------

def check_templates(config: Config) -> tuple[bool, str]:
    """Compile every packaged template name in each language, from the custom directory first.

    NOTE: templates are compiled, not rendered: rendering needs a patient's
    data, and a wrong variable name shows only when the first mail is written.
    """
    try:
        from mailtriage import mailtemplates
    except ImportError as exc:
        return False, _module_missing("mailtriage.mailtemplates", exc)

    if config.templates_dir and not Path(config.templates_dir).is_dir():
        return False, tr("{d}: la carpeta no existe; corrija [templates] directory",
                         "{d}: the folder does not exist; fix [templates] directory", d=config.templates_dir)
    names = sorted(mailtemplates.template_environment("", "es").list_templates())
    problems = []
    for language in ("es", "en"):
        environment = mailtemplates.template_environment(config.templates_dir, language)
        problems += _compile_all(environment, language, names)

    where = config.templates_dir or tr("incluidas en el paquete", "packaged")
    if problems:
        shown = "; ".join(problems[:3]) + (" …" if len(problems) > 3 else "")
        return False, tr("{w}: {n} con error: {p}", "{w}: {n} failed: {p}", w=where, n=len(problems), p=shown)
    return True, tr("{w}: {n} plantillas en es y en", "{w}: {n} templates in es and en", w=where, n=len(names))


def _compile_all(environment, language: str, names: list[str]) -> list[str]:
    import jinja2

    problems = []
    for name in names:
        try:
            environment.get_template(name)
        except jinja2.TemplateNotFound:
            problems.append(tr("falta {l}/{n}", "{l}/{n} missing", l=language, n=name))
        except jinja2.TemplateSyntaxError as exc:
            problems.append(f"{language}/{name}:{exc.lineno}: {exc.message}")
    return problems


def check_rules(config: Config) -> tuple[bool, str]:
    try:
        from mailtriage.rules import load_ruleset
    except ImportError as exc:
        return False, _module_missing("mailtriage.rules", exc)

    ruleset = load_ruleset(config.rules_file or None)
    source = config.rules_file or tr("reglas integradas", "built-in rules")
    version = getattr(ruleset, "version", "")
    return True, f"{source}" + (tr(", versión {v}", ", version {v}", v=version) if version else "")


def _module_missing(module: str, exc: ImportError) -> str:
    return tr("no se pudo cargar el módulo {m} ({why}); reinstale mailtriage",
              "cannot load the module {m} ({why}); reinstall mailtriage", m=module, why=exc)
