"""`mailtriage calls`: the call list, and logging the calls that close it."""

import click

from mailtriage.cli.common import pass_app
from mailtriage.i18n import tr


@click.group(help=tr("Lista de llamadas: a quién llamar ahora y el registro de cada llamada.",
                     "Call list: who to phone now, and the record of each call."))
def calls():
    pass


# The rank of priority N on the call list. Messages to review are shown
# before it, because a red sign may be in them.
NORMAL_RANK = 2


@calls.command("list", help=tr(
    "Muestra a quién hay que llamar ahora: primero las confirmaciones de llegada a Urgencias "
    "(rojo), luego prioridad alta, luego los mensajes por revisar (respuestas de pacientes que "
    "no se pudieron leer como reporte) y los correos no entregados a pacientes, y al final "
    "prioridad normal; dentro de cada grupo, quien lleva más tiempo esperando.\n\n"
    "Ejemplo: mailtriage calls list",
    "Show who must be phoned now: arrival confirmations for Urgencias (red) first, then "
    "high priority, then the messages to review (patients' replies that could not be read as "
    "a report) and the emails that could not be delivered to patients, then normal priority; "
    "longest wait first within each group.\n\n"
    "Example: mailtriage calls list"))
@pass_app
def list_calls(app):
    from mailtriage.calls import call_list, messages_to_review
    from mailtriage.undelivered import undelivered_mail

    app.database
    waiting = call_list()
    reviews = messages_to_review()
    undelivered = undelivered_mail()
    if not waiting and not reviews and not undelivered:
        click.echo(tr("No hay llamadas pendientes.", "No calls pending."))
        return

    for item in waiting:
        if item.rank < NORMAL_RANK:
            click.echo(format_waiting(item))
    if reviews:
        click.echo(format_reviews(reviews))
    if undelivered:
        click.echo(format_undelivered(undelivered))
    for item in waiting:
        if item.rank >= NORMAL_RANK:
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


def review_kind_label(kind: str) -> str:
    labels = {
        "unknown_folio": tr("folio desconocido", "unknown folio"),
        "folio_mismatch": tr("folio de otro paciente", "another patient's folio"),
        "oversize": tr("mensaje demasiado grande o complejo para leerlo",
                       "message too large or too complex to read"),
    }
    return labels.get(kind, kind)


def discharged_mark(patient) -> str:
    return tr(" (alta)", " (discharged)") if patient.status == "discharged" else ""


def format_reviews(messages) -> str:
    """Return the section of messages to review, one line per message, with how to close them."""
    from mailtriage.patients_view import local_time

    lines = [tr("[Mensajes por revisar] Respuestas de pacientes que no se leyeron como reporte; "
                "pueden esconder un signo de alarma:",
                "[Messages to review] Patients' replies that were not read as a report; "
                "they may hide an alarm sign:")]
    for message in messages:
        patient = message.sender_patient
        lines.append("    - " + tr(
            "Mensaje {m}, recibido {fecha}: {tipo}; paciente {id}: {nombre}{alta}, tel. {tel}",
            "Message {m}, received {fecha}: {tipo}; patient {id}: {nombre}{alta}, phone {tel}",
            m=message.id, fecha=local_time(message.received_at, patient.unit.timezone),
            tipo=review_kind_label(message.kind), id=patient.id, nombre=patient.full_name,
            alta=discharged_mark(patient), tel=patient.phone))
    lines.append("    " + tr(
        "Ciérrelos con «mailtriage calls log ID_PACIENTE» o «mailtriage calls dismiss ID_MENSAJE --note …».",
        "Close them with 'mailtriage calls log PATIENT_ID' or 'mailtriage calls dismiss MESSAGE_ID --note …'."))
    return "\n".join(lines)


