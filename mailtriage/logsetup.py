"""Logging to stderr, one line per event, for the systemd journal or a log collector.

The ``text`` format is what journalctl shows; under systemd, which sets
``$JOURNAL_STREAM``, the journal adds the time, elsewhere each line starts with it.
The ``json`` format writes one object per line with the keys ``ts``,
``level``, ``logger`` and ``msg``, plus any ``extra=`` values of the call.
Both formats pass through a filter that replaces email addresses, because
a patient's address must not reach a log even when a library puts one in an
exception message.
"""

import json
import logging
import os
import re
import sys
from datetime import datetime, timezone

TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"
TIMED_TEXT_FORMAT = "%(asctime)s " + TEXT_FORMAT
REDACTED_ADDRESS = "[email redacted]"

# Libraries whose DEBUG records contain message contents or query parameters.
CONTENT_LOGGERS = ("peewee", "imapclient", "aiosmtplib")

# A pragmatic address pattern: it matches what appears in mail server
# replies and exception texts, not every form RFC 5322 allows.
EMAIL_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "taskName"}


class MessageId(str):
    """A Message-ID passed as a log argument: the redaction filter leaves it readable.

    A Message-ID has the form of an address (``<local@host>``) but names a
    message, not a person, and it is how an administrator finds the message.
    """


def redact(text: str) -> str:
    return EMAIL_ADDRESS.sub(REDACTED_ADDRESS, text)


def readable_message_id(message_id: str) -> str:
    """Keep a machine-made Message-ID readable; mask one that could be a person's address.

    Mail programs build the left part from random characters and digits.
    A few clients put the sender's own address there (``<dora@example.org>``),
    which must not reach a log, so a left part without a digit is masked.
    """
    local, at, domain = message_id.strip("<>").rpartition("@")
    if not at or any(character.isdigit() for character in local):
        return message_id
    return f"<…@{domain}>"


def _redact_value(value):
    if isinstance(value, MessageId):
        return readable_message_id(value)
    if isinstance(value, str):
        return redact(value)

    # Any other object (an exception, a path, a model) is replaced by its
    # redacted text only when that text contains an address, so numbers
    # still format with %d.
    text = str(value)
    return redact(text) if EMAIL_ADDRESS.search(text) else value


class RedactEmailFilter(logging.Filter):
    """Replace email addresses in a record's message, arguments, extras and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(str(record.msg))
        if isinstance(record.args, dict):
            record.args = {key: _redact_value(value) for key, value in record.args.items()}
        elif record.args:
            record.args = tuple(_redact_value(value) for value in record.args)

        for key in extra_keys(record):
            setattr(record, key, _redact_value(getattr(record, key)))

        # Format the traceback here, so the formatter prints the redacted text.
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def extra_keys(record: logging.LogRecord) -> list[str]:
    return [key for key in vars(record) if key not in _RECORD_ATTRIBUTES]


class OneLineFormatter(logging.Formatter):
    """The text format; a traceback's line breaks become `` | `` so the journal keeps one entry."""

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\n", " | ")


class JSONFormatter(logging.Formatter):
    """One JSON object per line: ts (UTC, ISO 8601), level, logger, msg, extras and exc."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in extra_keys(record):
            entry[key] = getattr(record, key)

        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


class StderrHandler(logging.StreamHandler):
    """A handler writing to whatever ``sys.stderr`` is at the time of each record.

    Click's test runner swaps ``sys.stderr`` for each command; a handler that
    kept the stream of its creation would write to a closed one later.
    """

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    """Send every log record to stderr in the chosen format (``text`` or ``json``), redacted.

    Calling it again replaces the earlier handler, so the CLI can first log
    with defaults and then with the config's choice.
    """
    if fmt not in ("text", "json"):
        raise ValueError(f"unknown log format {fmt!r}; use 'text' or 'json'")

    handler = StderrHandler()
    if fmt == "json":
        handler.setFormatter(JSONFormatter())
    else:
        under_journal = bool(os.environ.get("JOURNAL_STREAM"))
        handler.setFormatter(OneLineFormatter(TEXT_FORMAT if under_journal else TIMED_TEXT_FORMAT))
    handler.addFilter(RedactEmailFilter())
    handler.set_name("mailtriage")

    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == "mailtriage":
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # At DEBUG these log SQL parameters and IMAP message bodies, which hold health data.
    for name in CONTENT_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.INFO, root.level))
