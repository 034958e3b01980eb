"""Shared CLI plumbing: the root group, the app context and one-line errors."""

import sys
from functools import cached_property

import click
from peewee import DatabaseError as PeeweeDatabaseError

from mailtriage import __version__
from mailtriage.config import LOG_FORMATS, Config, find_config_path, load_config
from mailtriage.errors import MailtriageError
from mailtriage.i18n import set_language, tr
from mailtriage.logsetup import configure_logging


class App:
    """The context of a command: the config and, once requested, the open database."""

    def __init__(self, config_path: str | None):
        self.config_path = config_path

    @cached_property
    def config(self) -> Config:
        config = load_config(find_config_path(self.config_path))
        set_language(config.language)
        return config

    @cached_property
    def database(self):
        from mailtriage.models import database_failure, open_database
        from mailtriage.units import sync_units

        database = open_database(self.config.database_url, create=False)
        try:
            sync_units(self.config)
        except PeeweeDatabaseError as exc:
            raise database_failure(self.config.database_url, exc) from exc
        return database


pass_app = click.make_pass_decorator(App)

# Commands of the service and its timers, whose log is the administrator's
# record; they log at the configured level.
SERVICE_COMMANDS = ("run", "poll", "backup", "restore", "retention")


@click.group(options_metavar=tr("[OPCIONES]", "[OPTIONS]"),
             subcommand_metavar=tr("COMANDO [ARGUMENTOS]...", "COMMAND [ARGS]..."),
             help=tr(
    "Automonitoreo de COVID-19 por correo electrónico: lee las respuestas de los pacientes, "
    "las clasifica en verde, amarillo o rojo y les contesta.",
    "COVID-19 self-monitoring by email: reads patients' replies, triages them green, "
    "yellow or red and answers them."))
@click.option("--config", "config_path", metavar=tr("ARCHIVO", "FILE"), envvar="MAILTRIAGE_CONFIG",
              help=tr("Archivo de configuración TOML (o la variable MAILTRIAGE_CONFIG).",
                      "TOML configuration file (or the MAILTRIAGE_CONFIG variable)."))
@click.option("-v", "--verbose", is_flag=True,
              help=tr("Muestra también los mensajes de depuración.", "Also show debug messages."))
@click.option("--log-format", type=click.Choice(LOG_FORMATS), envvar="MAILTRIAGE_LOG_FORMAT",
              help=tr("Formato del registro en stderr: text (una línea por evento, para journalctl) "
                      "o json (un objeto por línea). Por omisión, [general] log_format.",
                      "Log format on stderr: text (one line per event, for journalctl) or json "
                      "(one object per line). Default: [general] log_format."))
@click.version_option(__version__, message="mailtriage %(version)s",
                      help=tr("Muestra la versión y termina.", "Show the version and exit."))
@click.help_option(help=tr("Muestra esta ayuda y termina.", "Show this message and exit."))
@click.pass_context
def root(context, config_path, verbose, log_format):
    context.obj = App(config_path)
    try:
        config = context.obj.config
        level, configured_format = config.log_level, config.log_format
    except MailtriageError:
        # The command reports the broken config; log with defaults meanwhile.
        level, configured_format = "INFO", "text"
    if not verbose and context.invoked_subcommand not in SERVICE_COMMANDS:
        # A nurse's command prints its own outcome; the log's English event
        # lines would only bury it. Warnings and errors still show.
        level = "WARNING" if level in ("DEBUG", "INFO") else level
    configure_logging("DEBUG" if verbose else level, log_format or configured_format)


def run_main(cli) -> None:
    """Run the CLI; an expected failure prints one line, never a traceback."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo(tr("Cancelado.", "Cancelled."), err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except MailtriageError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    except PeeweeDatabaseError as exc:
        # A lock or I/O failure met outside the places that translate it.
        from mailtriage.models import database_failure

        click.echo(f"Error: {database_failure(None, exc)}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
