"""`mailtriage export`: lists for staff as CSV or XLSX files."""

import sys
from pathlib import Path

import click

from mailtriage.cli.choices import NamedChoice
from mailtriage.cli.common import pass_app
from mailtriage.cli.dates import LocalDate
from mailtriage.display_names import EXPORT_ROW_NAMES
from mailtriage.i18n import tr

# Below this many rows an export finishes too fast for a progress bar to help.
PROGRESS_MIN_ROWS = 500
# The extension of --output for each file format.
EXTENSIONS = {".csv": "csv", ".xlsx": "xlsx"}


@click.command(help=tr(
    "Exporta reportes por semáforo (--color), los pacientes sin reporte de hoy (--non-reporting) "
    "o la historia completa (--history) a CSV o XLSX. El archivo se crea solo legible por su "
    "dueño.\n\nEjemplo: mailtriage export --color amarillo,rojo --since 2026-12-01 "
    "--format xlsx --output llamadas.xlsx",
    "Export reports by color (--color), the patients without a report today (--non-reporting) "
    "or the full history (--history) as CSV or XLSX. The file is created readable by its owner "
    "only.\n\nExample: mailtriage export --color yellow,red --since 2026-12-01 --format xlsx "
    "--output calls.xlsx"))
@click.option("--color", "colors", metavar=tr("COLORES", "COLORS"),
              help=tr("Semáforos separados por comas: verde, amarillo, rojo.",
                      "Colors separated by commas: green, yellow, red."))
@click.option("--non-reporting", is_flag=True,
              help=tr("Pacientes en seguimiento que hoy no han reportado.",
                      "Patients under monitoring who have not reported today."))
@click.option("--history", is_flag=True,
              help=tr("Todos los reportes, llamadas y recordatorios.", "Every report, call and reminder."))
@click.option("--since", type=LocalDate(day_first=True),
              help=tr("Desde esta fecha local (AAAA-MM-DD o DD/MM/AAAA).",
                      "From this local date (YYYY-MM-DD or DD/MM/YYYY)."))
@click.option("--format", "file_format", type=click.Choice(["csv", "xlsx"]), default=None,
              help=tr("Formato del archivo; por omisión, la extensión de --output (.csv o .xlsx), "
                      "o csv.", "File format; default: the extension of --output (.csv or .xlsx), "
                      "or csv."))
@click.option("--per", type=NamedChoice(EXPORT_ROW_NAMES), default="report",
              help=tr("Una fila por reporte o por paciente (con su último reporte). Por omisión: "
                      "reporte.", "One row per report, or per patient (with the latest report). "
                      "Default: report."))
@click.option("--output", "-o", default="-", metavar=tr("ARCHIVO", "FILE"),
              help=tr("Archivo de salida; «-» escribe en la salida estándar.",
                      "Output file; '-' writes to standard output."))
@click.option("--staff", metavar=tr("NOMBRE", "NAME"),
              help=tr("Quién exporta (por omisión, el usuario del sistema).",
                      "Who exports (default: the operating-system user)."))
@pass_app
def export(app, colors, non_reporting, history, since, file_format, per, output, staff):
    from mailtriage import audit
    from mailtriage.export import ExportError, render, write_private

    app.database
    kinds = [name for name, chosen in (("color", colors), ("non_reporting", non_reporting),
                                       ("history", history)) if chosen]
    if len(kinds) != 1:
        raise ExportError(tr("indique una sola de --color, --non-reporting o --history",
                             "give exactly one of --color, --non-reporting or --history"))

    file_format = choose_format(file_format, output)
    table = build_table(kinds[0], colors, since.date() if since else None, per)
    content = render_with_progress(table, file_format, render)

    if output == "-":
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
    else:
        write_private(Path(output), content)
        click.echo(tr("{n} fila(s) escritas en {f}.", "{n} row(s) written to {f}.",
                      n=len(table.rows), f=output), err=True)
    audit.record(audit.current_actor(staff), audit.EXPORT, None, dataset=kinds[0],
                 colors=colors or "", format=file_format, per=per, rows=len(table.rows),
                 output=output)


def choose_format(file_format: str | None, output: str) -> str:
    """Return the file format from --format or the extension of --output, and reject a mismatch."""
    from mailtriage.export import ExportError

    suffix = Path(output).suffix.lower() if output != "-" else ""
    if suffix and suffix not in EXTENSIONS:
        raise ExportError(tr(
            "{f}: extensión no válida «{x}»; la exportación se escribe como .csv o .xlsx",
            "{f}: invalid extension '{x}'; the export is written as .csv or .xlsx",
            f=output, x=suffix))
    from_suffix = EXTENSIONS.get(suffix)
    if file_format and from_suffix and file_format != from_suffix:
        raise ExportError(tr(
            "--format {fmt} no coincide con la extensión de {f}; cambie uno de los dos",
            "--format {fmt} does not match the extension of {f}; change one of them",
            fmt=file_format, f=output))
    return file_format or from_suffix or "csv"


def build_table(kind: str, colors: str | None, since, per: str):
    from mailtriage.export import export_history, export_non_reporting, export_reports, parse_colors

    if kind == "color":
        return export_reports(parse_colors(colors), since, per)
    if kind == "non_reporting":
        return export_non_reporting()
    return export_history(since)


def render_with_progress(table, file_format: str, render):
    if not sys.stderr.isatty() or len(table.rows) < PROGRESS_MIN_ROWS:
        return render(table, file_format)
    with click.progressbar(length=len(table.rows), label=tr("Exportando", "Exporting"),
                           file=sys.stderr) as bar:
        return render(table, file_format, progress=bar.update)
