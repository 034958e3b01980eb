"""The mailbox watcher of `mailtriage run`: a pass as soon as a reply arrives.

A thread keeps one inbox open and waits on it with ``Inbox.wait_for_new``,
which is IMAP IDLE (RFC 2177) where the server offers it. When a message
arrives, it runs a pass on that same inbox, under the daemon's work lock,
so the reply goes out without waiting for the next poll. The
scheduled poll stays as the fallback and as a safety sweep: it catches what
the watcher missed while it was reconnecting, or on a server without IDLE,
where ``wait_for_new`` only sends NOOP every few seconds.
"""

import logging
import threading

from mailtriage import pipeline
from mailtriage.errors import MailtriageError

log = logging.getLogger("mailtriage.daemon")

# One wait lasts at most this long, so the thread checks for a stop request
# at least this often. Each renewal costs one IDLE and one DONE command.
WAIT_SECONDS = 2

# After a failure (the server is down, the login was refused), the watcher
# waits this long before it connects again. The scheduled poll reports the
# same failure to the operator, so the watcher only logs it.
RECONNECT_SECONDS = 30


class MailboxWatcher:
    """A thread that runs a pass on an open inbox whenever ``wait_for_new`` reports a message."""

    def __init__(self, config, work_lock: threading.Lock, stop: threading.Event):
        self.config = config
        self.work_lock = work_lock
        self.stop = stop
        self.thread = threading.Thread(target=self.run, name="mailbox-watcher")

    def start(self) -> None:
        self.thread.start()

    def join(self) -> None:
        self.thread.join()

    def run(self) -> None:
        """Watch until a stop is requested, connecting again after each failure."""
        while not self.stop.is_set():
            try:
                self.watch()
            except MailtriageError as exc:
                # The error's text is in the user's language, so it ends the line
                # and the English words around it stay one sentence.
                log.warning("mailbox watcher failed, connecting again in %d s: %s", RECONNECT_SECONDS, exc)
            except Exception:
                # The edge of the thread: the poll job still runs, and the
                # watcher tries again after the pause.
                log.exception("mailbox watcher failed unexpectedly; connecting again in %d s",
                              RECONNECT_SECONDS)
            self.stop.wait(RECONNECT_SECONDS)

    def watch(self) -> None:
        from mailtriage.inbox import open_inbox

        with open_inbox(self.config) as inbox:
            while not self.stop.is_set():
                if inbox.wait_for_new(WAIT_SECONDS):
                    self.run_pass(inbox)

    def run_pass(self, inbox) -> None:
        # The lock keeps this pass apart from the scheduled jobs: SQLite has
        # one writer, and two outbox sends must never overlap.
        with self.work_lock:
            if self.stop.is_set():
                return
            summary = pipeline.run_pass(self.config, stop=self.stop, inbox=inbox)
        log.info("pass on new mail finished: %s", summary.as_log())
