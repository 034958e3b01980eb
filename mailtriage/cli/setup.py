"""`mailtriage init`: create the database, the local Maildir, and optionally a config file."""

import mailbox
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import click

from mailtriage.cli.common import pass_app
from mailtriage.errors import MailtriageError
from mailtriage.i18n import describe_os_error, tr

EXAMPLE_CONFIG = "config.example.toml"


@click.command(help=tr(
    "Prepara una instalación: crea la base de datos con su esquema, registra las unidades "
    "de la configuración y, si el buzón es un Maildir local, lo crea. Con --write-config "
    "escribe además un archivo de configuración de ejemplo para editarlo.\n\n"
    "Ejemplo: mailtriage init --write-config /etc/mailtriage/mailtriage.toml",
    "Prepare an installation: create the database and its schema, record the configured "
    "units and, when the mailbox is a local Maildir, create it. With --write-config it also "
    "writes an example configuration file to edit.\n\n"
    "Example: mailtriage init --write-config /etc/mailtriage/mailtriage.toml"))
@click.option("--write-config", "config_target", metavar=tr("ARCHIVO", "FILE"),
              type=click.Path(dir_okay=False, path_type=Path),
              help=tr("Escribe aquí la configuración de ejemplo (config.example.toml).",
                      "Write the example configuration (config.example.toml) here."))
@click.option("--force", is_flag=True,
              help=tr("Reemplaza el archivo de --write-config si ya existe.",
                      "Replace the --write-config file when it already exists."))
@pass_app
def init(app, config_target, force):
    if config_target is not None:
        write_example_config(config_target, force)
        click.echo(tr("Configuración de ejemplo escrita en {f}. Edítela y úsela con "
                      "--config {f}.", "Example configuration written to {f}. Edit it and use "
                      "it with --config {f}.", f=config_target))

    config = app.config
    applied = create_database(config)
    click.echo(tr("Base de datos lista: {db} (migraciones de esquema aplicadas: {n}).",
                  "Database ready: {db} (schema migrations applied: {n}).",
                  db=display_database_url(config.database_url), n=len(applied)))
    codes = ", ".join(unit.code for unit in config.units) or tr("ninguna", "none")
    click.echo(tr("Unidades registradas: {u}.", "Units recorded: {u}.", u=codes))

    if config.mailbox.scheme == "maildir":
        mailbox.Maildir(config.mailbox.path, create=True)
        click.echo(tr("Buzón local listo: {p}.", "Local mailbox ready: {p}.", p=config.mailbox.path))


def create_database(config) -> list[str]:
    """Create or update the database schema, mirror the units, and return the migrations applied."""
    from mailtriage.migrations import apply_migrations
    from mailtriage.models import open_database
    from mailtriage.units import sync_units

    database = open_database(config.database_url, migrate=False)
    applied = apply_migrations(database)
    sync_units(config)
    return applied


def display_database_url(url: str) -> str:
    """Return the database URL without its password, for output."""
    if url.startswith("sqlite:///"):
        return url[len("sqlite:///"):]
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{parts.username}@{host}" if parts.username else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def write_example_config(target: Path, force: bool) -> None:
    """Copy the example configuration to ``target``, owner-only, refusing to overwrite unless forced."""
    if target.exists() and not force:
        raise MailtriageError(tr(
            "{f} ya existe; use --force para reemplazarlo o elija otro archivo",
            "{f} already exists; use --force to replace it or choose another file", f=target))

    text = resources.files("mailtriage").joinpath("data", EXAMPLE_CONFIG).read_text(encoding="utf-8")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(target.name + ".tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.chmod(0o600)
        temporary.replace(target)
    except OSError as exc:
        raise MailtriageError(tr(
            "no se pudo escribir {f} ({why}); revise la ruta y los permisos",
            "cannot write {f} ({why}); check the path and its permissions",
            f=target, why=describe_os_error(exc))) from exc
