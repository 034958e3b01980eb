"""The mailbox the replies arrive in, behind one small interface.

Two implementations: an IMAP folder (``imapbox.ImapInbox``) and a local
Maildir (``maildirbox.MaildirInbox``). The inbox reads messages and files
them in folders. It does not interpret messages: the pipeline decides
what each one is and where the inbox moves it.
"""

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class InboxMessage:
    """One message read from the mailbox."""

    uid: str  # the IMAP UID in decimal, or the Maildir key
    raw: bytes
    received_at: datetime  # aware UTC: IMAP INTERNALDATE, or the Maildir delivery time
    size: int  # the whole message's size in bytes, as the server reports it
    # True when the message is larger than max_message_bytes: ``raw`` then
    # contains the header only, because the body was never downloaded.
    truncated: bool = False


class Inbox(Protocol):
    """A mailbox folder: new messages in, handled messages moved to other folders."""

    # Identifies the mailbox in InboundMessage and MailboxState rows.
    name: str
    # None for a Maildir, which has no UIDVALIDITY.
    uidvalidity: int | None
    # True when UIDVALIDITY differs from the one stored at the last pass, so
    # every UID is new and the caller must recognise messages by Message-ID.
    uidvalidity_changed: bool

    def open(self) -> None:
        """Connect (or open the Maildir) and select the folder to read."""

    def new_messages(self, limit: int | None = None) -> Iterator[InboxMessage]:
        """Yield messages not yet moved away, oldest first, at most ``limit``."""

    def move(self, message: InboxMessage, folder: str) -> None:
        """Move a handled message to ``folder``, creating the folder when missing."""

    def move_many(self, messages: list[InboxMessage], folder: str) -> None:
        """Move several handled messages to ``folder`` at once, as ``move`` does for one."""

    def wait_for_new(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a message not yet yielded, and return whether one came."""

    def close(self) -> None:
        """Save what was seen and release the connection."""


def make_inbox(config) -> Inbox:
    """Return an unopened inbox for the config's ``[mailbox] url``."""
    if config.mailbox.scheme == "maildir":
        from mailtriage.maildirbox import MaildirInbox
        return MaildirInbox(config.mailbox, config.max_message_bytes)

    from mailtriage.imapbox import ImapInbox
    return ImapInbox(config.mailbox, config.max_message_bytes)


@contextlib.contextmanager
def open_inbox(config) -> Iterator[Inbox]:
    """Open the configured mailbox for one pass, and close it afterwards.

    IMAP state (UIDVALIDITY, highest UID handled) is kept in the database,
    which must be open. Failures raise ``MailboxError`` naming host and port.
    """
    inbox = make_inbox(config)
    inbox.open()
    try:
        yield inbox
    finally:
        inbox.close()
