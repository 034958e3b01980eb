"""The error hierarchy.

Every expected failure is a MailtriageError whose message is one line a
user can act on, already in the configured language. The CLI prints it
without a traceback; the daemon logs it and carries on with the next
message or pass.
"""


class MailtriageError(Exception):
    """An expected failure with a message for the user."""


class ConfigError(MailtriageError):
    """The configuration file is missing, unreadable or invalid: the program cannot start."""


class DatabaseError(MailtriageError):
    """The database is missing, unreadable, locked or full."""


class MailboxError(MailtriageError):
    """The mailbox cannot be reached or refused an operation: the pass is retried later."""


class SendError(MailtriageError):
    """The SMTP server cannot be reached or refused a message."""

    def __init__(self, message: str, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


class RulesError(MailtriageError):
    """A rule file is invalid: the program cannot start."""


class NotFoundError(MailtriageError):
    """A patient, report or other record named by the user does not exist."""
