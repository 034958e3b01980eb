"""Sending outbox rows over SMTP with aiosmtplib, on a few connections reused for the pass.

Up to MAX_CONNECTIONS workers each open one connection and send rows one
after another on it. When a connection fails, its worker defers the row it
held, and the pass stops handing out rows: a relay that is down costs one
timeout per worker, not one per message.
"""

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Iterator

import aiosmtplib

from mailtriage import faults
from mailtriage.i18n import tr
from mailtriage.logsetup import MessageId, redact
from mailtriage.messageids import sender_domain
from mailtriage.models import OutboxMessage
from mailtriage.outbox import Outcomes
from mailtriage.outmessage import build_message, envelope_recipient, envelope_sender, message_bytes
from mailtriage.tls import client_context

log = logging.getLogger("mailtriage.outbox")

# Connections open at once to the SMTP server, few because relays limit
# connections per client. NOTE: four is an estimate, not measured against the
# institute's relay.
MAX_CONNECTIONS = 4

# Connecting, and each SMTP command, may take this long.
SMTP_TIMEOUT_SECONDS = 60

# RFC 5321 section 3.8: 421 means the server is closing the connection.
SERVICE_CLOSING = 421


class ConnectionFailed(Exception):
    """The connection to the SMTP server failed or was lost. The message is for the operator."""


async def send_over_smtp(rows: list[OutboxMessage], config, outcomes: Outcomes) -> None:
    """Send ``rows`` on up to MAX_CONNECTIONS connections, committing each outcome."""
    queue = iter(rows)
    workers = min(MAX_CONNECTIONS, len(rows))
    await asyncio.gather(*(_worker(queue, config, outcomes) for _ in range(workers)))


async def _worker(queue: Iterator[OutboxMessage], config, outcomes: Outcomes) -> None:
    client = None
    try:
        # The event loop runs one worker at a time, so next() hands each row out once.
        while outcomes.summary.error is None and (row := next(queue, None)) is not None:
            try:
                if client is None:
                    client = await _connect(config)
                await _send_one(client, row, config, outcomes)
            except ConnectionFailed as exc:
                outcomes.deferred(row, str(exc))
                if outcomes.summary.error is None:
                    outcomes.summary.error = str(exc)
                    log.error("outbox: %s", exc)
                return
    finally:
        if client is not None:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await client.quit()


async def _send_one(client: aiosmtplib.SMTP, row: OutboxMessage, config, outcomes: Outcomes) -> None:
    try:
        message = build_message(row, config)
    except (ValueError, TypeError) as exc:
        # A header no message can carry (a line break in the subject): no retry helps.
        outcomes.failed(row, tr("mensaje no válido: {why}", "invalid message: {why}", why=exc))
        return

    faults.fault_point(faults.BEFORE_SEND)
    try:
        await client.sendmail(envelope_sender(config), [envelope_recipient(row)],
                              message_bytes(message))
    except aiosmtplib.SMTPRecipientsRefused as exc:
        refusal = exc.recipients[0]
        _record_refusal(row, refusal.code, refusal.message, outcomes)
        return
    except aiosmtplib.SMTPResponseException as exc:
        _record_refusal(row, exc.code, exc.message, outcomes)
        return
    except aiosmtplib.SMTPNotSupported as exc:
        # A non-ASCII address needs SMTPUTF8, which this server lacks.
        outcomes.failed(row, str(exc))
        return
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise ConnectionFailed(_connection_error(config, exc)) from exc

    faults.fault_point(faults.AFTER_SEND)
    outcomes.sent(row)


def _record_refusal(row: OutboxMessage, code: int, text: str, outcomes: Outcomes) -> None:
    """Fail the row on a 5xx reply, and defer it on a 4xx reply.

    The row keeps the whole reply for `mailtriage outbox list`. The log line
    carries it with the recipient's address redacted, as a reply such as
    "550 5.1.1 <ana@example.org>: User unknown" names it.
    """
    reply = f"{code} {text}".strip()
    log.warning("outbox %d message %s: the SMTP server replied %s", row.id, MessageId(row.message_id),
                redact(" ".join(reply.split())))
    if code == SERVICE_CLOSING:
        raise ConnectionFailed(reply)
    if code >= 500:
        outcomes.failed(row, reply)
    else:
        outcomes.deferred(row, reply)


async def _connect(config) -> aiosmtplib.SMTP:
    """Open, secure and log in one connection as the ``[smtp] url`` sets."""
    endpoint = config.smtp
    client = aiosmtplib.SMTP(
        hostname=endpoint.host, port=endpoint.port,
        # EHLO names the sender's domain, so no DNS look-up of this host is needed.
        local_hostname=sender_domain(config), timeout=SMTP_TIMEOUT_SECONDS,
        use_tls=endpoint.scheme == "smtps", start_tls=endpoint.scheme == "smtp+starttls",
        tls_context=client_context(endpoint) if endpoint.uses_tls else None)
    try:
        await client.connect()
        if endpoint.username:
            await client.login(endpoint.username, endpoint.password)
    except aiosmtplib.SMTPAuthenticationError as exc:
        raise ConnectionFailed(tr(
            "El servidor SMTP {where} rechazó el inicio de sesión ({code}). Revise el usuario "
            "de la URL y la contraseña de [smtp]",
            "The SMTP server {where} rejected the login ({code}). Check the user name in the "
            "URL and the password of [smtp]", where=endpoint.display, code=exc.code)) from exc
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise ConnectionFailed(_connection_error(config, exc)) from exc
    return client


def _connection_error(config, exc: Exception) -> str:
    where = config.smtp.display
    verification = _certificate_error(exc)
    if verification is not None:
        return tr(
            "El certificado TLS de {where} no es válido ({why}). Si el servidor usa una CA "
            "propia, indíquela con ca_file en [smtp]",
            "The TLS certificate of {where} failed verification ({why}). If the server uses "
            "a private CA, set ca_file in [smtp]", where=where, why=verification.verify_message)
    if isinstance(exc, TimeoutError):
        return tr("Servidor SMTP {where}: se agotó el tiempo de espera ({n} s)",
                  "SMTP server {where}: timed out after {n} s", where=where, n=SMTP_TIMEOUT_SECONDS)
    return tr("Servidor SMTP {where}: falló la conexión: {why}",
              "SMTP server {where}: connection failed: {why}", where=where, why=exc)


def _certificate_error(exc: BaseException | None) -> ssl.SSLCertVerificationError | None:
    """Return the certificate verification error behind ``exc``, if any."""
    while exc is not None:
        if isinstance(exc, ssl.SSLCertVerificationError):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None
