"""The demo: the whole pipeline on invented patients, in a temporary directory.

`python -m mailtriage.demo` (or `make demo`) enrols the patients of
``mailtriage/data/demo/patients.json`` in two units and issues their
questionnaires. It drops their replies into a local Maildir and runs one
pass. Then it prints each patient's color and reasons, one reply as the
patient reads it, and the yellow and red list. Nothing leaves the machine,
because the "SMTP" side is the built-in Maildir sink.
"""

import argparse
import json
import mailbox
import shutil
import sys
import tempfile
import textwrap
from datetime import date, datetime, time, timedelta
from email.utils import make_msgid
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

from mailtriage import clock
from mailtriage.config import build_config
from mailtriage.contracts import (
    AMARILLO, AUTOREPLY, BOUNCE, FOLIO_MISMATCH, OVERSIZE, ROJO, UNKNOWN_FOLIO, UNKNOWN_SENDER,
)
from mailtriage.i18n import set_language, tr

MONITORING_ADDRESS = "automonitoreo@salud.example.mx"
DEMO_TIMEZONE = "America/Mazatlan"
# The demo's morning: questionnaires at 08:30, replies from 09:05, the pass at 10:30.
ISSUE_AT = time(8, 30)
FIRST_REPLY_AT = time(9, 5)
PASS_AT = time(10, 30)
REASONS_WIDTH = 50


def load_scenario() -> dict:
    text = resources.files("mailtriage").joinpath("data", "demo", "patients.json").read_text("utf-8")
    return json.loads(text)


def demo_config(root: Path, units: list[dict]):
    """Return the embedded default's config, rooted in ``root``, with the demo's units."""
    return build_config({
        "general": {"language": "es"},
        "database": {"url": f"sqlite:///{root / 'mailtriage.db'}"},
        "mailbox": {"url": f"maildir://{root / 'Maildir'}"},
        "smtp": {"url": f"maildir://{root / 'Enviados'}",
                 "from": f"Automonitoreo COVID-19 <{MONITORING_ADDRESS}>"},
        "schedule": {"timezone": DEMO_TIMEZONE},
        "units": units,
    }, None)


def at_local(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, tzinfo=ZoneInfo(DEMO_TIMEZONE))


def enrol_patients(config, patients: list[dict], today: date) -> list:
    """Enrol every patient of the scenario; enrolment issues the first questionnaire."""
    from mailtriage.enrolment import enrol_patient, validate_profile

    enrolled = []
    for entry in patients:
        raw = {key: value for key, value in entry.items() if key not in ("reply", "onset_days_ago")}
        raw["onset_date"] = (today - timedelta(days=entry["onset_days_ago"])).isoformat()
        profile = validate_profile(raw, config, today=today)
        enrolled.append(enrol_patient(profile, config, actor="demo"))
    return enrolled


def drop_replies(config, patients: list, scenario: list[dict], today: date) -> list[str]:
    """Write each patient's reply into the Maildir and return the replies' Message-IDs."""
    from mailtriage.demo_replies import build_reply
    from mailtriage.folios import format_folio
    from mailtriage.questionnaires import latest_issuance

    inbox = mailbox.Maildir(config.mailbox.path, create=True)
    message_ids = []
    for number, (patient, entry) in enumerate(zip(patients, scenario)):
        issuance = latest_issuance(patient)
        questionnaire = issuance.outbox.first()
        sent = issuance.created_at.astimezone(ZoneInfo(DEMO_TIMEZONE))
        values = {
            "first_name": patient.first_name, "name": patient.full_name, "email": patient.email,
            "monitoring_address": MONITORING_ADDRESS, "folio": format_folio(issuance.folio),
            "subject": questionnaire.subject, "questionnaire_message_id": issuance.message_id,
            "message_id": make_msgid(domain=patient.email.rpartition("@")[2]),
        }
        written = at_local(today, FIRST_REPLY_AT) + timedelta(minutes=9 * number)
        inbox.add(build_reply(entry["reply"]["client"], entry["reply"]["body"], values, sent, written))
        message_ids.append(values["message_id"])
    return message_ids


def patient_rows(patients: list, scenario: list[dict], message_ids: list[str]) -> list[list[str]]:
    """Return one row per patient: name, unit, mail client, color and reasons."""
    from mailtriage.models import InboundMessage, Report
    from mailtriage.patients_view import color_name

    rows = []
    for patient, entry, message_id in zip(patients, scenario, message_ids):
        report = Report.select().where(Report.patient == patient).order_by(Report.id.desc()).first()
        if report is not None:
            reasons = "; ".join(hit["reason"] for hit in report.hits) or tr(
                "sin signos de alarma ni motivos de llamada", "no alarm sign and no reason to call")
            color = color_name(report.color) + (f" ({report.priority})" if report.priority else "")
        else:
            inbound = InboundMessage.get_or_none(InboundMessage.message_id == message_id)
            color = tr("sin reporte", "no report")
            reasons = tr("{kind}: se registró y no se contestó", "{kind}: recorded, no reply sent",
                         kind=kind_name(inbound.kind if inbound else ""))
        rows.append([patient.full_name, patient.unit.code, entry["reply"]["label"], color, reasons])
    return rows


def kind_name(kind: str) -> str:
    """Name a message kind that is not an answer the way staff say it."""
    names = {
        AUTOREPLY: tr("respuesta automática", "automatic reply"),
        BOUNCE: tr("aviso de no entrega", "bounce"),
        UNKNOWN_SENDER: tr("remitente desconocido", "unknown sender"),
        UNKNOWN_FOLIO: tr("folio inexistente", "unknown folio"),
        FOLIO_MISMATCH: tr("folio de otro paciente", "another patient's folio"),
        OVERSIZE: tr("mensaje demasiado grande", "message too large"),
    }
    return names.get(kind, kind or "?")


