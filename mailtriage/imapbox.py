"""An IMAP folder as the inbox (imapclient), UID-based.

The folder's UIDVALIDITY and a UID watermark are kept in MailboxState:
every message at or below the watermark was moved away, so a pass searches
only above it. A message left in the folder (its handling failed and will
be retried) keeps the watermark below its UID. Handled messages leave the
folder with MOVE (RFC 6851) where the server offers it, else with COPY,
\\Deleted and EXPUNGE.
"""

import contextlib
import logging
import socket
import ssl
import time
from collections.abc import Iterator
from datetime import timezone

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from mailtriage import clock
from mailtriage.config import Endpoint
from mailtriage.errors import MailboxError
from mailtriage.i18n import tr
from mailtriage.inbox import InboxMessage
from mailtriage.models import MailboxState
from mailtriage.tls import client_context

log = logging.getLogger("mailtriage.inbox")

# Connecting, and each read or write, may take this long before the pass
# fails. A server busy with a large mailbox responds well within it.
TIMEOUT_SECONDS = 60

# Messages per UID FETCH. Dovecot 2.3 delivers 5,000-9,000 small messages a
# second in batches of 100-500, and 1,500-2,000 a second one at a time.
FETCH_BATCH_MESSAGES = 200
# Message bytes per body FETCH, so a batch of replies with photos attached
# cannot hold gigabytes in memory. Python 3.11's email package parses a
# 5.5 MiB message with about 42 MiB of temporary objects (tracemalloc), and
# the daemon's peak memory is that plus one batch.
FETCH_BATCH_BYTES = 8 * 1024 * 1024

# RFC 2177 section 3: a server may drop a client idle for 30 minutes, so IDLE
# is renewed before that.
IDLE_RENEW_SECONDS = 25 * 60
# Without IDLE, wait_for_new sends NOOP this often.
NOOP_POLL_SECONDS = 5


