"""`mailtriage rules` (test, check, show) and `mailtriage triage`: the rule set from the command line."""

import sys
from pathlib import Path

import click

from mailtriage.cli.common import pass_app
from mailtriage.cli.dates import OffsetDateTime
from mailtriage.i18n import describe_os_error, tr

COLOR_NAMES = {"verde": ("VERDE", "GREEN"), "amarillo": ("AMARILLO", "YELLOW"), "rojo": ("ROJO", "RED")}

_RULES_OPTION_HELP = tr(
    "Archivo de reglas a usar en lugar del configurado en [triage] rules_file.",
    "Rule file to use instead of the one set in [triage] rules_file.")


def _ruleset(app, rules_file: str | None):
    from mailtriage.ruleset import load_ruleset, ruleset_for

    return load_ruleset(rules_file) if rules_file else ruleset_for(app.config)


def failure_line(failure) -> str:
    """Write one failed or malformed case as one line."""
    if failure.malformed:
        return "✗ " + tr("caso {c} mal formado: {p}", "case {c} is malformed: {p}",
                         c=failure.case_id, p="; ".join(failure.differences))
    return f"✗ {failure.case_id}: " + "; ".join(failure.differences)


def color_name(color: str) -> str:
    spanish, english = COLOR_NAMES.get(color, (color, color))
    return tr(spanish, english)


@click.group(help=tr(
    "Prueba, valida y muestra las reglas de triage.",
    "Test, validate and show the triage rules."))
def rules():
    pass


@rules.command("test", help=tr(
    "Corre una tabla de casos (triage o sin reporte) contra las reglas y muestra cada diferencia.\n\n"
    "Ejemplo: mailtriage rules test casos.json --rules reglas-unidad.toml",
    "Run a case table (triage or non-reporting) against the rules and show every difference.\n\n"
    "Example: mailtriage rules test cases.json --rules unit-rules.toml"))
@click.argument("cases", metavar=tr("CASOS.json", "CASES.json"), type=click.Path(dir_okay=False))
@click.option("--rules", "rules_file", metavar=tr("ARCHIVO", "FILE"), help=_RULES_OPTION_HELP)
@pass_app
def test_cases(app, cases, rules_file):
    from mailtriage.rulecases import load_cases, run_cases

    ruleset = _ruleset(app, rules_file)
    table = load_cases(Path(cases))
    failures = run_cases(table, ruleset)
    for failure in failures:
        click.echo(failure_line(failure))

    click.echo(tr("{p} correctos, {f} fallidos", "{p} passed, {f} failed",
                  p=len(table) - len(failures), f=len(failures)))
    if failures:
        sys.exit(1)


@rules.command("check", help=tr(
    "Valida un archivo de reglas (por omisión, el configurado) sin arrancar el servicio, y corre contra él "
    "los casos clínicos de referencia incluidos en el programa. Un caso que da otro resultado es un aviso, "
    "no un error: un médico puede cambiar un umbral a propósito. Termina con 0 si las reglas son válidas, "
    "aun con avisos, y con 1 si hay un error.\n\n"
    "Ejemplo: mailtriage rules check reglas-unidad.toml",
    "Validate a rule file (by default, the configured one) without starting the service, and run the "
    "reference clinical cases shipped with the program against it. A case with another outcome is a "
    "warning, not an error: a physician may change a threshold on purpose. Exits with 0 when the rules are "
    "valid, even with warnings, and with 1 on an error.\n\n"
    "Example: mailtriage rules check unit-rules.toml"))
@click.argument("rules_file", metavar=tr("[ARCHIVO]", "[FILE]"), required=False)
@pass_app
def check(app, rules_file):
    from mailtriage.errors import RulesError
    from mailtriage.rulecases import run_packaged_cases

    try:
        ruleset = _ruleset(app, rules_file)
        total, differing = run_packaged_cases(ruleset)
    except RulesError as exc:
        click.echo(f"✗ {exc}")
        sys.exit(1)

    click.echo(tr("✓ {f}: reglas válidas (versión {v}; {n} reglas de triage, {m} sin reporte)",
                  "✓ {f}: valid rules (version {v}; {n} triage rules, {m} non-reporting)",
                  f=ruleset.source, v=ruleset.version, n=len(ruleset.rules), m=len(ruleset.nonreporting_rules)))
    if differing:
        click.echo(tr("⚠ {d} de {t} casos clínicos de referencia dan otro resultado con estas reglas; "
                      "confirme que cada cambio es intencional:",
                      "⚠ {d} of {t} reference clinical cases have another outcome with these rules; "
                      "confirm that each change is intended:", d=len(differing), t=total))
    for failure in differing:
        click.echo("⚠ " + failure_line(failure).removeprefix("✗ "))


@rules.command("show", help=tr(
    "Lista las reglas con su color, prioridad y descripción.\n\n"
    "Ejemplo: mailtriage rules show --inputs",
    "List the rules with their color, priority and description.\n\n"
    "Example: mailtriage rules show --inputs"))
@click.option("--rules", "rules_file", metavar=tr("ARCHIVO", "FILE"), help=_RULES_OPTION_HELP)
@click.option("--inputs", "show_inputs", is_flag=True, help=tr(
    "Lista también los datos que pueden usar las condiciones.",
    "Also list the inputs the conditions may use."))
