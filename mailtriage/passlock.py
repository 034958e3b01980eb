"""One pass at a time over a mailbox whose reports go to an SQLite database.

SQLite serves one daemon. When a nurse runs `mailtriage poll --once` while
the service is draining the mailbox, the two passes would fetch the same
messages and fight over the write lock and over moving them. A pass takes
an exclusive lock file next to the database first, and a second pass that
finds it taken does nothing. Daemons sharing PostgreSQL coordinate per
message instead (claims.py), so no lock file is used there.
"""

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path

SQLITE_PREFIX = "sqlite:///"


@contextmanager
def exclusive_pass(database_url: str):
    """Yield True while this process holds the pass lock, or False when another process does."""
    if not database_url.startswith(SQLITE_PREFIX):
        yield True
        return

    lock_path = Path(database_url[len(SQLITE_PREFIX):] + ".pass.lock")
    descriptor = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        # Closing the descriptor releases the lock, also when the process dies.
        os.close(descriptor)
