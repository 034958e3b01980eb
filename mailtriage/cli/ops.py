"""Commands for the administrator: check, status, backup, restore and retention."""

import json
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from mailtriage import clock
from mailtriage.cli.common import pass_app
from mailtriage.cli.dates import PositiveCount
from mailtriage.errors import MailtriageError
from mailtriage.i18n import tr


@click.command(help=tr(
    "Prueba cada parte con la configuración real: base de datos, buzón, servidor SMTP, "
    "plantillas y reglas. Muestra ✓ o ✗ con el motivo y termina con código 1 si algo falla.\n\n"
    "Ejemplo: sudo -u mailtriage mailtriage --config /etc/mailtriage/mailtriage.toml check",
    "Try each part with the real configuration: database, mailbox, SMTP server, templates "
    "and rules. Prints ✓ or ✗ with the reason and exits with code 1 if anything fails.\n\n"
    "Example: sudo -u mailtriage mailtriage --config /etc/mailtriage/mailtriage.toml check"))
@pass_app
def check(app):
    from mailtriage.health import run_probes

    part = tr("Configuración", "Configuration")
    try:
        config = app.config
    except MailtriageError as exc:
        click.echo(f"✗ {part}: {exc}")
        sys.exit(1)
    click.echo(f"✓ {part}: {config.path or tr('integrada (sin archivo)', 'built-in (no file)')}")

    results = run_probes(config)
    for result in results:
        click.echo(result.line())
    if not all(result.ok for result in results):
        sys.exit(1)


@click.command(help=tr(
    "Muestra el estado del servicio: último sondeo del buzón, mensajes en espera, bandeja de "
    "salida, cuarentena, pacientes en seguimiento y reportes de hoy por color.\n\n"
    "Ejemplo: mailtriage status --json",
    "Show the service's state: last mailbox poll, messages waiting, outbox, quarantine, "
    "patients under monitoring and today's reports by color.\n\n"
    "Example: mailtriage status --json"))
@click.option("--json", "as_json", is_flag=True,
              help=tr("Salida en JSON, para un sistema de monitoreo.", "JSON output, for a monitoring system."))
@pass_app
def status(app, as_json):
    from mailtriage.status import collect_status

    app.database
    snapshot = collect_status(app.config)
    if as_json:
        click.echo(json.dumps(snapshot, ensure_ascii=False, indent=2))
        return
    for line in _status_lines(snapshot, app.config):
        click.echo(line)


def _status_lines(snapshot: dict, config) -> list[str]:
    from mailtriage.mailtemplates import format_date

    inbound, outbox, today = snapshot["inbound"], snapshot["outbox"], snapshot["reports_today"]
    lines = _poll_lines(snapshot["daemons"], config)
    lines += [
        tr("Mensajes en espera: {p} pendientes, {f} con error", "Messages waiting: {p} pending, {f} failed",
           p=inbound["pending"], f=inbound["failed"]),
        tr("Cuarentena: {n} mensajes", "Quarantine: {n} messages", n=inbound["quarantined"]),
        tr("Bandeja de salida: {p} pendientes, {r} reintentando, {f} fallidos",
           "Outbox: {p} pending, {r} retrying, {f} failed",
           p=outbox["pending"], r=outbox["retrying"], f=outbox["failed"]),
        tr("Pacientes en seguimiento: {n}", "Patients under monitoring: {n}", n=snapshot["patients_monitoring"]),
        tr("Reportes de hoy ({d}): verde {v}, amarillo {a}, rojo {r}",
           "Today's reports ({d}): green {v}, yellow {a}, red {r}",
           d=format_date(clock.now().astimezone(_zone(config)).date(), config.language),
           v=today["verde"], a=today["amarillo"], r=today["rojo"]),
    ]
    return lines


def _zone(config) -> ZoneInfo:
    return ZoneInfo(config.timezone)


def _poll_lines(daemons: list[dict], config) -> list[str]:
    if not daemons:
        return [tr("Último sondeo del buzón: nunca (¿está en marcha el servicio?)",
                   "Last mailbox poll: never (is the service running?)")]
    lines = []
    for daemon in daemons:
        at = datetime.fromisoformat(daemon["last_poll_at"]).astimezone(_zone(config))
        lines.append(tr("Último sondeo del buzón: {t} (hace {s} s) en {h}",
                        "Last mailbox poll: {t} ({s} s ago) on {h}",
                        t=at.strftime("%Y-%m-%d %H:%M:%S %Z"), s=daemon["seconds_since_poll"],
                        h=daemon["host"]))
    return lines


