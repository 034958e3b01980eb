"""Spanish for the texts click itself prints (usage, option help, its errors).

click marks its own strings for gettext but ships no Spanish catalogue. The
CLI is read by clinic staff, so when the language is Spanish the few dozen
strings click shows are translated here. Strings missing from the table
stay in English, which is harmless; the test of the CLI help checks that
the common ones are covered.
"""

import click
import click.core
import click.decorators
import click.exceptions
import click.formatting
import click.parser
import click.termui
import click.types

SPANISH = {
    "Usage:": "Uso:",
    "Options": "Opciones",
    "Commands": "Comandos",
    "Positional arguments": "Argumentos",
    "Show this message and exit.": "Muestra esta ayuda y termina.",
    "Show the version and exit.": "Muestra la versión y termina.",
    "Error: {message}": "Error: {message}",
    "Try '{command} {option}' for help.": "Escriba '{command} {option}' para ver la ayuda.",
    "Missing argument": "Falta un argumento",
    "Missing option": "Falta una opción",
    "Missing parameter": "Falta un parámetro",
    "Missing parameter: {param_name}": "Falta el parámetro: {param_name}",
    "Missing {param_type}": "Falta {param_type}",
    "Missing command.": "Falta el comando.",
    "No such command {name!r}.": "No existe el comando {name!r}.",
    "No such option {name!r}.": "No existe la opción {name!r}.",
    "Option {name!r} does not take a value.": "La opción {name!r} no lleva valor.",
    "Invalid value for {param_hint}: {message}": "Valor no válido para {param_hint}: {message}",
    "Invalid value: {message}": "Valor no válido: {message}",
    "Argument {name!r} takes {nargs} values.": "El argumento {name!r} lleva {nargs} valores.",
    "{value!r} is not a valid {number_type}.": "{value!r} no es un {number_type} válido.",
    "{value} is not in the range {range}.": "{value} no está en el intervalo {range}.",
    "{name} {filename!r} does not exist.": "{name} {filename!r} no existe.",
    "{name} {filename!r} is a directory.": "{name} {filename!r} es una carpeta.",
    "{name} {filename!r} is a file.": "{name} {filename!r} es un archivo.",
    "{name} {filename!r} is not readable.": "{name} {filename!r} no se puede leer.",
    "{name} {filename!r} is not writable.": "{name} {filename!r} no se puede escribir.",
    "Could not open file {filename!r}: {message}": "No se pudo abrir {filename!r}: {message}",
    "Do you want to continue?": "¿Desea continuar?",
    "Aborted!": "Cancelado.",
    "Repeat for confirmation": "Repita para confirmar",
    "Error: invalid input": "Error: entrada no válida",
    "Error: The two entered values do not match.": "Error: los dos valores no coinciden.",
    "Confirm the action without prompting.": "Confirma la acción sin preguntar.",
    "default: {default}": "predeterminado: {default}",
    "env var: {var}": "variable de entorno: {var}",
    "required": "obligatorio",
    "file": "archivo",
    "directory": "carpeta",
    "path": "ruta",
    "integer": "entero",
    "float": "número",
    "Choose from:\n\t{choices}": "Elija una de:\n\t{choices}",
    "{value!r} is not {choice}.": "{value!r} no es {choice}.",
    "{value!r} is not one of {choices}.": "{value!r} no es una de estas opciones: {choices}.",
    "{value!r} is not a valid date.": "{value!r} no es una fecha válida.",
    "{value!r} does not match the format {format}.": "{value!r} no tiene el formato {format}.",
    "{value!r} does not match the formats {formats}.": "{value!r} no tiene los formatos {formats}.",
    "Got unexpected extra argument ({args})": "Sobra un argumento ({args})",
    "Got unexpected extra arguments ({args})": "Sobran argumentos ({args})",
    "Option {name!r} requires an argument.": "La opción {name!r} necesita un valor.",
    "Option {name!r} requires {nargs} arguments.": "La opción {name!r} necesita {nargs} valores.",
    "No such option: {name}": "No existe la opción: {name}",
    "Did you mean {possibility}?": "¿Quiso decir {possibility}?",
    "(Possible options: {possibilities})": "(Opciones posibles: {possibilities})",
}

_CLICK_MODULES = (
    click.core, click.decorators, click.exceptions, click.formatting,
    click.parser, click.termui, click.types,
)


def _spanish_gettext(message: str) -> str:
    return SPANISH.get(message, message)


def _spanish_ngettext(singular: str, plural: str, count: int) -> str:
    return _spanish_gettext(singular if count == 1 else plural)


_SPANISH_USAGE_PIECES = {
    "[OPTIONS]": "[OPCIONES]",
    "COMMAND [ARGS]...": "COMANDO [ARGUMENTOS]...",
}

# Type names become the metavars of options (TEXTO, ENTERO) and appear in
# click's conversion errors («'abc' no es un entero válido»).
_SPANISH_TYPE_NAMES = (
    (click.types.STRING, "texto"),
    (click.types.INT, "entero"),
    (click.types.FLOAT, "número"),
    (click.types.BOOL, "sí/no"),
)

_YES_ANSWERS = ("s", "si", "sí", "y", "yes")
_NO_ANSWERS = ("n", "no")


def _spanish_usage_pieces(original):
    def collect(self, ctx):
        return [_SPANISH_USAGE_PIECES.get(piece, piece) for piece in original(self, ctx)]
    return collect


def spanish_confirm(text: str, default: bool | None = False, abort: bool = False,
                    prompt_suffix: str = ": ", show_default: bool = True, err: bool = False) -> bool:
    """Ask a yes/no question that takes «s», «sí» or «n» (and y/yes)."""
    choices = {True: "S/n", False: "s/N", None: "s/n"}[default] if show_default else ""
    question = f"{text} [{choices}]" if choices else text
    while True:
        answer = click.prompt(question, default="", show_default=False,
                              prompt_suffix=prompt_suffix, err=err).strip().lower()
        if not answer and default is not None:
            confirmed = default
            break
        if answer in _YES_ANSWERS or answer in _NO_ANSWERS:
            confirmed = answer in _YES_ANSWERS
            break
        click.echo("Responda «s» (sí) o «n» (no).", err=err)
    if abort and not confirmed:
        raise click.Abort()
    return confirmed


def use_spanish_for_click() -> None:
    """Make click's own texts Spanish; it looks ``_`` and ``ngettext`` up at each call."""
    for module in _CLICK_MODULES:
        if hasattr(module, "_"):
            module._ = _spanish_gettext
        if hasattr(module, "ngettext"):
            module.ngettext = _spanish_ngettext

    for param_type, name in _SPANISH_TYPE_NAMES:
        param_type.name = name

    for command_class in (click.core.Command, click.core.Group):
        if "collect_usage_pieces" in command_class.__dict__:
            original = command_class.__dict__["collect_usage_pieces"]
            command_class.collect_usage_pieces = _spanish_usage_pieces(original)

    click.confirm = click.termui.confirm = spanish_confirm
