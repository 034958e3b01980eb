"""`mailtriage parse`: read a saved message (or a folder of them) as the daemon would."""

import json
from pathlib import Path

import click

from mailtriage.cli.common import pass_app
from mailtriage.cli.dates import PositiveCount
from mailtriage.contracts import ANSWER, Match
from mailtriage.errors import MailtriageError
from mailtriage.i18n import describe_os_error, tr
from mailtriage.questions import ALL_KEYS, DEFAULT_QUESTIONS, describe_questions, question_number


@click.command(help=tr(
    "Lee un mensaje guardado (.eml) como lo haría el servicio: tipo, folio, paciente, "
    "respuestas leídas, sin contestar e ilegibles. Con una carpeta, resume cuántos mensajes "
    "se leyeron completos, en parte o nada.\n\nEjemplo: mailtriage parse respuesta.eml --json",
    "Read a saved message (.eml) as the daemon would: kind, folio, patient, answers read, "
    "unanswered and unreadable. On a folder, summarise how many messages were read fully, "
    "partly or not at all.\n\nExample: mailtriage parse reply.eml --json"))
@click.argument("path", type=click.Path(exists=True, path_type=Path), metavar=tr("MENSAJE", "MESSAGE"))
@click.option("--json", "as_json", is_flag=True,
              help=tr("Imprime el resultado en JSON.", "Print the result as JSON."))
@click.option("--no-store", is_flag=True,
              help=tr("No abre la base de datos: informa solo lo que muestra el mensaje.",
                      "Do not open the database: report only what the message itself shows."))
@click.option("--max-bytes", type=PositiveCount(),
              help=tr("Tamaño máximo de mensaje en bytes (por omisión, max_message_bytes de la "
                      "configuración).",
                      "Maximum message size in bytes (default: the config's max_message_bytes)."))
@pass_app
def parse(app, path, as_json, no_store, max_bytes):
    limit = max_bytes or app.config.max_message_bytes
    directory = None
    if not no_store:
        from mailtriage.matching import StoreDirectory

        app.database
        directory = StoreDirectory()

    if path.is_dir():
        _summarise_folder(path, limit, directory, as_json)
        return
    result = read_file(path, limit, directory)
    click.echo(json.dumps(result, ensure_ascii=False, indent=2) if as_json else describe(result))


def read_file(path: Path, max_bytes: int, directory) -> dict:
    """Parse and, with a directory, match one message file.

    Returns the fields of the corpus's expected.json files: kind, folio, patient,
    matched_by, answers, unanswered, unreadable and unreadable_detail.
    """
    from mailtriage.matching import match_reading
    from mailtriage.parser import parse_message

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise MailtriageError(tr("{f}: no se pudo leer el mensaje ({why})", "{f}: cannot read the message ({why})",
                                 f=path, why=describe_os_error(exc))) from exc
    reading = parse_message(raw, max_bytes)
    if directory is None:
        match = Match(kind=reading.kind, folio=reading.folio)
    else:
        match = match_reading(reading, directory)
    is_answer = match.kind == ANSWER
    result = {
        "kind": match.kind,
        "folio": match.folio if directory is not None else reading.folio,
        "patient": match.patient_id,
        "matched_by": match.matched_by,
        "answers": reading.answers if is_answer else {},
        "unanswered": reading.unanswered if is_answer else [],
        "unreadable": [key for key in ALL_KEYS if key in reading.unreadable] if is_answer else [],
    }
    if is_answer and reading.unreadable:
        result["unreadable_detail"] = {key: {"raw": item.raw, "why": item.why}
                                       for key, item in reading.unreadable.items()}
    return result


def describe(result: dict) -> str:
    """Return a readable summary of one parse result, in the active language."""
    by_key = {question.key: question for question in DEFAULT_QUESTIONS}
    lines = [tr("Tipo: {kind}", "Kind: {kind}", kind=kind_label(result["kind"])),
             tr("Folio: {folio}", "Folio: {folio}", folio=result["folio"] or "-"),
             tr("Paciente: {patient}", "Patient: {patient}", patient=result["patient"] or "-")]
    if result["matched_by"]:
        lines.append(tr("Identificado por: {rule}", "Matched by: {rule}", rule=result["matched_by"]))

    for key, value in result["answers"].items():
        name = by_key[key].short_name()
        lines.append(f"  {question_number(key)}. {name}: {format_value(key, value)}")
    if result["unanswered"]:
        lines.append(tr("Sin contestar: {questions}", "Unanswered: {questions}",
                        questions=describe_questions(result["unanswered"])))
    for key, detail in result.get("unreadable_detail", {}).items():
        lines.append(tr("No se pudo leer {question}: «{raw}» ({why})",
                        "Could not read {question}: “{raw}” ({why})",
                        question=describe_questions([key]), raw=detail["raw"],
                        why=why_label(detail["why"])))
    return "\n".join(lines)


def kind_label(kind: str) -> str:
    labels = {
        "answer": tr("respuesta", "answer"),
        "autoreply": tr("respuesta automática", "automatic reply"),
        "bounce": tr("rebote (no entregado)", "bounce (not delivered)"),
        "unknown_sender": tr("remitente desconocido", "unknown sender"),
        "unknown_folio": tr("folio inexistente", "unknown folio"),
        "folio_mismatch": tr("folio de otro paciente", "folio of another patient"),
        "oversize": tr("mensaje demasiado grande", "message too large"),
    }
    return labels.get(kind, kind)


def why_label(why: str) -> str:
    labels = {
        "not_yes_no": tr("no es sí ni no", "not yes or no"),
        "not_a_number": tr("no es un número", "not a number"),
        "not_a_choice": tr("no es una de las opciones", "not one of the choices"),
        "out_of_range": tr("fuera de rango", "out of range"),
        "ambiguous": tr("ambiguo", "ambiguous"),
        "conflicting": tr("respuestas contradictorias", "conflicting answers"),
    }
    return labels.get(why, why)


def format_value(key: str, value) -> str:
    """Return an answer as staff read it: sí/no, the letter of item 10, °C, %, the trend word."""
    if isinstance(value, bool):
        return tr("sí", "yes") if value else tr("no", "no")
    if key == "dyspnea_level":
        return "ABCD"[value]
    if key == "temperature_c":
        return f"{value} °C"
    if key == "spo2":
        return f"{value} %"
    if key == "overall_trend":
        words = {"better": tr("mejor", "better"), "same": tr("igual", "same"), "worse": tr("peor", "worse")}
        return words.get(value, value)
    return str(value)


def _summarise_folder(folder: Path, max_bytes: int, directory, as_json: bool) -> None:
    counts = {"full": 0, "partial": 0, "none": 0, "not_answer": 0}
    for path in sorted(folder.rglob("*.eml")):
        result = read_file(path, max_bytes, directory)
        counts[_completeness(result)] += 1
    if as_json:
        click.echo(json.dumps(counts, indent=2))
        return
    click.echo(tr("Leídos completos: {full}\nLeídos en parte: {partial}\nNada leído: {none}\n"
                  "No son respuestas: {not_answer}",
                  "Read fully: {full}\nRead partly: {partial}\nNothing read: {none}\n"
                  "Not answers: {not_answer}", **counts))


def _completeness(result: dict) -> str:
    if result["kind"] != ANSWER:
        return "not_answer"
    if not result["answers"]:
        return "none"
    return "partial" if result["unreadable"] else "full"
