"""`mailtriage reprocess`: triage stored reports again from their raw messages with today's parser and rules.

Each report keeps its original arrival time, so it lands on the same
calendar day and uses the same earlier reports (with the colors they got
then). Without --apply nothing is written; with it, every changed outcome
is stored as a Retriage row beside the original and audited. The original
report is never overwritten.
"""

from dataclasses import dataclass
from datetime import datetime

import click

from mailtriage.cli.common import pass_app
from mailtriage.cli.dates import LocalDate
from mailtriage.i18n import tr

RETRIAGE = "retriage"


@dataclass
class Retriaged:
    """One stored report and the outcome it gets now, or why it could not be triaged again."""

    report: object
    result: object = None
    answers: dict | None = None
    unreadable: dict | None = None
    skipped: str = ""

    @property
    def changed(self) -> bool:
        if self.result is None:
            return False
        old_rules = sorted(hit["rule_id"] for hit in self.report.hits or [])
        new_rules = sorted(hit.rule_id for hit in self.result.hits)
        return ((self.report.color, self.report.priority, old_rules)
                != (self.result.color, self.result.priority, new_rules))


def retriage_report(report, config, ruleset) -> Retriaged:
    """Parse the report's raw message again and triage it as of its original arrival."""
    from mailtriage.contracts import ANSWER
    from mailtriage.parser import parse_message
    from mailtriage.rules import triage
    from mailtriage.triage_inputs import history_for, profile_for

    inbound = report.inbound
    if inbound is None or inbound.raw is None:
        return Retriaged(report, skipped=tr("sin mensaje original guardado", "no stored original message"))
    reading = parse_message(bytes(inbound.raw), config.max_message_bytes)
    if reading.kind != ANSWER:
        return Retriaged(report, skipped=tr("ahora no se lee como respuesta ({k})",
                                            "no longer read as an answer ({k})", k=reading.kind))

    patient = report.patient
    unit = config.unit(patient.unit.code)
    answers = {**reading.answers, **reading.unreadable}
    result = triage(answers, profile_for(patient, unit, report.local_date),
                    history_for(patient, report.received_at), report.received_at, ruleset)
    unreadable = {key: {"raw": item.raw, "why": item.why} for key, item in reading.unreadable.items()}
    return Retriaged(report, result, reading.answers, unreadable)


def describe_change(item: Retriaged) -> str:
    from mailtriage.cli.rulescmd import color_name

    old_rules = {hit["rule_id"] for hit in item.report.hits or []}
    new_rules = {hit.rule_id for hit in item.result.hits}
    rules = [f"+{rule}" for rule in sorted(new_rules - old_rules)]
    rules += [f"-{rule}" for rule in sorted(old_rules - new_rules)]
    old = f"{color_name(item.report.color)} {item.report.priority or ''}".strip()
    new = f"{color_name(item.result.color)} {item.result.priority or ''}".strip()
    return tr("Reporte {id} ({fecha}, paciente {p}): {old} → {new}; reglas {r}",
              "Report {id} ({fecha}, patient {p}): {old} → {new}; rules {r}",
              id=item.report.id, fecha=item.report.local_date.isoformat(), p=item.report.patient_id,
              old=old, new=new, r=" ".join(rules) or "=")


def store_retriage(item: Retriaged, actor: str) -> None:
    """Record the new outcome beside the report, and audit it, in one transaction."""
    from mailtriage import audit, clock
    from mailtriage.models import Retriage, database_proxy

    result = item.result
    with database_proxy.atomic():
        Retriage.create(
            report=item.report, created_at=clock.now(), actor=actor,
            ruleset_version=result.ruleset_version, color=result.color, priority=result.priority,
            hits=[{"rule_id": hit.rule_id, "color": hit.color, "priority": hit.priority,
                   "reason": hit.reason, "values": hit.values} for hit in result.hits],
            flags=result.flags, answers=item.answers, unreadable=item.unreadable,
        )
        audit.record(actor, RETRIAGE, item.report.patient_id, report_id=item.report.id,
                     old_color=item.report.color, new_color=result.color,
                     ruleset_version=result.ruleset_version)


@click.command(help=tr(
    "Vuelve a clasificar los reportes guardados desde sus mensajes originales con el lector y las "
    "reglas actuales, y muestra qué cambiaría. Solo con --apply guarda el nuevo resultado junto al "
    "original, que nunca se sobrescribe.\n\n"
    "Ejemplo: mailtriage reprocess --since 2026-12-01 --apply",
    "Triage stored reports again from their original messages with the current parser and rules, "
    "and show what would change. Only with --apply is the new outcome stored beside the original, "
    "which is never overwritten.\n\n"
    "Example: mailtriage reprocess --since 2026-12-01 --apply"))
@click.option("--since", required=True, type=LocalDate(),
              help=tr("Primer día (local de la unidad) de los reportes, AAAA-MM-DD.",
                      "First day (the unit's local date) of the reports, YYYY-MM-DD."))
@click.option("--apply", "apply_changes", is_flag=True,
              help=tr("Guarda y audita los resultados que cambiaron.", "Store and audit the outcomes that changed."))
@click.option("--staff", help=tr("Nombre de quien hace el cambio (por omisión, el usuario del sistema).",
                                 "Name of who makes the change (default: the system user)."))
@pass_app
def reprocess(app, since: datetime, apply_changes: bool, staff: str | None):
    from mailtriage.audit import current_actor
    from mailtriage.models import Report
    from mailtriage.ruleset import ruleset_for

    app.database
    ruleset = ruleset_for(app.config)
    reports = Report.select().where(Report.local_date >= since.date()).order_by(Report.received_at)
    items = [retriage_report(report, app.config, ruleset) for report in reports]

    changed = [item for item in items if item.changed]
    for item in changed:
        click.echo(describe_change(item))
        if apply_changes:
            store_retriage(item, current_actor(staff))
    for item in items:
        if item.skipped:
            click.echo(tr("Reporte {id}: omitido, {why}", "Report {id}: skipped, {why}",
                          id=item.report.id, why=item.skipped))

    click.echo(tr("{n} reportes revisados, {c} con otro resultado, {s} omitidos; reglas versión {v}. {done}",
                  "{n} reports checked, {c} with another outcome, {s} skipped; rules version {v}. {done}",
                  n=len(items), c=len(changed), s=sum(1 for item in items if item.skipped), v=ruleset.version,
                  done=tr("Cambios guardados.", "Changes stored.") if apply_changes
                  else tr("No se guardó nada (use --apply).", "Nothing stored (use --apply).")))
