"""Option types for dates, date-times and counts, with help and errors in the user's language.

click's own DateTime and IntRange show strptime codes (``[%Y-%m-%d]``)
and ranges (``x>=1``) in help and errors, which staff cannot read.
"""

from datetime import datetime

import click

from mailtriage.i18n import tr

ISO_DATE = "%Y-%m-%d"
DAY_FIRST_DATE = "%d/%m/%Y"
# A date-time with a UTC offset, with or without seconds: 2026-12-04T09:30-0600.
OFFSET_DATE_TIMES = ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z")


class LocalDate(click.ParamType):
    """A calendar date typed as AAAA-MM-DD, or also DD/MM/AAAA when ``day_first`` is set.

    The value is a naive datetime at midnight, as click.DateTime returns,
    so the command places it in the configured time zone.
    """

    name = "date"

    def __init__(self, day_first: bool = False):
        self.formats = (ISO_DATE, DAY_FIRST_DATE) if day_first else (ISO_DATE,)

    def get_metavar(self, param, ctx=None) -> str:
        return tr("AAAA-MM-DD", "YYYY-MM-DD")

    def convert(self, value, param, ctx):
        if isinstance(value, datetime):
            return value

        parsed = _parse(str(value).strip(), self.formats)
        if parsed is None:
            self.fail(tr("fecha no válida «{v}»; use AAAA-MM-DD, por ejemplo 2026-12-04",
                         "invalid date '{v}'; use YYYY-MM-DD, for example 2026-12-04", v=value),
                      param, ctx)
        return parsed


class OffsetDateTime(click.ParamType):
    """A date and time with its UTC offset, such as 2026-12-04T09:30-0600; the value is aware."""

    name = "datetime"

    def get_metavar(self, param, ctx=None) -> str:
        return tr("AAAA-MM-DDTHH:MM±HHMM", "YYYY-MM-DDTHH:MM±HHMM")

    def convert(self, value, param, ctx):
        if isinstance(value, datetime):
            return value

        parsed = _parse(str(value).strip(), OFFSET_DATE_TIMES)
        if parsed is None:
            self.fail(tr("fecha y hora no válidas «{v}»; use AAAA-MM-DDTHH:MM con la diferencia con "
                         "UTC, por ejemplo 2026-12-04T09:30-0600",
                         "invalid date and time '{v}'; use YYYY-MM-DDTHH:MM with the UTC offset, "
                         "for example 2026-12-04T09:30-0600", v=value), param, ctx)
        return parsed


class PositiveCount(click.ParamType):
    """A whole number of 1 or more (days, bytes), in place of click.IntRange(min=1)."""

    name = "integer"

    def __init__(self, metavar: str = "N"):
        self.metavar = metavar

    def get_metavar(self, param, ctx=None) -> str:
        return self.metavar

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            number = value
        else:
            try:
                number = int(str(value).strip())
            except ValueError:
                number = None
        if number is None or number < 1:
            self.fail(tr("debe ser un número entero de 1 o más, no «{v}»",
                         "must be a whole number of 1 or more, not '{v}'", v=value), param, ctx)
        return number


def _parse(text: str, formats) -> datetime | None:
    for date_format in formats:
        try:
            return datetime.strptime(text, date_format)
        except ValueError:
            continue
    return None
