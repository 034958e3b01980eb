"""A local Maildir as the inbox, for the demo and for small units.

New messages are those in the Maildir's ``new`` and ``cur`` directories.
A handled message is renamed into a Maildir++ sub-folder (``.Procesados``),
which keeps its file name, and so its key and flags, and its modification
time, which is its delivery time.
"""

import logging
import mailbox
import os
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from mailtriage.config import Endpoint
from mailtriage.errors import MailboxError
from mailtriage.i18n import tr
from mailtriage.inbox import InboxMessage

log = logging.getLogger("mailtriage.inbox")

# wait_for_new lists the directories this often. A listing of a few hundred
# files costs well under a millisecond.
POLL_SECONDS = 0.5

# mailbox.Maildir separates a key from its info ("2,S") with this character.
INFO_SEPARATOR = ":"

# A header larger than this is cut when an oversize message is read.
MAX_HEADER_BYTES = 256 * 1024


class MaildirInbox:
    """A Maildir on local disk. It has no UIDVALIDITY: a message's key is its identity."""

    def __init__(self, endpoint: Endpoint, max_message_bytes: int):
        self.path = Path(endpoint.path)
        self.max_message_bytes = max_message_bytes
        self.name = f"maildir:{self.path}"
        self.uidvalidity = None
        self.uidvalidity_changed = False
        self._maildir: mailbox.Maildir | None = None
        self._yielded: set[str] = set()

    def open(self) -> None:
        try:
            # create=True makes the demo's Maildir on first use.
            self._maildir = mailbox.Maildir(self.path, factory=None, create=True)
        except OSError as exc:
            raise self._error(tr("abrir", "open"), exc) from exc

    def close(self) -> None:
        self._maildir = None

    def _message_files(self) -> dict[str, Path]:
        """Return the file of every message in new/ and cur/, by key."""
        files = {}
        for subdir in ("new", "cur"):
            try:
                entries = list(os.scandir(self.path / subdir))
            except OSError as exc:
                raise self._error(tr("leer {d}", "read {d}", d=subdir), exc) from exc
            for entry in entries:
                if entry.is_file() and not entry.name.startswith("."):
                    files[entry.name.split(INFO_SEPARATOR, 1)[0]] = Path(entry.path)
        return files

    def new_messages(self, limit: int | None = None) -> Iterator[InboxMessage]:
        listed = []
        for key, path in self._message_files().items():
            try:
                listed.append((path.stat().st_mtime, key, path))
            except FileNotFoundError:
                continue  # moved by another process since the listing
        listed.sort()

        for _mtime, key, path in listed[:limit]:
            message = self._read(key, path)
            if message is not None:
                self._yielded.add(key)
                yield message

    def _read(self, key: str, path: Path) -> InboxMessage | None:
        try:
            with path.open("rb") as stream:
                size = os.fstat(stream.fileno()).st_size
                truncated = size > self.max_message_bytes
                raw = _read_header(stream) if truncated else stream.read()
                delivered = os.fstat(stream.fileno()).st_mtime
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._error(tr("leer un mensaje", "read a message"), exc) from exc

        return InboxMessage(
            uid=key, raw=raw, size=size, truncated=truncated,
            received_at=datetime.fromtimestamp(delivered, timezone.utc))

    def move(self, message: InboxMessage, folder: str) -> None:
        self.move_many([message], folder)

    def move_many(self, messages: list[InboxMessage], folder: str) -> None:
        # One listing for the whole list: a listing per message would make
        # filing a backlog quadratic in its size.
        files = self._message_files()
        for message in messages:
            self._move_file(files.get(message.uid), message, folder)

    def _move_file(self, source: Path | None, message: InboxMessage, folder: str) -> None:
        if source is None:
            raise MailboxError(tr(
                "Maildir {path}: el mensaje {key} ya no está en la bandeja. "
                "Otro proceso lo movió o lo borró",
                "Maildir {path}: message {key} is no longer in the inbox. "
                "Another process moved or deleted it",
                path=self.path, key=message.uid))

        try:
            target = self._folder_path(folder)
            # Rename within one file system is atomic and keeps the mtime.
            os.rename(source, target / source.parent.name / source.name)
        except OSError as exc:
            raise self._error(tr("mover un mensaje a {f}", "move a message to {f}", f=folder), exc) from exc

    def _folder_path(self, folder: str) -> Path:
        try:
            self._maildir.get_folder(folder)
        except mailbox.NoSuchMailboxError:
            self._maildir.add_folder(folder)
        return self.path / f".{folder}"

    def wait_for_new(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            if set(self._message_files()) - self._yielded:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(POLL_SECONDS, remaining))

    def _error(self, action: str, exc: OSError) -> MailboxError:
        return MailboxError(tr(
            "Maildir {path}: no se pudo {action}: {why}. Revise la ruta y los permisos",
            "Maildir {path}: failed to {action}: {why}. Check the path and its permissions",
            path=self.path, action=action, why=exc.strerror or exc))


def _read_header(stream) -> bytes:
    """Read the header block only (up to the first empty line), so a large body stays on disk."""
    lines = []
    total = 0
    for line in stream:
        lines.append(line)
        total += len(line)
        if line in (b"\n", b"\r\n") or total >= MAX_HEADER_BYTES:
            break
    return b"".join(lines)
