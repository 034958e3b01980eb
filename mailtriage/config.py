"""Loading and validating the TOML configuration.

The whole file is checked at start-up. A bad value stops the program with
one line naming the file, the key and the problem, instead of a failure on
every message later. Every setting is documented in config.example.toml.
"""

import difflib
import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from email.utils import parseaddr
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mailtriage.errors import ConfigError
from mailtriage.i18n import SUPPORTED_LANGUAGES, describe_os_error, tr

CONFIG_ENV = "MAILTRIAGE_CONFIG"
DEFAULT_TIMEZONE = "America/Mazatlan"

# The size limit rejects abuse cheaply. It is large enough for a reply with
# a phone photo attached (a few MB), whose attachment is skipped.
DEFAULT_MAX_MESSAGE_BYTES = 10 * 1024 * 1024

MAILBOX_SCHEMES = ("imaps", "imap", "maildir")
SMTP_SCHEMES = ("smtps", "smtp+starttls", "smtp")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("text", "json")

# Raw messages and answers of a discharged patient are kept this many days,
# so staff can review a case for a year after discharge.
DEFAULT_RETENTION_DAYS = 365


@dataclass(frozen=True)
class Endpoint:
    """A mail server (or a local Maildir) parsed from a URL in the config."""

    scheme: str
    host: str = ""
    port: int = 0
    username: str = ""
    folder: str = "INBOX"
    path: str = ""
    password: str = field(default="", repr=False)
    tls_verify: bool = True
    ca_file: str = ""

    @property
    def uses_tls(self) -> bool:
        return self.scheme in ("imaps", "smtps", "smtp+starttls")

    @property
    def display(self) -> str:
        """Where the endpoint points, without any secret, for messages and logs."""
        if self.scheme == "maildir":
            return f"maildir:{self.path}"
        return f"{self.scheme}://{self.host}:{self.port}"


@dataclass(frozen=True)
class Unit:
    """A medical unit: the clinic that enrols and follows patients."""

    code: str
    name: str
    emergency_service: str
    address: str = ""
    emergency_phone: str = ""
    timezone: str = DEFAULT_TIMEZONE
    altitude_m: int | None = None
    staff_email: str = ""


@dataclass(frozen=True)
class Config:
    path: Path | None
    language: str
    log_level: str
    database_url: str
    mailbox: Endpoint
    processed_folder: str
    quarantine_folder: str
    max_message_bytes: int
    smtp: Endpoint
    sender: str
    max_replies_per_sender_per_hour: int
    poll_seconds: int
    questionnaire_time: str
    timezone: str
    outbox_retry_seconds: int
    nonreport_check_minutes: int
    rules_file: str
    templates_dir: str
    units: tuple[Unit, ...]
    retention_days: int = DEFAULT_RETENTION_DAYS
    log_format: str = "text"

    def unit(self, code: str) -> Unit | None:
        return next((unit for unit in self.units if unit.code == code), None)


def find_config_path(explicit: str | None) -> Path | None:
    """Return the config named by --config or MAILTRIAGE_CONFIG, or None for the built-in default."""
    chosen = explicit or os.environ.get(CONFIG_ENV)
    return Path(chosen) if chosen else None


def load_config(path: Path | None) -> Config:
    """Read and validate the config file; None gives the embedded local default."""
    if path is None:
        return build_config({}, None)

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(tr(
            "{file}: no se pudo leer el archivo de configuración ({why})",
            "{file}: cannot read the configuration file ({why})",
            file=path, why=describe_os_error(exc))) from exc

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(tr(
            "{file}: el archivo no está en UTF-8 (byte {n} no válido); guárdelo como UTF-8",
            "{file}: the file is not UTF-8 (invalid byte at {n}); save it as UTF-8",
            file=path, n=exc.start)) from exc
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_toml_error(path, text, exc)) from exc

    return build_config(document, path)


def _toml_error(path: Path, text: str, exc: tomllib.TOMLDecodeError) -> str:
    """Describe a TOML syntax error by its position; tomllib's English detail only in English."""
    line, column = _toml_error_position(text, str(exc))
    detail = re.sub(r"\s*\(at [^)]*\)$", "", str(exc))
    return tr("{file}: el archivo no es TOML válido (línea {line}, columna {column})",
              "{file}: the file is not valid TOML (line {line}, column {column}): {why}",
              file=path, line=line, column=column, why=detail)


