"""The mail commands: `poll` reads the mailbox once, `run` starts the daemon."""

import click

from mailtriage.cli.common import pass_app
from mailtriage.contracts import AMARILLO, ROJO, VERDE
from mailtriage.i18n import tr


@click.command(help=tr(
    "Lee el buzón una vez: clasifica y guarda cada respuesta nueva, contesta al paciente, "
    "envía los cuestionarios que tocan y la bandeja de salida.\n\n"
    "Ejemplo: mailtriage poll --once",
    "Read the mailbox once: triage and store each new reply, answer the patient, "
    "send the questionnaires that are due and the outbox.\n\n"
    "Example: mailtriage poll --once"))
@click.option("--once", is_flag=True, default=True,
              help=tr("Hace una sola pasada y termina (lo que hace siempre; para scripts).",
                      "Run one pass and exit (what it always does; for scripts)."))
@pass_app
def poll(app, once):
    from mailtriage.daemon import run_once

    app.database  # refuses a missing database instead of creating an empty one
    summary = run_once(app.config)
    click.echo(describe_pass(summary))


def describe_pass(summary) -> str:
    """Return the Spanish (or English) lines that sum up one pass."""
    if summary.busy:
        return tr("Otro proceso (probablemente el servicio) ya está leyendo el buzón; "
                  "esta pasada no hizo nada.",
                  "Another process (probably the service) is already reading the mailbox; "
                  "this pass did nothing.")
    colors = summary.reports
    lines = [
        tr("Mensajes leídos: {n}", "Messages read: {n}", n=summary.messages_read),
        tr("Reportes: {v} verde, {a} amarillo, {r} rojo", "Reports: {v} green, {a} yellow, {r} red",
           v=colors.get(VERDE, 0), a=colors.get(AMARILLO, 0), r=colors.get(ROJO, 0)),
        tr("No eran respuestas: {n}", "Not answers: {n}", n=summary.not_answers),
        tr("Ya registrados antes: {n}", "Already recorded: {n}", n=summary.already_recorded),
        tr("Con error (se reintentan): {n}", "Failed (retried later): {n}",
           n=summary.failed - summary.quarantined),
        tr("En cuarentena: {n}", "Quarantined: {n}", n=summary.quarantined),
        tr("Respuestas no enviadas por límite por hora: {n}", "Replies held back by the hourly limit: {n}",
           n=summary.replies_skipped),
        tr("Cuestionarios emitidos: {n}", "Questionnaires issued: {n}", n=summary.questionnaires_issued),
        tr("Correos enviados: {n}", "Emails sent: {n}", n=summary.sent),
    ]
    return "\n".join(lines)


@click.command(help=tr(
    "Inicia el servicio: lee el buzón cada poll_seconds, reintenta la bandeja de salida, "
    "envía los cuestionarios diarios y revisa a los pacientes sin reporte. Se detiene con "
    "Ctrl-C o SIGTERM después de terminar el mensaje en curso.\n\n"
    "Ejemplo: mailtriage --config /etc/mailtriage/mailtriage.toml run",
    "Start the service: read the mailbox every poll_seconds, retry the outbox, send the daily "
    "questionnaires and check for patients without a report. Ctrl-C or SIGTERM stops it "
    "after the message in hand.\n\n"
    "Example: mailtriage --config /etc/mailtriage/mailtriage.toml run"))
@pass_app
def run(app):
    from mailtriage.daemon import run_forever

    app.database  # refuses a missing database instead of creating an empty one
    run_forever(app.config)
