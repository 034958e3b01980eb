"""The I/O floor: fetch and send with bare clients, with no parsing, storing or rendering.

Both use the daemon's own batch size and connection count, so the floor is
what the daemon's I/O pattern costs by itself on this machine.
"""

import asyncio
import time

import aiosmtplib
from imapclient import IMAPClient

from mailtriage.imapbox import FETCH_BATCH_MESSAGES
from mailtriage.smtpsend import MAX_CONNECTIONS

from benchsite import LOOPBACK


def fetch_all(dovecot, user) -> tuple[int, float]:
    """Fetch every message of the user's INBOX with BODY.PEEK[]; return (count, seconds)."""
    started = time.perf_counter()
    imap = IMAPClient(LOOPBACK, port=dovecot.imap_port, ssl=False, timeout=60)
    imap.login(user.name, user.password)
    imap.select_folder("INBOX", readonly=True)
    uids = sorted(imap.search(["NOT", "DELETED"]))

    count = 0
    for start in range(0, len(uids), FETCH_BATCH_MESSAGES):
        fetched = imap.fetch(uids[start:start + FETCH_BATCH_MESSAGES], ["BODY.PEEK[]"])
        count += len(fetched)
    imap.logout()
    return count, time.perf_counter() - started


def send_all(port: int, messages: list[tuple[str, str, bytes]]) -> float:
    """Send (sender, recipient, bytes) triples on MAX_CONNECTIONS connections; return seconds."""
    started = time.perf_counter()
    asyncio.run(_send(port, messages))
    return time.perf_counter() - started


async def _send(port: int, messages) -> None:
    queue = iter(messages)
    await asyncio.gather(*(_worker(port, queue) for _ in range(min(MAX_CONNECTIONS, len(messages)))))


async def _worker(port: int, queue) -> None:
    client = aiosmtplib.SMTP(hostname=LOOPBACK, port=port, local_hostname="umf34.example.mx",
                             start_tls=False, timeout=60)
    await client.connect()
    for sender, recipient, raw in queue:
        await client.sendmail(sender, [recipient], raw)
    await client.quit()