def _toml_error_position(text: str, message: str) -> tuple[int, int]:
    """Return the 1-based line and column that tomllib's message names.

    tomllib before Python 3.14 carries the position only in its message,
    "(at line L, column C)", or "(at end of document)".
    """
    found = re.search(r"\(at line (\d+), column (\d+)\)", message)
    if found:
        return int(found.group(1)), int(found.group(2))

    lines = text.split("\n")
    return len(lines), len(lines[-1]) + 1


class _Reader:
    """Typed access to one table of the document, with errors naming file and key."""

    def __init__(self, document: dict, section: str, path: Path | None):
        self.path = path
        self.section = section
        value = document.get(section, {})
        if not isinstance(value, dict):
            raise self.error("", tr("debe ser una tabla [{s}]", "must be a table [{s}]", s=section))
        self.values = value
        self.keys_read: set[str] = set()

    def error(self, key: str, problem: str) -> ConfigError:
        where = f"[{self.section}] {key}".strip()
        return ConfigError(f"{self.path or tr('configuración integrada', 'built-in configuration')}: "
                           f"{where}: {problem}")

    def get(self, key: str, kind: type, default):
        self.keys_read.add(key)
        value = self.values.get(key, default)
        if kind is int and isinstance(value, bool):
            raise self.error(key, tr("debe ser un número entero", "must be a whole number"))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if value is not None and not isinstance(value, kind):
            names = {str: ("texto", "a string"), int: ("número entero", "a whole number"),
                     bool: ("true o false", "true or false"), float: ("número", "a number")}
            spanish, english = names.get(kind, (kind.__name__, kind.__name__))
            raise self.error(key, tr("debe ser {t}", "must be {t}", t=tr(spanish, english)))
        return value

    def reject_unknown_keys(self) -> None:
        """Refuse a key no setting reads: a misspelt one would silently keep its default."""
        for key in self.values:
            if key not in self.keys_read:
                raise self.error(key, unknown_name_problem(key, self.keys_read))

    def address(self, key: str, default: str) -> str:
        """Read an email address, with or without a display name."""
        value = self.get(key, str, default)
        if value and not is_email_address(value):
            raise self.error(key, tr("«{v}» no es una dirección de correo válida",
                                     "'{v}' is not a valid email address", v=value))
        return value

    def positive_int(self, key: str, default: int) -> int:
        value = self.get(key, int, default)
        if value <= 0:
            raise self.error(key, tr("debe ser mayor que cero", "must be greater than zero"))
        return value

    def secret(self) -> str:
        """Read a password from the file or environment variable the config names."""
        password_file = self.get("password_file", str, "")
        password_env = self.get("password_env", str, "")
        if password_file:
            return self._read_password_file(Path(password_file))
        if password_env:
            value = os.environ.get(password_env)
            if value is None:
                raise self.error("password_env", tr(
                    "la variable de entorno {v} no está definida",
                    "the environment variable {v} is not set", v=password_env))
            return value
        return ""


    def _read_password_file(self, path: Path) -> str:
        try:
            mode = path.stat().st_mode
            password = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise self.error("password_file", tr(
                "no se pudo leer {f} ({why})", "cannot read {f} ({why})",
                f=path, why=describe_os_error(exc))) from exc

        if mode & 0o077:
            raise self.error("password_file", tr(
                "{f} lo pueden leer otros usuarios (permisos {m:o}); ejecute «chmod 600 {f}»",
                "{f} is readable by other users (mode {m:o}); run 'chmod 600 {f}'",
                f=path, m=mode & 0o777))
        if not password:
            raise self.error("password_file", tr("{f} está vacío", "{f} is empty", f=path))
        return password


KNOWN_TABLES = ("general", "database", "mailbox", "smtp", "schedule", "triage", "templates",
                "retention", "units")


def unknown_name_problem(name: str, known) -> str:
    """Say that a name is unknown, suggesting the closest known one."""
    close = difflib.get_close_matches(name, sorted(known), n=1)
    if close:
        return tr("nombre desconocido; ¿quiso decir «{c}»?", "unknown name; did you mean '{c}'?",
                  c=close[0])
    return tr("nombre desconocido; los válidos son: {k}", "unknown name; valid names: {k}",
              k=", ".join(sorted(known)))


