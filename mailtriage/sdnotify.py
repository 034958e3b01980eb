"""The systemd notify protocol: tell the service manager we are ready, alive or stopping.

With ``Type=notify`` systemd passes a datagram socket in ``$NOTIFY_SOCKET``
and waits for ``READY=1`` before it counts the service as started. With
``WatchdogSec=`` it restarts the service when ``WATCHDOG=1`` stops arriving.
The protocol is a datagram of ``KEY=value`` lines (sd_notify(3)), so it is
written here in a few lines rather than taken from the PyPI package
sdnotify, which is unmaintained. Without ``$NOTIFY_SOCKET`` (a terminal,
the tests, another supervisor) every function does nothing.
"""

import logging
import os
import socket

log = logging.getLogger("mailtriage.sdnotify")


def notify(*assignments: str) -> bool:
    """Send ``KEY=value`` lines to the service manager; return whether one was listening."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False

    # A leading "@" names a socket in Linux's abstract namespace.
    if address.startswith("@"):
        address = "\0" + address[1:]

    message = "\n".join(assignments).encode("utf-8")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(message, address)
    except OSError as exc:
        # Losing one notification must not stop the daemon: the watchdog
        # restarts it if they keep failing.
        log.warning("systemd notification failed: %s", exc)
        return False
    return True


def notify_ready(status: str = "") -> bool:
    """Report that start-up finished: systemd then counts the service as running."""
    return notify("READY=1", *([f"STATUS={status}"] if status else []))


def notify_watchdog() -> bool:
    """Report that the daemon is alive; send more often than ``watchdog_interval()``."""
    return notify("WATCHDOG=1")


def notify_stopping(status: str = "") -> bool:
    """Report that the daemon is shutting down on purpose."""
    return notify("STOPPING=1", *([f"STATUS={status}"] if status else []))


def notify_status(status: str) -> bool:
    """Set the one-line status that ``systemctl status mailtriage`` shows."""
    return notify(f"STATUS={status}")


def watchdog_interval() -> float | None:
    """Return the seconds between two ``notify_watchdog()`` calls, or None without a watchdog.

    systemd sets ``WATCHDOG_USEC`` (and ``WATCHDOG_PID``); sd_watchdog_enabled(3)
    advises pinging at half that period, so one late ping does not kill the service.
    """
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):
        return None
    return int(usec) / 1_000_000 / 2
