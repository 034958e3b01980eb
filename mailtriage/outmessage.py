"""Building the MIME message of an outbox row."""

import email.policy
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from mailtriage.models import OutboxMessage

# RFC 3834 section 5: "auto-replied" marks a message sent in response to
# another one, and "auto-generated" one sent on a schedule. Both tell
# vacation responders not to reply. Reminders go out as auto-replied, like
# replies, because they follow up the patient's questionnaire thread.
AUTO_SUBMITTED = {"reply": "auto-replied", "reminder": "auto-replied"}
AUTO_GENERATED = "auto-generated"

# RFC 5322 allows lines of up to 998 characters and only recommends 78.
# Folding at 78 made Python move a whole subject such as the reminder's to
# a continuation line, and some clients then show it with a leading space.
SENDING_POLICY = email.policy.SMTP.clone(max_line_length=998)


class CachedHeaderRegistry(HeaderRegistry):
    """A HeaderRegistry that creates each header name's class once.

    Python 3.11's HeaderRegistry creates a new class for every header it
    parses, which took about a third of building and flattening a reply.
    The classes carry no state, so one per name gives the same headers.
    """

    def __init__(self):
        super().__init__()
        self._classes: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        header_class = self._classes.get(key)
        if header_class is None:
            header_class = self._classes[key] = super().__getitem__(name)
        return header_class


# The standard library's default policy, with the header classes cached.
POLICY = email.policy.default.clone(header_factory=CachedHeaderRegistry())


def build_message(row: OutboxMessage, config) -> EmailMessage:
    """Return the UTF-8 message of ``row``: plain text, or text and HTML alternatives."""
    message = EmailMessage(policy=POLICY)
    message["From"] = config.sender
    message["To"] = row.to_address
    message["Subject"] = row.subject
    # The time the message was written, so a resend carries the same Date.
    message["Date"] = format_datetime(row.created_at)
    message["Message-ID"] = row.message_id
    if row.in_reply_to:
        message["In-Reply-To"] = row.in_reply_to
    if row.references:
        message["References"] = row.references
    message["Auto-Submitted"] = AUTO_SUBMITTED.get(row.kind, AUTO_GENERATED)

    for name, value in (row.extra_headers or {}).items():
        del message[name]
        message[name] = value

    # Quoted-printable keeps the body 7-bit, so a relay without 8BITMIME
    # takes it unchanged.
    message.set_content(row.body_text, charset="utf-8", cte="quoted-printable")
    if row.body_html:
        message.add_alternative(row.body_html, subtype="html", charset="utf-8",
                                cte="quoted-printable")
    return message


def message_bytes(message: EmailMessage) -> bytes:
    """Return the message as sent: CRLF line ends, headers unfolded up to 998 characters."""
    return message.as_bytes(policy=SENDING_POLICY)


def envelope_sender(config) -> str:
    """Return the bare address of ``[smtp] from``, for MAIL FROM."""
    return parseaddr(config.sender)[1]


def envelope_recipient(row: OutboxMessage) -> str:
    """Return the bare address of the row's recipient, for RCPT TO."""
    return parseaddr(row.to_address)[1] or row.to_address
