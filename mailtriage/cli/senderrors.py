"""The SMTP failure texts stored on outbox rows, shown in the user's language.

The outbox stores a failure as text, and the part that aiosmtplib and the
operating system wrote is English, such as "Error connecting to 127.0.0.1
on port 8025: [Errno 111] Connect call failed ('127.0.0.1', 8025)". In
Spanish that part is replaced by the reason `mailtriage check` gives for
the same failure (mailprobes.known_reason), or else by the system's reason
in Spanish. English keeps the library's detail for administrators.
"""

import re

from mailtriage.i18n import current_language, describe_os_error, tr

# aiosmtplib's connect error, or an OSError's own text, up to the end of the line.
_OS_ERROR_TEXT = re.compile(r"(?:Error connecting to \S+ on port \d+: )?\[Errno (-?\d+)\] [^\n]*")

# aiosmtplib's texts when the server drops the connection (aiosmtplib 5.1, protocol.py and smtp.py).
_DISCONNECTED_TEXTS = ("Connection lost", "Unexpected EOF received", "Server not connected")


def localize_send_error(text: str) -> str:
    """Translate the English reasons from aiosmtplib and the system in ``text`` into the active language."""
    if current_language() == "en":
        return text

    text = _OS_ERROR_TEXT.sub(_os_error_reason, text)
    for english in _DISCONNECTED_TEXTS:
        text = text.replace(english, tr("el servidor cerró la conexión", "the server closed the connection"))
    return text


def _os_error_reason(found: re.Match) -> str:
    from mailtriage.mailprobes import known_reason

    # NOTE: an errno missing from i18n's table keeps the system's English reason.
    number = int(found.group(1))
    error = OSError(number, found.group(0).split("] ", 1)[1])
    return known_reason(error) or describe_os_error(error)
