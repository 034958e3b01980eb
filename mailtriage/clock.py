"""The one clock of the program.

Everything that needs "now" asks here, so tests (and the ten-day
simulation) can move time forward without sleeping. Times are aware
datetimes in UTC; local dates come from each unit's time zone.
"""

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

_frozen_now: datetime | None = None


def now() -> datetime:
    """Return the current time, aware, in UTC."""
    if _frozen_now is not None:
        return _frozen_now
    return datetime.now(timezone.utc)


def set_now(moment: datetime | None) -> None:
    """Freeze the clock at ``moment`` (aware); None lets it run again."""
    global _frozen_now
    if moment is not None and moment.tzinfo is None:
        raise ValueError("set_now needs an aware datetime")
    _frozen_now = moment.astimezone(timezone.utc) if moment else None


def advance(delta: timedelta) -> datetime:
    """Move a frozen clock forward and return the new time."""
    set_now(now() + delta)
    return now()


def local_date(moment: datetime, timezone_name: str) -> date:
    """Return the calendar date of ``moment`` in the given IANA time zone."""
    return moment.astimezone(ZoneInfo(timezone_name)).date()
