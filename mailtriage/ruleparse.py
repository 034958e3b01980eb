"""Parsing one rule of the rule file: its condition, color, priority, reasons and shown values."""

import re
import string
from dataclasses import dataclass

import cel

from mailtriage.celerrors import explain_runtime_error, explain_syntax_error
from mailtriage.i18n import tr
from mailtriage.ruleinputs import INPUTS, NONREPORTING_ACTIONS, NONREPORTING_INPUTS, RED_HIT, TRIAGE_COLOR
from mailtriage.ruleparams import PARAMETER_SPECS

RED = "rojo"
YELLOW = "amarillo"
PRIORITIES = ("A", "N")
RULE_ID = re.compile(r"^[A-Z][A-Z0-9_]{0,15}$")

# CEL functions a condition may call besides the operators and macros.
# Any other name would fail only when evaluated, so it is rejected at load.
ALLOWED_FUNCTIONS = {
    "size", "int", "uint", "double", "string", "bool", "contains", "startsWith", "endsWith",
    "matches", "max", "min",
}
RULE_KEYS = {"id", "description", "condition", "color", "priority", "flag", "reasons", "show", "actions",
             "blocks"}
# Reply blocks a rule may add to the patient's reply when it fires.
RULE_BLOCKS = ("comment_go_now",)

