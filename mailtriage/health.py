"""Probes for ``mailtriage check``: try each part the daemon needs, for real, and report why one fails.

Each probe returns a ProbeResult whose detail names the host and port (or
file) and never a password. The mail server probes live in mailprobes.py. A probe catches every error of its own part,
so one broken part never hides the state of the others.
"""

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from mailtriage.config import Config
from mailtriage.i18n import tr
from mailtriage.mailprobes import check_mailbox, check_smtp, describe_error


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


def _safe_database_url(url: str) -> str:
    """Return the database URL with its password masked, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()


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
    """Load the rule set exactly as the daemon does at start-up."""
    try:
        from mailtriage.ruleset import ruleset_for
    except ImportError as exc:
        return False, _module_missing("mailtriage.ruleset", exc)

    ruleset = ruleset_for(config)
    source = config.rules_file or tr("reglas incluidas en el paquete", "packaged rules")
    return True, tr("{s}: versión {v}, {n} reglas", "{s}: version {v}, {n} rules",
                    s=source, v=ruleset.version, n=len(ruleset.rules) + len(ruleset.nonreporting_rules))


def _module_missing(module: str, exc: ImportError) -> str:
    return tr("no se pudo cargar el módulo {m} ({why}); reinstale mailtriage",
              "cannot load the module {m} ({why}); reinstall mailtriage", m=module, why=exc)
