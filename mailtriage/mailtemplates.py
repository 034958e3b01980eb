"""The Jinja2 templates of the mail the program sends, in Spanish and English.

Templates live in ``templates/<language>/`` inside the package. A deployment
may set ``[templates] directory`` to a folder with the same layout
(``DIR/es/reply.txt``, ``DIR/en/reply.html`` ...): a file found there wins,
and every file it lacks comes from the package. ``.html`` templates are
autoescaped. Undefined variables raise, so a typo fails loudly.
"""

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import jinja2

from mailtriage.errors import MailtriageError
from mailtriage.i18n import DEFAULT_LANGUAGE, SUPPORTED_LANGUAGES, tr

MONTHS_ES = ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic")
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class TemplateRenderError(MailtriageError):
    """A mail template is missing, invalid or failed to render."""


@dataclass(frozen=True)
class RenderedMail:
    """A message ready for the outbox: its subject, plain text and HTML alternative."""

    subject: str
    text: str
    html: str


def mail_language(language: str | None) -> str:
    """Return ``language`` if templates exist for it, otherwise Spanish."""
    return language if language in SUPPORTED_LANGUAGES else DEFAULT_LANGUAGE


def in_language(language: str, spanish: str, english: str, **values) -> str:
    """Pick the text of ``language`` (not the active UI language) and fill its placeholders.

    Mail goes out in the patient's language, which may differ from the one
    the CLI or daemon speaks.
    """
    text = english if language == "en" else spanish
    return text.format(**values) if values else text


def format_date(day: date, language: str) -> str:
    """Write a date as users read it: ``4 dic 2026`` or ``4 Dec 2026``."""
    months = MONTHS_EN if language == "en" else MONTHS_ES
    return f"{day.day} {months[day.month - 1]} {day.year}"


@lru_cache(maxsize=16)
def template_environment(custom_dir: str, language: str) -> jinja2.Environment:
    """Build the environment for one language, looking in ``custom_dir`` first when set."""
    loaders = []
    if custom_dir:
        loaders.append(jinja2.FileSystemLoader(str(Path(custom_dir) / language)))
    loaders.append(jinja2.PackageLoader("mailtriage", f"templates/{language}"))

    environment = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["local_date"] = lambda day: format_date(day, language)
    return environment


def _check_custom_dir(custom_dir: str) -> None:
    if custom_dir and not Path(custom_dir).is_dir():
        raise TemplateRenderError(tr(
            "la carpeta de plantillas «{dir}» no existe; corrija [templates] directory "
            "en la configuración o déjelo vacío para usar las plantillas incluidas",
            "the templates folder '{dir}' does not exist; fix [templates] directory "
            "in the configuration or leave it empty to use the packaged templates",
            dir=custom_dir))


def render_template(config, language: str, name: str, **context) -> str:
    """Render one template of ``language``, raising TemplateRenderError that names it on any failure."""
    custom_dir = config.templates_dir if config is not None else ""
    _check_custom_dir(custom_dir)
    language = mail_language(language)

    try:
        template = template_environment(custom_dir, language).get_template(name)
        return template.render(**context)
    except jinja2.TemplateError as exc:
        raise TemplateRenderError(tr(
            "no se pudo usar la plantilla {lang}/{name}: {why}",
            "cannot use the template {lang}/{name}: {why}",
            lang=language, name=name, why=_describe(exc))) from exc


def _describe(exc: jinja2.TemplateError) -> str:
    if isinstance(exc, jinja2.TemplateNotFound):
        return tr("no existe la plantilla {t}", "template {t} not found", t=exc.name)
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return tr("error de sintaxis en {t}, línea {n}: {m}", "syntax error in {t}, line {n}: {m}",
                  t=exc.name or "?", n=exc.lineno, m=exc.message)
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def render_pair(config, language: str, name: str, subject: str, **context) -> RenderedMail:
    """Render ``name.txt`` and ``name.html`` with the same context into one message.

    The templates also receive ``subject``, which the HTML layout uses as its title.
    """
    text = render_template(config, language, f"{name}.txt", subject=subject, **context)
    html = render_template(config, language, f"{name}.html", subject=subject, **context)
    return RenderedMail(subject=subject, text=text.rstrip() + "\n", html=html)


def patient_language(patient, config) -> str:
    """Return the language of the patient's mail: theirs if supported, else the configured one."""
    language = getattr(patient, "language", None)
    if language in SUPPORTED_LANGUAGES:
        return language
    return mail_language(config.language if config is not None else None)


def configured_unit(patient, config):
    """Return the config's Unit of a patient; its emergency service and address fill the mail."""
    unit = config.unit(patient.unit.code)
    if unit is None:
        raise MailtriageError(tr(
            "la unidad «{code}» del paciente {id} no está en la configuración; "
            "agréguela en [[units]] o cambie la unidad del paciente",
            "unit '{code}' of patient {id} is not in the configuration; "
            "add it under [[units]] or change the patient's unit",
            code=patient.unit.code, id=patient.id))
    return unit


def compile_templates(config) -> int:
    """Compile every template of every language, as the daemon does at start; return how many.

    Raises TemplateRenderError naming a missing folder, or the first
    template that is unreadable or not valid Jinja2, so a broken
    ``[templates] directory`` stops the start instead of failing every reply later. Only syntax is
    checked: a template that names an undefined variable fails when rendered.
    """
    custom_dir = config.templates_dir if config is not None else ""
    _check_custom_dir(custom_dir)

    compiled = 0
    for language in SUPPORTED_LANGUAGES:
        environment = template_environment(custom_dir, language)
        for name in environment.list_templates():
            try:
                environment.get_template(name)
            except (jinja2.TemplateError, OSError, UnicodeDecodeError) as exc:
                why = _describe(exc) if isinstance(exc, jinja2.TemplateError) else str(exc)
                raise TemplateRenderError(tr(
                    "no se pudo usar la plantilla {lang}/{name}: {why}",
                    "cannot use the template {lang}/{name}: {why}",
                    lang=language, name=name, why=why)) from exc
            compiled += 1
    return compiled