def is_email_address(value: str) -> bool:
    address = parseaddr(value)[1]
    local, _, domain = address.rpartition("@")
    return bool(local) and "." in domain.strip(".") or domain == "localhost"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_endpoint(reader: _Reader, key: str, url: str, schemes: tuple[str, ...]) -> Endpoint:
    """Parse a mailbox or SMTP URL; plain-text schemes are accepted on loopback only."""
    parts = urlsplit(url)
    if parts.scheme not in schemes:
        raise reader.error(key, tr(
            "esquema «{s}» no válido; use uno de: {ok}", "invalid scheme '{s}'; use one of: {ok}",
            s=parts.scheme, ok=", ".join(schemes)))

    if parts.scheme == "maildir":
        path = unquote(parts.path) if not parts.netloc else unquote(parts.netloc + parts.path)
        if not path:
            raise reader.error(key, tr("falta la ruta del Maildir", "the Maildir path is missing"))
        return Endpoint(scheme="maildir", path=path)

    if not parts.hostname:
        raise reader.error(key, tr("falta el servidor", "the server host is missing"))
    if parts.scheme in ("imap", "smtp") and not is_loopback(parts.hostname):
        raise reader.error(key, tr(
            "«{s}://» envía la contraseña sin cifrar; solo se permite hacia 127.0.0.1. "
            "Use {tls}", "'{s}://' sends the password in clear text and is allowed on "
            "loopback only. Use {tls}",
            s=parts.scheme, tls="imaps://" if parts.scheme == "imap" else "smtp+starttls:// o smtps://"))

    default_ports = {"imaps": 993, "imap": 143, "smtps": 465, "smtp+starttls": 587, "smtp": 25}
    try:
        port = parts.port or default_ports[parts.scheme]
    except ValueError as exc:
        raise reader.error(key, tr("puerto no válido", "invalid port")) from exc

    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    return Endpoint(
        scheme=parts.scheme, host=parts.hostname, port=port,
        username=unquote(parts.username or ""), folder=folder,
        password=reader.secret(),
        tls_verify=reader.get("tls_verify", bool, True),
        ca_file=reader.get("ca_file", str, ""),
    )