class ImapInbox:
    """One folder of an IMAP account, read by UID."""

    def __init__(self, endpoint: Endpoint, max_message_bytes: int):
        self.endpoint = endpoint
        self.max_message_bytes = max_message_bytes
        self.folder = endpoint.folder or "INBOX"
        # Independent of imap:// or imaps:// and the port, so a change of
        # transport keeps the state.
        self.name = f"imap://{endpoint.username}@{endpoint.host}/{self.folder}"
        self.uidvalidity: int | None = None
        self.uidvalidity_changed = False
        self._client: IMAPClient | None = None
        self._state: MailboxState | None = None
        self._unmoved: set[int] = set()  # yielded in this session, not moved yet
        self._highest_yielded = 0
        self._known_folders: set[str] = set()

    # ------------------------------------------------------------------ session

    def open(self) -> None:
        self._client = self._connect()
        try:
            with self._server_errors(tr("abrir la carpeta {f}", "open the folder {f}", f=self.folder)):
                selected = self._client.select_folder(self.folder)
        except MailboxError:
            _logout_quietly(self._client)
            self._client = None
            raise
        self.uidvalidity = int(selected[b"UIDVALIDITY"])
        self._load_state()

    def _connect(self) -> IMAPClient:
        with self._server_errors(tr("conectar", "connect")):
            client = IMAPClient(
                self.endpoint.host, port=self.endpoint.port, ssl=self.endpoint.scheme == "imaps",
                ssl_context=client_context(self.endpoint) if self.endpoint.uses_tls else None,
                timeout=TIMEOUT_SECONDS)
        # Aware INTERNALDATEs, converted to UTC below, instead of naive local times.
        client.normalise_times = False

        try:
            client.login(self.endpoint.username, self.endpoint.password)
        except LoginError as exc:
            _logout_quietly(client)
            raise MailboxError(tr(
                "El servidor IMAP {where} rechazó el inicio de sesión del usuario configurado. "
                "Revise el usuario de la URL y la contraseña",
                "The IMAP server {where} rejected the login of the configured user. "
                "Check the user name in the URL and the password",
                where=self.endpoint.display)) from exc
        except (OSError, IMAPClientError) as exc:
            _logout_quietly(client)
            raise self._error(tr("iniciar sesión", "log in"), exc) from exc
        return client

    def close(self) -> None:
        if self._client is None:
            return
        self._save_state()
        _logout_quietly(self._client)
        self._client = None

    def _load_state(self) -> None:
        state, _created = MailboxState.get_or_create(
            mailbox=self.name, defaults={"uidvalidity": self.uidvalidity, "updated_at": clock.now()})
        if state.uidvalidity not in (None, self.uidvalidity):
            log.warning("mailbox %s folder %s: UIDVALIDITY changed from %s to %s, so every "
                        "message is read again and recognised by its Message-ID",
                        self.endpoint.display, self.folder, state.uidvalidity, self.uidvalidity)
            self.uidvalidity_changed = True
            state.last_uid = 0
        state.uidvalidity = self.uidvalidity
        self._state = state
        self._save_state()

    def _watermark(self) -> int:
        if self._unmoved:
            return min(self._unmoved) - 1
        return max(self._state.last_uid, self._highest_yielded)

    def _save_state(self) -> None:
        self._state.last_uid = self._watermark()
        self._state.updated_at = clock.now()
        self._state.save()

    # ------------------------------------------------------------------ reading

    def new_messages(self, limit: int | None = None) -> Iterator[InboxMessage]:
        uids = self._uids_above(self._state.last_uid)
        if limit is not None:
            uids = uids[:limit]

        for start in range(0, len(uids), FETCH_BATCH_MESSAGES):
            chunk = uids[start:start + FETCH_BATCH_MESSAGES]
            with self._server_errors(tr("leer tamaños y fechas", "read sizes and dates")):
                facts = self._client.fetch(chunk, ["RFC822.SIZE", "INTERNALDATE"])
            # A UID missing from the response was moved by another client meanwhile.
            present = [uid for uid in chunk if uid in facts]
            yield from self._fetch_bodies(present, facts)

        self._save_state()

    def _uids_above(self, watermark: int) -> list[int]:
        # "N:*" also matches the highest UID when it is below N (RFC 3501
        # section 6.4.8), hence the filter.
        with self._server_errors(tr("buscar mensajes nuevos", "search for new messages")):
            found = self._client.search(["UID", f"{watermark + 1}:*", "NOT", "DELETED"])
        return sorted(uid for uid in found if uid > watermark)

    def _fetch_bodies(self, uids: list[int], facts: dict) -> Iterator[InboxMessage]:
        """Yield the messages in UID order: small ones in byte-bounded batches, oversize ones as headers."""
        batch: list[int] = []
        batch_bytes = 0
        for uid in uids:
            size = facts[uid][b"RFC822.SIZE"]
            if size > self.max_message_bytes:
                yield from self._fetch_batch(batch, facts)
                batch, batch_bytes = [], 0
                yield from self._fetch_batch([uid], facts, header_only=True)
                continue

            if batch and batch_bytes + size > FETCH_BATCH_BYTES:
                yield from self._fetch_batch(batch, facts)
                batch, batch_bytes = [], 0
            batch.append(uid)
            batch_bytes += size
        yield from self._fetch_batch(batch, facts)

    def _fetch_batch(self, uids: list[int], facts: dict, header_only: bool = False) -> Iterator[InboxMessage]:
        if not uids:
            return
        part, key = (b"BODY.PEEK[HEADER]", b"BODY[HEADER]") if header_only else (b"BODY.PEEK[]", b"BODY[]")
        with self._server_errors(tr("descargar mensajes", "download messages")):
            bodies = self._client.fetch(uids, [part])

        for uid in uids:
            # Popped, so each message's bytes are freed once the caller is done with it.
            fetched = bodies.pop(uid, {})
            if key not in fetched:
                continue
            self._unmoved.add(uid)
            self._highest_yielded = max(self._highest_yielded, uid)
            yield InboxMessage(
                uid=str(uid), raw=fetched[key],
                received_at=facts[uid][b"INTERNALDATE"].astimezone(timezone.utc),
                size=facts[uid][b"RFC822.SIZE"], truncated=header_only)

    # ------------------------------------------------------------------ filing

    def move(self, message: InboxMessage, folder: str) -> None:
        self.move_many([message], folder)

    def move_many(self, messages: list[InboxMessage], folder: str) -> None:
        # One command for the whole list: Dovecot 2.3 takes about 5 ms per
        # MOVE command on a Maildir, whatever the number of UIDs in it.
        uids = [int(message.uid) for message in messages]
        if not uids:
            return
        with self._server_errors(tr("mover mensajes a {f}", "move messages to {f}", f=folder)):
            self._ensure_folder(folder)
            if self._client.has_capability("MOVE"):
                self._client.move(uids, folder)
            else:
                self._copy_and_expunge(uids, folder)
        self._unmoved.difference_update(uids)

    def _copy_and_expunge(self, uids: list[int], folder: str) -> None:
        # A crash after COPY leaves the messages in both folders. They are flagged
        # \Deleted only after the copy, and searches skip \Deleted messages.
        self._client.copy(uids, folder)
        self._client.add_flags(uids, [b"\\Deleted"], silent=True)
        if self._client.has_capability("UIDPLUS"):
            self._client.uid_expunge(uids)
            return
        # NOTE: without UIDPLUS, EXPUNGE also removes any other message of the
        # folder that a person flagged \Deleted. Dovecot 2.3 offers UIDPLUS, so
        # this path runs only on servers that lack it.
        self._client.expunge()

    def _ensure_folder(self, folder: str) -> None:
        if folder in self._known_folders:
            return
        if not self._client.folder_exists(folder):
            try:
                self._client.create_folder(folder)
            except IMAPClientError:
                # Another daemon of the same mailbox may have created it meanwhile.
                if not self._client.folder_exists(folder):
                    raise
        self._known_folders.add(folder)

    # ------------------------------------------------------------------ waiting

    def wait_for_new(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        if self._has_newer():
            return True

        idle = self._client.has_capability("IDLE")
        while (remaining := deadline - time.monotonic()) > 0:
            step = min(remaining, IDLE_RENEW_SECONDS if idle else NOOP_POLL_SECONDS)
            with self._server_errors(tr("esperar mensajes nuevos", "wait for new messages")):
                activity = self._idle(step) if idle else self._noop_after(step)
            # Any untagged response may announce a message. Some servers send
            # EXISTS after other changes too, so a UID search decides.
            if activity and self._has_newer():
                return True
        return False

    def _has_newer(self) -> bool:
        return bool(self._uids_above(max(self._state.last_uid, self._highest_yielded)))

    def _idle(self, seconds: float) -> list:
        self._client.idle()
        try:
            responses = self._client.idle_check(timeout=seconds)
        finally:
            _text, more = self._client.idle_done()
        return responses + more

    def _noop_after(self, seconds: float) -> list:
        time.sleep(seconds)
        _text, responses = self._client.noop()
        return responses

    # ------------------------------------------------------------------ errors

    @contextlib.contextmanager
    def _server_errors(self, action: str):
        """Turn socket, TLS and IMAP failures during ``action`` into one-line MailboxErrors."""
        try:
            yield
        except (OSError, IMAPClientError) as exc:
            raise self._error(action, exc) from exc

    def _error(self, action: str, exc: Exception) -> MailboxError:
        where = self.endpoint.display
        if isinstance(exc, ssl.SSLCertVerificationError):
            return MailboxError(tr(
                "El certificado TLS de {where} no es válido ({why}). Si el servidor usa una CA "
                "propia, indíquela con ca_file en [mailbox]",
                "The TLS certificate of {where} failed verification ({why}). If the server uses "
                "a private CA, set ca_file in [mailbox]", where=where, why=exc.verify_message))
        if isinstance(exc, (socket.timeout, TimeoutError)):
            return MailboxError(tr(
                "Servidor IMAP {where}: se agotó el tiempo de espera ({n} s) al {action}. "
                "Se reintentará en la siguiente pasada",
                "IMAP server {where}: timed out after {n} s trying to {action}. "
                "The next pass retries", where=where, n=TIMEOUT_SECONDS, action=action))
        return MailboxError(tr(
            "Servidor IMAP {where}: no se pudo {action}: {why}",
            "IMAP server {where}: failed to {action}: {why}",
            action=action, where=where, why=_one_line(exc)))


def _one_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def _logout_quietly(client: IMAPClient) -> None:
    # The connection may be gone already. Nothing is left to save at logout.
    with contextlib.suppress(OSError, IMAPClientError):
        client.logout()
