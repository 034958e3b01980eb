"""The daemon's heartbeat: when it last polled the mailbox, for ``mailtriage status``.

The daemon calls ``record_poll(summary)`` after every pass. Each host keeps
its own row, so several daemons sharing a PostgreSQL database show up
separately.
"""

import dataclasses
import socket
from collections.abc import Mapping
from datetime import datetime

from mailtriage import clock
from mailtriage.models import DaemonState


def record_poll(summary=None, host: str | None = None) -> None:
    """Store now as this host's last poll, with the pass's counts.

    ``summary`` is a mapping or a dataclass of counts (fetched, reported,
    quarantined...). It must hold no patient data: status prints it as is.
    """
    counts = _as_dict(summary)
    DaemonState.insert(
        host=host or socket.gethostname(), last_poll_at=clock.now(), last_poll_summary=counts,
    ).on_conflict(
        conflict_target=[DaemonState.host],
        update={DaemonState.last_poll_at: clock.now(), DaemonState.last_poll_summary: counts},
    ).execute()


def _as_dict(summary) -> dict:
    if summary is None:
        return {}
    if dataclasses.is_dataclass(summary) and not isinstance(summary, type):
        return dataclasses.asdict(summary)
    if isinstance(summary, Mapping):
        return dict(summary)
    raise TypeError(f"record_poll needs a mapping or a dataclass, not {type(summary).__name__}")


def last_polls() -> list[tuple[str, datetime, dict]]:
    """Return (host, last poll time, summary) of every daemon, the most recent first."""
    rows = DaemonState.select().order_by(DaemonState.last_poll_at.desc())
    return [(row.host, row.last_poll_at, row.last_poll_summary) for row in rows]
