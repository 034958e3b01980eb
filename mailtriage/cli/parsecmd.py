"""`mailtriage parse`: read a saved message (or a folder of them) as the daemon would."""

import json
from pathlib import Path

import click

from mailtriage.cli.common import pass_app
from mailtriage.contracts import ANSWER, Match
from mailtriage.i18n import tr
from mailtriage.questions import question_number


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
@click.option("--max-bytes", type=click.IntRange(min=1), metavar="N",
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
    """Parse and, with a directory, match one message file; return the expected.json shape."""
    from mailtriage.matching import match_reading
    from mailtriage.parser import parse_message

    reading = parse_message(path.read_bytes(), max_bytes)
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
        "unreadable": sorted(reading.unreadable) if is_answer else [],
    }
    if is_answer and reading.unreadable:
        result["unreadable_detail"] = {key: {"raw": item.raw, "why": item.why}
                                       for key, item in reading.unreadable.items()}
    return result


def describe(result: dict) -> str:
    """Return a readable summary of one parse result."""
    lines = [tr("Tipo: {kind}", "Kind: {kind}", kind=result["kind"]),
             tr("Folio: {folio}", "Folio: {folio}", folio=result["folio"] or "-"),
             tr("Paciente: {patient}", "Patient: {patient}", patient=result["patient"] or "-")]
    for key, value in result["answers"].items():
        lines.append(f"  {question_number(key)}. {key}: {value}")
    if result["unanswered"]:
        numbers = ", ".join(str(question_number(key)) for key in result["unanswered"])
        lines.append(tr("Sin contestar: {numbers}", "Unanswered: {numbers}", numbers=numbers))
    for key, detail in result.get("unreadable_detail", {}).items():
        lines.append(tr("Ilegible {number}: «{raw}» ({why})", "Unreadable {number}: “{raw}” ({why})",
                        number=question_number(key), raw=detail["raw"], why=detail["why"]))
    return "\n".join(lines)


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