# Iteration variables of the CEL macros, such as x in ``list.exists(x, x > 1)``.
MACRO_VARIABLE = re.compile(r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(\s*([A-Za-z_]\w*)\s*,")


@dataclass(frozen=True)
class Reason:
    """One reason text of a rule, in Spanish and English, used when its ``when`` condition holds."""

    spanish: str
    english: str
    when: object | None = None


@dataclass(frozen=True)
class Rule:
    """One compiled rule: a color rule (rojo, amarillo), a flag, or a non-reporting rule."""

    id: str
    description: str
    condition: str
    program: object
    color: str | None
    priority: str | None
    flag: bool
    reasons: tuple[Reason, ...]
    show: tuple[str, ...]
    actions: tuple[str, ...] = ()
    blocks: tuple[str, ...] = ()


def compile_condition(source, names: set[str], fail) -> object:
    """Compile one CEL condition; reject syntax errors, unknown names and unknown functions."""
    if not isinstance(source, str) or not source.strip():
        raise fail(tr("falta la condición", "the condition is missing"))
    try:
        program = cel.compile(source)
    except ValueError as exc:
        raise fail(explain_syntax_error(source, exc)) from None

    references = program.references()
    macro_variables = set(MACRO_VARIABLE.findall(source))
    unknown = sorted(set(references["variables"]) - names - macro_variables)
    if unknown:
        raise fail(tr("nombre de dato desconocido «{n}» en la condición",
                      "unknown input name '{n}' in the condition", n=unknown[0]))
    functions = [name for name in references["functions"]
                 if name not in ALLOWED_FUNCTIONS and not _is_operator(name)]
    if functions:
        raise fail(tr("función desconocida «{n}» en la condición",
                      "unknown function '{n}' in the condition", n=functions[0]))
    return program


def _is_operator(name: str) -> bool:
    return name.startswith(("_", "@", "!", "-")) or name.endswith("_")


def template_fields(template: str) -> list[str]:
    """Return the placeholder names of a reason text; raise ValueError for format specs or bad braces."""
    fields = []
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if spec or conversion or not name.isidentifier():
            raise ValueError(name)
        fields.append(name)
    return fields


def input_names(nonreporting: bool, color: str | None, flag: bool) -> set[str]:
    """Return the names a rule of this kind may read: inputs, parameters and the staged inputs it can see."""
    names = set(NONREPORTING_INPUTS if nonreporting else INPUTS) | set(PARAMETER_SPECS)
    if not nonreporting and (color == YELLOW or flag):
        names.add(RED_HIT)
    if not nonreporting and flag:
        names.add(TRIAGE_COLOR)
    return names


def parse_rule(entry: dict, nonreporting: bool, fail) -> Rule:
    """Validate and compile one [[rules]] or [[nonreporting_rules]] entry, raising ``fail(problem)`` on the first problem."""
    unknown_keys = sorted(set(entry) - RULE_KEYS)
    if unknown_keys:
        raise fail(tr("clave desconocida «{k}»", "unknown key '{k}'", k=unknown_keys[0]))

    description = entry.get("description")
    if not isinstance(description, str) or not description.strip():
        raise fail(tr("falta «description»", "'description' is missing"))

    flag = entry.get("flag", False) is True
    color, priority = _color_and_priority(entry, nonreporting, flag, fail)
    names = input_names(nonreporting, color, flag)
    program = compile_condition(entry.get("condition"), names, fail)

    return Rule(
        id=entry["id"],
        description=description.strip(),
        condition=entry["condition"],
        program=program,
        color=color,
        priority=priority,
        flag=flag,
        reasons=_reasons(entry.get("reasons"), names, fail),
        show=_shown_values(entry.get("show", []), names, fail),
        actions=_actions(entry.get("actions", []), nonreporting, fail),
        blocks=_blocks(entry.get("blocks", []), fail),
    )


def _color_and_priority(entry: dict, nonreporting: bool, flag: bool, fail) -> tuple[str | None, str | None]:
    color = entry.get("color")
    priority = entry.get("priority")
    allowed = (YELLOW, None) if nonreporting else (RED, YELLOW)
    if flag and color is not None:
        raise fail(tr("una bandera no lleva color", "a flag has no color"))
    if not flag and color not in allowed:
        raise fail(tr("color no válido «{c}»; use: {ok}", "invalid color '{c}'; use: {ok}",
                      c=color, ok=", ".join(value for value in allowed if value)))

    if color == YELLOW and priority not in PRIORITIES:
        raise fail(tr("prioridad no válida «{p}»; una regla amarilla lleva A o N",
                      "invalid priority '{p}'; a yellow rule has A or N", p=priority))
    if color != YELLOW and priority is not None:
        raise fail(tr("prioridad no válida «{p}»; solo las reglas amarillas llevan prioridad",
                      "invalid priority '{p}'; only yellow rules have a priority", p=priority))
    return color, priority


def _reasons(entries, names: set[str], fail) -> tuple[Reason, ...]:
    if not isinstance(entries, list) or not entries:
        raise fail(tr("falta [[rules.reasons]] con es y en", "[[rules.reasons]] with es and en is missing"))

    reasons = []
    for entry in entries:
        spanish, english = entry.get("es"), entry.get("en")
        if not isinstance(spanish, str) or not isinstance(english, str) or not spanish.strip():
            raise fail(tr("cada razón lleva «es» y «en»", "each reason has 'es' and 'en'"))
        for text in (spanish, english):
            _check_template(text, names, fail)
        when = entry.get("when")
        program = compile_condition(when, names, fail) if when is not None else None
        reasons.append(Reason(spanish, english, program))

    if reasons[-1].when is not None:
        raise fail(tr("la última razón no lleva «when»", "the last reason has no 'when'"))
    return tuple(reasons)


def _check_template(text: str, names: set[str], fail) -> None:
    try:
        fields = template_fields(text)
    except ValueError:
        raise fail(tr("marcador no válido en la razón «{t}»; use {{nombre}}",
                      "invalid placeholder in the reason '{t}'; use {{name}}", t=text)) from None
    unknown = [field for field in fields if field not in names]
    if unknown:
        raise fail(tr("nombre de dato desconocido «{n}» en la razón", "unknown input name '{n}' in the reason",
                      n=unknown[0]))


def _shown_values(shown, names: set[str], fail) -> tuple[str, ...]:
    if not isinstance(shown, list) or not all(isinstance(name, str) for name in shown):
        raise fail(tr("«show» debe ser una lista de nombres", "'show' must be a list of names"))
    unknown = [name for name in shown if name not in names]
    if unknown:
        raise fail(tr("nombre de dato desconocido «{n}» en «show»", "unknown input name '{n}' in 'show'",
                      n=unknown[0]))
    return tuple(shown)


def _actions(actions, nonreporting: bool, fail) -> tuple[str, ...]:
    if not nonreporting:
        if actions:
            raise fail(tr("solo las reglas sin reporte llevan «actions»", "only non-reporting rules have 'actions'"))
        return ()
    if not isinstance(actions, list) or not all(action in NONREPORTING_ACTIONS for action in actions):
        raise fail(tr("acción desconocida en «actions»; use: {ok}", "unknown action in 'actions'; use: {ok}",
                      ok=", ".join(NONREPORTING_ACTIONS)))
    return tuple(actions)


def _blocks(blocks, fail) -> tuple[str, ...]:
    if not isinstance(blocks, list) or not all(block in RULE_BLOCKS for block in blocks):
        raise fail(tr("bloque desconocido en «blocks»; use: {ok}", "unknown block in 'blocks'; use: {ok}",
                      ok=", ".join(RULE_BLOCKS)))
    return tuple(blocks)


def run_condition(program, context) -> bool:
    """Evaluate a compiled condition on a cel.Context; raise ValueError unless it yields true or false.

    The ValueError's text explains the failure in the staff's language.
    """
    try:
        result = program.execute(context)
    except (RuntimeError, TypeError, ValueError, LookupError, ArithmeticError) as exc:
        raise ValueError(explain_runtime_error(exc)) from None
    if not isinstance(result, bool):
        raise ValueError(tr("la condición no da true ni false", "the condition does not yield true or false"))
    return result
