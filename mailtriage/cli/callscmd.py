"""`mailtriage calls`: the call list, and logging the calls that close it."""

import click

from mailtriage.cli.common import pass_app
from mailtriage.i18n import tr


@click.group(help=tr("Lista de llamadas: a quién llamar ahora y el registro de cada llamada.",
                     "Call list: who to phone now, and the record of each call."))
def calls():
    pass


@calls.command("list", help=tr(
    "Muestra a quién hay que llamar ahora: primero las confirmaciones de llegada a Urgencias "
    "(rojo), luego prioridad alta y normal, y dentro de cada grupo quien lleva más tiempo "
    "esperando.\n\nEjemplo: mailtriage calls list",
    "Show who must be phoned now: arrival confirmations for Urgencias (red) first, then "
    "high and normal priority, longest wait first within each group.\n\n"
    "Example: mailtriage calls list"))
@pass_app
def list_calls(app):
    from mailtriage.calls import call_list

    app.database
    waiting = call_list()
    if not waiting:
        click.echo(tr("No hay llamadas pendientes.", "No calls pending."))
        return
    for item in waiting:
        click.echo(format_waiting(item))


def rank_label(rank: int) -> str:
    labels = (tr("ROJO: confirmar llegada a Urgencias", "RED: confirm arrival at Urgencias"),
              tr("prioridad alta", "high priority"), tr("prioridad normal", "normal priority"))
    return labels[rank]


def rule_label(rule: str) -> str:
    labels = {
        "report": tr("reporte", "report"),
        "N1": tr("sin reporte 24 h", "no report for 24 h"),
        "N2": tr("sin contacto 48 h", "no contact for 48 h"),
        "N3": tr("escalar al médico responsable", "escalate to the responsible physician"),
        "N4": tr("rojo sin confirmar llegada", "red without confirmed arrival"),
    }
    return labels.get(rule, rule)


def format_waiting(item) -> str:
    """Return the block of text for one patient on the call list."""
    from mailtriage import clock
    from mailtriage.patients_view import local_time

    patient = item.patient
    hours = (clock.now() - item.waiting_since).total_seconds() / 3600
    lines = [
        f"[{rank_label(item.rank)}] " + tr(
            "Paciente {id}: {nombre} ({unidad}), tel. {tel}; espera desde {desde} ({h:.1f} h); "
            "intentos sin respuesta: {n}",
            "Patient {id}: {nombre} ({unidad}), phone {tel}; waiting since {desde} ({h:.1f} h); "
            "unanswered attempts: {n}",
            id=patient.id, nombre=patient.full_name, unidad=patient.unit.code, tel=patient.phone,
            desde=local_time(item.waiting_since, patient.unit.timezone), h=hours, n=item.attempts),
    ]
    if item.escalated:
        lines.append("    " + tr("Contacto alterno: {c}", "Alternative contact: {c}",
                                  c=patient.alt_contact or "-"))
    for entry in item.entries:
        reasons = "; ".join(entry.reasons) or "-"
        report = tr(" (reporte {r})", " (report {r})", r=entry.report_id) if entry.report_id else ""
        lines.append(f"    - {rule_label(entry.rule)}{report}: {reasons}")
    return "\n".join(lines)


@calls.command("log", help=tr(
    "Registra una llamada al paciente ID y cierra las entradas de la lista que su resultado cierra.\n\n"
    "Ejemplo: mailtriage calls log 12 --outcome contestada --note \"Se siente mejor\"",
    "Record a call to patient ID and close the call-list entries its outcome closes.\n\n"
    "Example: mailtriage calls log 12 --outcome answered --note \"Feels better\""))
@click.argument("patient_id", metavar="ID", type=int)
@click.option("--outcome", required=True, metavar=tr("RESULTADO", "OUTCOME"),
              help=tr("Resultado: contestada, sin_respuesta, buzon_de_voz, numero_equivocado, "
                      "enviado_a_urgencias, llego_a_urgencias, decision_medica, visita_domiciliaria "
                      "(o su nombre en inglés).",
                      "Outcome: answered, no_answer, voicemail, wrong_number, sent_to_er, "
                      "arrived_at_er, physician_decision, home_visit (or the Spanish name)."))
@click.option("--note", default="", help=tr("Nota de la llamada.", "Note on the call."))
@click.option("--report", "report_id", type=int, metavar="ID",
              help=tr("Reporte al que responde la llamada (opcional).",
                      "Report the call follows up (optional)."))
@click.option("--staff", metavar=tr("NOMBRE", "NAME"),
              help=tr("Quién llamó (por omisión, el usuario del sistema).",
                      "Who called (default: the operating-system user)."))
@pass_app
def log_call_command(app, patient_id, outcome, note, report_id, staff):
    from mailtriage.audit import current_actor
    from mailtriage.calls import log_call

    app.database
    call, closed = log_call(patient_id, outcome, note, current_actor(staff), report_id)
    click.echo(tr("Llamada {c} registrada ({o}); entradas cerradas: {n}.",
                  "Call {c} recorded ({o}); entries closed: {n}.",
                  c=call.id, o=call.outcome, n=len(closed)))