def _check_timezone(reader: _Reader, key: str, name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise reader.error(key, tr(
            "zona horaria desconocida «{z}» (ejemplo: America/Mexico_City)",
            "unknown time zone '{z}' (for example America/Mexico_City)", z=name)) from exc
    return name


def _check_time_of_day(reader: _Reader, key: str, value: str) -> str:
    hours, _, minutes = value.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
        raise reader.error(key, tr("debe ser una hora HH:MM, por ejemplo 09:00",
                                   "must be a time HH:MM, for example 09:00"))
    return f"{int(hours):02d}:{int(minutes):02d}"


def _read_units(document: dict, path: Path | None, timezone: str) -> tuple[Unit, ...]:
    entries = document.get("units", [])
    if not isinstance(entries, list):
        raise _Reader({}, "units", path).error("", tr("use [[units]]", "use [[units]]"))

    units = []
    for index, entry in enumerate(entries, start=1):
        reader = _Reader({"units": entry}, "units", path)
        reader.section = f"units #{index}"
        code = reader.get("code", str, "")
        name = reader.get("name", str, "")
        emergency = reader.get("emergency_service", str, "")
        for key, value in (("code", code), ("name", name), ("emergency_service", emergency)):
            if not value:
                raise reader.error(key, tr("es obligatorio", "is required"))
        altitude = reader.get("altitude_m", int, None)
        units.append(Unit(
            code=code, name=name, emergency_service=emergency,
            address=reader.get("address", str, ""),
            emergency_phone=reader.get("emergency_phone", str, ""),
            timezone=_check_timezone(reader, "timezone", reader.get("timezone", str, timezone)),
            altitude_m=altitude,
            staff_email=reader.address("staff_email", ""),
        ))
        reader.reject_unknown_keys()

    codes = [unit.code for unit in units]
    duplicated = {code for code in codes if codes.count(code) > 1}
    if duplicated:
        raise _Reader({}, "units", path).error("code", tr(
            "clave de unidad repetida: {c}", "duplicate unit code: {c}", c=", ".join(sorted(duplicated))))
    return tuple(units)


def default_state_dir() -> Path:
    """Return the directory where the built-in default keeps its database and Maildir."""
    base = os.environ.get("MAILTRIAGE_HOME") or Path.home() / ".local" / "share" / "mailtriage"
    return Path(base)


def build_config(document: dict, path: Path | None) -> Config:
    """Validate a parsed TOML document into a Config."""
    general = _Reader(document, "general", path)
    language = general.get("language", str, os.environ.get("MAILTRIAGE_LANG", "es") or "es")
    if language not in SUPPORTED_LANGUAGES:
        raise general.error("language", tr("debe ser «es» o «en»", "must be 'es' or 'en'"))
    log_level = general.get("log_level", str, "INFO").upper()
    if log_level not in LOG_LEVELS:
        raise general.error("log_level", tr("debe ser uno de: {v}", "must be one of: {v}",
                                            v=", ".join(LOG_LEVELS)))
    log_format = general.get("log_format", str, "text")
    if log_format not in LOG_FORMATS:
        raise general.error("log_format", tr("debe ser uno de: {v}", "must be one of: {v}",
                                             v=", ".join(LOG_FORMATS)))

    state = default_state_dir()
    database = _Reader(document, "database", path)
    database_url = database.get("url", str, f"sqlite:///{state / 'mailtriage.db'}")
    if not database_url.startswith(("sqlite:///", "postgresql://", "postgres://")):
        raise database.error("url", tr(
            "use sqlite:///RUTA o postgresql://…", "use sqlite:///PATH or postgresql://…"))
    if database_url.startswith("sqlite:///") and not database_url.startswith("sqlite:////"):
        # A relative path would depend on the directory the program starts in.
        raise database.error("url", tr(
            "use una ruta absoluta: sqlite:////var/lib/mailtriage/mailtriage.db",
            "use an absolute path: sqlite:////var/lib/mailtriage/mailtriage.db"))

    mailbox = _Reader(document, "mailbox", path)
    mailbox_url = mailbox.get("url", str, f"maildir://{state / 'Maildir'}")
    mailbox_endpoint = parse_endpoint(mailbox, "url", mailbox_url, MAILBOX_SCHEMES)

    smtp = _Reader(document, "smtp", path)
    smtp_url = smtp.get("url", str, f"maildir://{state / 'Enviados'}")
    # The built-in default "sends" into a local Maildir, so the demo needs no SMTP server.
    smtp_endpoint = parse_endpoint(smtp, "url", smtp_url, SMTP_SCHEMES + ("maildir",))

    schedule = _Reader(document, "schedule", path)
    timezone = _check_timezone(schedule, "timezone", schedule.get("timezone", str, DEFAULT_TIMEZONE))

    triage = _Reader(document, "triage", path)
    templates = _Reader(document, "templates", path)
    retention = _Reader(document, "retention", path)

    config = Config(
        path=path,
        language=language,
        log_level=log_level,
        database_url=database_url,
        mailbox=mailbox_endpoint,
        processed_folder=mailbox.get("processed_folder", str, "Procesados"),
        quarantine_folder=mailbox.get("quarantine_folder", str, "Cuarentena"),
        max_message_bytes=mailbox.positive_int("max_message_bytes", DEFAULT_MAX_MESSAGE_BYTES),
        smtp=smtp_endpoint,
        sender=smtp.address("from", "Automonitoreo COVID-19 <automonitoreo@localhost>"),
        max_replies_per_sender_per_hour=smtp.positive_int("max_replies_per_sender_per_hour", 5),
        poll_seconds=schedule.positive_int("poll_seconds", 60),
        questionnaire_time=_check_time_of_day(
            schedule, "questionnaire_time", schedule.get("questionnaire_time", str, "09:00")),
        timezone=timezone,
        outbox_retry_seconds=schedule.positive_int("outbox_retry_seconds", 60),
        nonreport_check_minutes=schedule.positive_int("nonreport_check_minutes", 60),
        rules_file=triage.get("rules_file", str, ""),
        templates_dir=templates.get("directory", str, ""),
        units=_read_units(document, path, timezone),
        retention_days=retention.positive_int("days", DEFAULT_RETENTION_DAYS),
        log_format=log_format,
    )

    for reader in (general, database, mailbox, smtp, schedule, triage, templates, retention):
        reader.reject_unknown_keys()
    for table in document:
        if table not in KNOWN_TABLES:
            raise _Reader({}, table, path).error("", unknown_name_problem(table, KNOWN_TABLES))
    return config