def format_undelivered(rows) -> str:
    """Return the section of failed mail to patients, one line per email, with how to close it."""
    from mailtriage.display_names import MAIL_KIND_NAMES, display_name
    from mailtriage.patients_view import local_time

    lines = [tr("[Correos no entregados] El servidor rechazó estos correos a pacientes; "
                "confirme la dirección con el paciente:",
                "[Undelivered emails] The server rejected these emails to patients; "
                "check the address with the patient:")]
    for row in rows:
        patient = row.patient
        lines.append("    - " + tr(
            "Correo {m} ({tipo}) del {fecha}; paciente {id}: {nombre}, tel. {tel}; "
            "corríjalo con «mailtriage patients edit {id} --email …»",
            "Email {m} ({tipo}) of {fecha}; patient {id}: {nombre}, phone {tel}; "
            "correct it with 'mailtriage patients edit {id} --email …'",
            m=row.id, tipo=display_name(MAIL_KIND_NAMES, row.kind),
            fecha=local_time(row.created_at, patient.unit.timezone),
            id=patient.id, nombre=patient.full_name, tel=patient.phone))
    lines.append("    " + tr(
        "Una llamada que hable con el paciente («mailtriage calls log ID_PACIENTE») también los "
        "cierra; «mailtriage outbox retry ID_CORREO» los reenvía.",
        "A call that reaches the patient ('mailtriage calls log PATIENT_ID') also closes them; "
        "'mailtriage outbox retry EMAIL_ID' sends them again."))
    return "\n".join(lines)


def format_waiting(item) -> str:
    """Return the block of text for one patient on the call list."""
    from mailtriage import clock
    from mailtriage.patients_view import local_time

    patient = item.patient
    hours = (clock.now() - item.waiting_since).total_seconds() / 3600
    lines = [
        f"[{rank_label(item.rank)}] " + tr(
            "Paciente {id}: {nombre}{alta} ({unidad}), tel. {tel}; espera desde {desde} ({h:.1f} h); "
            "intentos sin respuesta: {n}",
            "Patient {id}: {nombre}{alta} ({unidad}), phone {tel}; waiting since {desde} ({h:.1f} h); "
            "unanswered attempts: {n}",
            id=patient.id, nombre=patient.full_name, alta=discharged_mark(patient),
            unidad=patient.unit.code, tel=patient.phone,
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
    from mailtriage.display_names import CALL_OUTCOME_NAMES, display_name

    app.database
    call, closed = log_call(patient_id, outcome, note, current_actor(staff), report_id)
    click.echo(tr("Llamada {c} registrada ({o}); entradas cerradas: {n}.",
                  "Call {c} recorded ({o}); entries closed: {n}.",
                  c=call.id, o=display_name(CALL_OUTCOME_NAMES, call.outcome), n=len(closed)))


@calls.command("dismiss", help=tr(
    "Cierra la revisión del mensaje ID de la sección «Mensajes por revisar» sin llamar al "
    "paciente, con una nota que dice por qué. Queda en la auditoría.\n\n"
    "Ejemplo: mailtriage calls dismiss 311 --note \"Reenvío del cuestionario sin respuestas\"",
    "Close the review of message ID in the 'Messages to review' section without calling the "
    "patient, with a note saying why. The audit trail records it.\n\n"
    "Example: mailtriage calls dismiss 311 --note \"Forwarded questionnaire without answers\""))
@click.argument("message_id", metavar="ID", type=int)
@click.option("--note", required=True, help=tr("Por qué el mensaje no requiere llamada.",
                                               "Why the message needs no call."))
@click.option("--staff", metavar=tr("NOMBRE", "NAME"),
              help=tr("Quién lo revisó (por omisión, el usuario del sistema).",
                      "Who reviewed it (default: the operating-system user)."))
@pass_app
def dismiss_command(app, message_id, note, staff):
    from mailtriage.audit import current_actor
    from mailtriage.calls import dismiss_message

    app.database
    message = dismiss_message(message_id, note, current_actor(staff))
    click.echo(tr("Mensaje {m} revisado; sale de la lista.", "Message {m} reviewed; it leaves the list.",
                  m=message.id))