@click.command(help=tr(
    "Copia la base de datos SQLite a RUTA mientras el servicio sigue en marcha; la copia es "
    "consistente y solo la puede leer su dueño (0600). Para PostgreSQL use pg_dump.\n\n"
    "Ejemplo: sudo -u mailtriage mailtriage backup /var/lib/mailtriage/respaldos/mailtriage.db",
    "Copy the SQLite database to PATH while the service keeps running; the copy is consistent "
    "and readable by its owner only (0600). For PostgreSQL use pg_dump.\n\n"
    "Example: sudo -u mailtriage mailtriage backup /var/lib/mailtriage/backups/mailtriage.db"))
@click.argument("path", metavar=tr("RUTA", "PATH"), type=click.Path(dir_okay=False, path_type=Path))
@pass_app
def backup(app, path):
    from mailtriage.backup import backup_database

    written = backup_database(app.config.database_url, path)
    size_mb = written.stat().st_size / 1_000_000
    click.echo(tr("Respaldo guardado en {p} ({s:.1f} MB).", "Backup written to {p} ({s:.1f} MB).",
                  p=written, s=size_mb))


@click.command(help=tr(
    "Reemplaza la base de datos SQLite con el respaldo RUTA. Detenga antes el servicio "
    "(systemctl stop mailtriage); la base actual se guarda junto a ella.\n\n"
    "Ejemplo: sudo -u mailtriage mailtriage restore /var/lib/mailtriage/respaldos/mailtriage.db",
    "Replace the SQLite database with the backup PATH. Stop the service first "
    "(systemctl stop mailtriage); the current database is kept next to it.\n\n"
    "Example: sudo -u mailtriage mailtriage restore /var/lib/mailtriage/backups/mailtriage.db"))
@click.argument("path", metavar=tr("RUTA", "PATH"), type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help=tr("No pide confirmación.", "Do not ask for confirmation."))
@pass_app
def restore(app, path, yes):
    from mailtriage.backup import restore_database

    if not yes:
        click.confirm(tr("¿Detuvo el servicio y desea reemplazar la base de datos con {p}?",
                         "Did you stop the service, and do you want to replace the database with {p}?",
                         p=path), abort=True)
    previous = restore_database(app.config.database_url, path)
    click.echo(tr("Base de datos restaurada desde {p}.", "Database restored from {p}.", p=path))
    if previous:
        click.echo(tr("La base anterior quedó en {p}.", "The previous database was kept in {p}.", p=previous))


@click.command(help=tr(
    "Borra los mensajes originales y las respuestas de los pacientes dados de alta hace más "
    "de [retention] days días; los colores y fechas de los reportes se conservan para la "
    "estadística. El servicio lo hace cada día.\n\n"
    "Ejemplo: mailtriage retention --dry-run",
    "Purge the raw messages and answers of patients discharged more than [retention] days "
    "days ago; the reports' colors and dates stay for statistics. The service does this daily.\n\n"
    "Example: mailtriage retention --dry-run"))
@click.option("--days", type=PositiveCount(tr("DÍAS", "DAYS")),
              help=tr("Días tras el alta, en lugar de [retention] days.",
                      "Days after discharge, instead of [retention] days."))
@click.option("--dry-run", is_flag=True,
              help=tr("Solo muestra lo que se borraría.", "Only show what would be purged."))
@pass_app
def retention(app, days, dry_run):
    from mailtriage.mailtemplates import format_date
    from mailtriage.retention import purge_expired

    app.database
    summary = purge_expired(app.config, dry_run=dry_run, days=days)
    verb = tr("Se borrarían", "Would purge") if dry_run else tr("Se borraron", "Purged")
    click.echo(tr(
        "{verb}: {raw} mensajes originales, {reports} reportes, {calls} entradas de la lista de "
        "llamadas y {outbox} correos enviados, de {patients} pacientes dados de alta antes del {d}.",
        "{verb}: {raw} raw messages, {reports} reports, {calls} call list entries and {outbox} "
        "sent emails, of {patients} patients discharged before {d}.",
        verb=verb, raw=summary.raw_messages, reports=summary.reports,
        calls=summary.call_list_entries, outbox=summary.outbox_messages,
        patients=summary.patients, d=format_date(summary.cutoff.date(), app.config.language)))