def format_table(headers: list[str], rows: list[list[str]], wrap_last: int | None = None) -> str:
    """Lay out rows as a plain-text table; the last column wraps at ``wrap_last`` characters."""
    wrapped = []
    for row in rows:
        last = textwrap.wrap(str(row[-1]), wrap_last) if wrap_last else [str(row[-1])]
        wrapped.append([str(cell) for cell in row[:-1]] + [last or [""]])
    widths = [max([len(headers[i])] + [len(row[i]) for row in wrapped]) for i in range(len(headers) - 1)]

    def line(cells, last):
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths)) + "  " + last

    out = [line(headers[:-1], headers[-1]), "-" * (sum(widths) + 2 * len(widths) + (wrap_last or 20))]
    for row in wrapped:
        out.append(line(row[:-1], row[-1][0]))
        out.extend(line([""] * len(widths), more) for more in row[-1][1:])
    return "\n".join(out)


def shown_reply() -> str:
    """Return the most urgent reply sent, as the patient reads it: headers and text."""
    from mailtriage.models import OutboxMessage, Report

    for color in (ROJO, AMARILLO):
        report = Report.select().where(Report.color == color).order_by(Report.id).first()
        reply = report and OutboxMessage.get_or_none((OutboxMessage.report == report)
                                                     & (OutboxMessage.kind == "reply"))
        if reply is not None:
            header = tr("Para: {to}\nAsunto: {subject}\n", "To: {to}\nSubject: {subject}\n",
                        to=reply.to_address, subject=reply.subject)
            return header + "\n" + reply.body_text.rstrip()
    return tr("(no se envió ninguna respuesta amarilla o roja)", "(no yellow or red reply was sent)")


def call_list_table(today: date) -> str:
    from mailtriage.export import export_reports

    table = export_reports([ROJO, AMARILLO], since=today, per="patient")
    shown_columns = (tr("Paciente", "Patient"), tr("Unidad", "Unit"), tr("Teléfono", "Phone"),
              tr("Semáforo", "Color"), tr("Prioridad", "Priority"), tr("Motivos", "Reasons"))
    columns = [table.headers.index(name) for name in shown_columns]
    rows = sorted(([str(row[i]) for i in columns] for row in table.rows),
                  key=lambda row: (row[3] != tr("rojo", "red"), row[4] != "A", row[0]))
    return format_table(list(shown_columns), rows, wrap_last=REASONS_WIDTH)


def run_demo(root: Path) -> None:
    from mailtriage.daemon import open_store, run_once
    from mailtriage.outbox import send_pending

    scenario = load_scenario()
    config = demo_config(root, scenario["units"])
    today = clock.now().astimezone(ZoneInfo(DEMO_TIMEZONE)).date()

    clock.set_now(at_local(today, ISSUE_AT))
    open_store(config)
    patients = enrol_patients(config, scenario["patients"], today)
    send_pending(config)

    message_ids = drop_replies(config, patients, scenario["patients"], today)
    clock.set_now(at_local(today, PASS_AT))
    summary = run_once(config)

    rows = patient_rows(patients, scenario["patients"], message_ids)
    print_results(rows, summary, today, root)


def print_results(rows: list[list[str]], summary, today: date, root: Path) -> None:
    from mailtriage.cli.mailcmds import describe_pass

    print(tr("== Demostración de mailtriage ({d}) ==", "== mailtriage demo ({d}) ==", d=today.isoformat()))
    print(tr("Buzón, base de datos y correos enviados en {p}", "Mailbox, database and sent mail in {p}",
             p=root))
    print()
    print(describe_pass(summary))
    print()
    print(tr("== Semáforo de cada paciente ==", "== Each patient's color =="))
    headers = [tr("Paciente", "Patient"), tr("Unidad", "Unit"), tr("Correo", "Mail client"),
               tr("Semáforo", "Color"), tr("Motivos", "Reasons")]
    print(format_table(headers, rows, wrap_last=REASONS_WIDTH))
    print()
    print(tr("== Una respuesta, como la lee el paciente ==", "== One reply, as the patient reads it =="))
    print(shown_reply())
    print()
    print(tr("== Lista de amarillos y rojos (a quién llamar) ==", "== Yellow and red list (whom to call) =="))
    print(call_list_table(today))


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m mailtriage.demo",
        description=tr("Ejecuta mailtriage con pacientes inventados en un directorio temporal.",
                       "Run mailtriage on invented patients in a temporary directory."))
    parser.add_argument("--english", action="store_true",
                        help=tr("Muestra la salida en inglés.", "Show the output in English."))
    parser.add_argument("--keep", action="store_true",
                        help=tr("Conserva el directorio temporal para revisarlo.",
                                "Keep the temporary directory for inspection."))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    set_language("en" if arguments.english else "es")
    root = Path(tempfile.mkdtemp(prefix="mailtriage-demo-"))
    try:
        run_demo(root)
    finally:
        clock.set_now(None)
        if arguments.keep:
            print(tr("Se conservó {p}.", "{p} was kept.", p=root))
        else:
            shutil.rmtree(root, ignore_errors=True)
            print(tr("Se borró {p}; para revisarlo, ejecute «python -m mailtriage.demo --keep» "
                     "(o «make demo DEMO_ARGS=--keep»).",
                     "{p} was removed; to inspect it, run 'python -m mailtriage.demo --keep' "
                     "(or 'make demo DEMO_ARGS=--keep').", p=root))
    return 0


if __name__ == "__main__":
    sys.exit(main())