@pass_app
def show(app, rules_file, show_inputs):
    ruleset = _ruleset(app, rules_file)
    click.echo(tr("Reglas {f}, versión {v}", "Rules {f}, version {v}", f=ruleset.source, v=ruleset.version))
    for rule in ruleset.rules + ruleset.nonreporting_rules:
        kind = color_name(rule.color) if rule.color else (tr("bandera", "flag") if rule.flag else "—")
        priority = f" {rule.priority}" if rule.priority else ""
        click.echo(f"{rule.id:4} {kind}{priority:2}  {rule.description}")

    if show_inputs:
        from mailtriage.ruleinputs import INPUTS, NONREPORTING_INPUTS, STAGED_INPUTS

        click.echo(tr("\nDatos de las reglas de triage:", "\nInputs of the triage rules:"))
        for name, meaning in {**INPUTS, **STAGED_INPUTS}.items():
            click.echo(f"  {name}: {meaning}")
        click.echo(tr("\nDatos de las reglas sin reporte:", "\nInputs of the non-reporting rules:"))
        for name, meaning in NONREPORTING_INPUTS.items():
            click.echo(f"  {name}: {meaning}")


@click.command(help=tr(
    "Clasifica un mensaje guardado para un paciente y muestra el color y sus razones; "
    "no guarda ni envía nada.\n\n"
    "Ejemplo: mailtriage triage respuesta.eml --patient 12",
    "Triage a saved message for a patient and show the color and its reasons; "
    "stores and sends nothing.\n\n"
    "Example: mailtriage triage reply.eml --patient 12"))
@click.argument("message", metavar=tr("MENSAJE.eml", "MESSAGE.eml"), type=click.Path(dir_okay=False))
@click.option("--patient", "patient_id", type=int, required=True,
              help=tr("Número del paciente registrado.", "Id of the enrolled patient."))
@click.option("--received-at", type=OffsetDateTime(),
              help=tr("Hora de llegada, con zona (ej. 2026-12-04T09:30-0600); por omisión, ahora.",
                      "Arrival time, with offset (e.g. 2026-12-04T09:30-0600); default: now."))
@click.option("--rules", "rules_file", metavar=tr("ARCHIVO", "FILE"), help=_RULES_OPTION_HELP)
@pass_app
def triage(app, message, patient_id, received_at, rules_file):
    ruleset = _ruleset(app, rules_file)
    app.database
    result = triage_message(app.config, Path(message), patient_id, received_at, ruleset)
    print_result(result)



def triage_message(config, message: Path, patient_id: int, received_at, ruleset):
    """Parse a saved message and triage it against the stored patient and history."""
    from mailtriage import clock
    from mailtriage.contracts import ANSWER
    from mailtriage.errors import MailtriageError, NotFoundError
    from mailtriage.models import Patient
    from mailtriage.parser import parse_message
    from mailtriage.rules import triage as triage_report
    from mailtriage.triage_inputs import history_for, profile_for

    try:
        raw = message.read_bytes()
    except OSError as exc:
        raise MailtriageError(tr("{f}: no se pudo leer el mensaje ({why})", "{f}: cannot read the message ({why})",
                                 f=message, why=describe_os_error(exc))) from exc
    reading = parse_message(raw, config.max_message_bytes)
    if reading.kind != ANSWER:
        raise MailtriageError(tr("{f}: no es una respuesta al cuestionario ({k}); no se clasifica",
                                 "{f}: not an answer to the questionnaire ({k}); not triaged",
                                 f=message, k=reading.kind))

    patient = Patient.get_or_none(Patient.id == patient_id)
    if patient is None:
        raise NotFoundError(tr("no existe el paciente {id}; búsquelo con «mailtriage patients list»",
                               "patient {id} not found; look it up with 'mailtriage patients list'", id=patient_id))
    unit = config.unit(patient.unit.code)
    arrival = received_at or clock.now()
    local_date = clock.local_date(arrival, unit.timezone if unit else patient.unit.timezone)

    answers = {**reading.answers, **reading.unreadable}
    return triage_report(answers, profile_for(patient, unit, local_date), history_for(patient, arrival),
                         arrival, ruleset)


def print_result(result) -> None:
    priority = tr(" (prioridad {p})", " (priority {p})", p=result.priority) if result.priority else ""
    click.echo(tr("Semáforo: {c}{p}", "Color: {c}{p}", c=color_name(result.color), p=priority))
    for hit in result.hits:
        click.echo(f"  {hit.rule_id:4} {hit.reason}")
    if not result.hits:
        click.echo(tr("  Ninguna regla se cumplió.", "  No rule fired."))
    if result.unreadable_keys:
        from mailtriage.questions import describe_questions
        click.echo(tr("Sin respuesta legible: {q}", "No readable answer: {q}",
                      q=describe_questions(result.unreadable_keys)))
    click.echo(tr("Reglas versión {v}; no se guardó ni envió nada.", "Rules version {v}; nothing was stored or sent.",
                  v=result.ruleset_version))
