"""An option choice that staff may type in Spanish or English."""

import click

from mailtriage.i18n import tr


class NamedChoice(click.ParamType):
    """A choice among stored codes, each typed by its Spanish or its English name.

    ``names`` maps each code to its (Spanish, English) names, as in
    ``mailtriage.display_names``. Help shows the names of the active
    language; both languages are accepted, in any letter case.
    """

    name = "choice"

    def __init__(self, names: dict[str, tuple[str, str]]):
        self.names = names
        self.lookup = {name.casefold(): code for code, pair in names.items() for name in pair}

    def shown_names(self) -> list[str]:
        return [tr(*pair) for pair in self.names.values()]

    def get_metavar(self, param, ctx=None) -> str:
        # ctx defaults to None because older click versions call get_metavar(param) alone.
        return "[" + "|".join(self.shown_names()) + "]"

    def convert(self, value, param, ctx):
        if value in self.names:
            return value
        code = self.lookup.get(str(value).strip().casefold())
        if code is None:
            self.fail(tr("«{v}» no es una de estas opciones: {ok}", "'{v}' is not one of: {ok}",
                         v=value, ok=", ".join(self.shown_names())), param, ctx)
        return code
