"""Named fault-injection points, so tests can break the daemon at a chosen line.

The pipeline and the outbox sender call ``fault_point(NAME)`` at the lines
where a crash is most likely to lose or repeat a message. The environment
variable ``MAILTRIAGE_FAULT`` arms one point:

    MAILTRIAGE_FAULT=after_store          kill the process at the first hit
    MAILTRIAGE_FAULT=after_store:3        kill it at the third hit
    MAILTRIAGE_FAULT=before_store=enospc  raise OSError(ENOSPC) at every hit
    MAILTRIAGE_FAULT=before_store:2=enospc  ... from the second hit on

The kill is SIGKILL, so no ``finally`` block, atexit handler or pending
commit runs, as when the kernel's OOM killer ends the daemon. The
``enospc`` action simulates a full disk, which a test cannot make
without the privileges to mount a small filesystem.

The variable is read once, at import. When it is unset, ``fault_point``
returns after one comparison with None.
"""

import errno
import os
import signal
from dataclasses import dataclass

FAULT_ENV = "MAILTRIAGE_FAULT"

# A message has just been read from the mailbox, before anything is stored.
AFTER_FETCH = "after_fetch"
# The report, the inbound message and the reply are about to be committed.
BEFORE_STORE = "before_store"
# That transaction has committed, and the message is still in the inbox.
AFTER_STORE = "after_store"
# An outbox message is about to be handed to the SMTP server.
BEFORE_SEND = "before_send"
# The SMTP server accepted it, and the row is not yet marked sent.
AFTER_SEND = "after_send"
# The message is about to be moved to the processed (or quarantine) folder.
BEFORE_MARK = "before_mark"

POINTS = (AFTER_FETCH, BEFORE_STORE, AFTER_STORE, BEFORE_SEND, AFTER_SEND, BEFORE_MARK)

KILL = "kill"
ENOSPC = "enospc"
ACTIONS = (KILL, ENOSPC)


@dataclass
class ArmedFault:
    """The one point armed by MAILTRIAGE_FAULT, and how often it was hit so far."""

    point: str
    fire_at_hit: int
    action: str
    hits: int = 0


def parse_fault(spec: str) -> ArmedFault:
    """Parse ``POINT[:N][=ACTION]``; raise ValueError naming the variable on a bad value.

    An unknown point is rejected rather than ignored, because a test whose
    fault never fires would pass without testing anything.
    """
    target, _, action = spec.strip().partition("=")
    point, _, count = target.partition(":")
    action = action or KILL

    if point not in POINTS:
        raise ValueError(f"{FAULT_ENV}={spec!r}: unknown fault point {point!r}; "
                         f"use one of {', '.join(POINTS)}")
    if count and not (count.isdigit() and int(count) >= 1):
        raise ValueError(f"{FAULT_ENV}={spec!r}: the hit count must be a whole number from 1")
    if action not in ACTIONS:
        raise ValueError(f"{FAULT_ENV}={spec!r}: unknown action {action!r}; "
                         f"use one of {', '.join(ACTIONS)}")
    return ArmedFault(point=point, fire_at_hit=int(count or 1), action=action)


def arm(spec: str | None) -> None:
    """Arm the fault ``spec`` in this process, or disarm every fault with None."""
    global _armed
    _armed = parse_fault(spec) if spec else None


def fault_point(name: str) -> None:
    """Kill the process, or raise, when ``name`` is the armed point and its hit has come."""
    if _armed is None or _armed.point != name:
        return

    _armed.hits += 1
    if _armed.hits < _armed.fire_at_hit:
        return

    if _armed.action == ENOSPC:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), f"fault point {name}")
    os.kill(os.getpid(), signal.SIGKILL)


_armed: ArmedFault | None = None
arm(os.environ.get(FAULT_ENV))
