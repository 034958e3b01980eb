"""Staff-language sentences for the CEL library's errors, which it writes in English only.

Each sentence names what is wrong in the condition and what to fix. The
library's own first sentence follows in parentheses, so that a developer
can still look it up.
"""

import re

from mailtriage.i18n import tr

# The library reads a syntax error's place as "<input>:LINE:COLUMN:".
_SYNTAX_PLACE = re.compile(r"<input>:(\d+):(\d+):")


def library_detail(text: str) -> str:
    """Return the first line of a library error, cut after its first sentence when that sentence is followed by advice."""
    first_line = text.strip().splitlines()[0] if text.strip() else ""
    sentence = re.match(r"^(.+?\.)\s+[A-Z]", first_line)
    return sentence.group(1) if sentence else first_line


def explain_syntax_error(source: str, error: Exception) -> str:
    """Explain a condition the library could not parse, with the line and column it points at."""
    text = str(error)
    text = text.replace(f"Failed to parse expression '{source}': ", "")
    place = _SYNTAX_PLACE.search(text)
    where = tr(" en la línea {l}, columna {c}", " at line {l}, column {c}",
               l=place.group(1), c=place.group(2)) if place else ""
    # The lines after the first repeat the condition with a caret under the column.
    detail = text.strip().splitlines()[0]
    return tr("la condición tiene un error de sintaxis{w}; revise paréntesis, comillas y operadores (CEL: {d})",
              "the condition has a syntax error{w}; check the brackets, quotes and operators (CEL: {d})",
              w=where, d=detail)


def explain_runtime_error(error: Exception) -> str:
    """Explain why a condition failed while it ran, naming what to fix."""
    detail = library_detail(str(error))
    if isinstance(error, LookupError) or not detail:
        detail = f"{type(error).__name__}: {error}"
    if isinstance(error, ZeroDivisionError):
        problem = tr("divide entre cero; revise el divisor", "divides by zero; check the divisor")
    elif isinstance(error, LookupError):
        problem = tr("lee un elemento o una clave que no existe; revise el índice o la clave",
                     "reads an item or key that does not exist; check the index or key")
    elif detail.startswith("No such overload"):
        problem = tr(
            "compara o combina valores de tipos distintos, o un dato que vale null; compare números con "
            "números, datos sí/no con true o false y textos con textos entre comillas, y pregunte "
            "«dato != null» antes de comparar un dato que puede faltar",
            "compares or combines values of different types, or a value that is null; compare numbers with "
            "numbers, yes/no inputs with true or false and text with quoted text, and check "
            "'value != null' before comparing a value that may be missing")
    elif detail.startswith("Undefined variable or function"):
        problem = tr("usa un nombre que no existe; revise cómo está escrito (vea «mailtriage rules show --inputs»)",
                     "uses a name that does not exist; check its spelling (see 'mailtriage rules show --inputs')")
    elif detail.startswith("Function "):
        problem = tr("una función recibió un valor que no acepta; revise sus argumentos",
                     "a function received a value it does not accept; check its arguments")
    else:
        problem = tr("no se pudo evaluar; revise la condición", "cannot be evaluated; check the condition")
    return tr("{p} (CEL: {d})", "{p} (CEL: {d})", p=problem, d=detail)
