"""Claims that keep daemons sharing one PostgreSQL database off each other's work.

Several daemons may read one mailbox and send one outbox. Before a daemon
handles an inbound message or sends an outbox row, it takes a PostgreSQL
session-level advisory lock on the row's id, and it skips a row another
daemon holds. The lock outlives the transactions in between, and
PostgreSQL releases it when the holder's connection ends. So a daemon that
crashes frees its rows at once, and a restart resends no later than a
single daemon would.

On SQLite every claim succeeds without a query. SQLite serves a single
daemon, so nothing else can hold the row.
"""

from peewee import PostgresqlDatabase

from mailtriage.models import database_proxy

# Advisory lock keys are two 32-bit integers: a class below and the row id.
# The class values are arbitrary but distinctive ("mt" in their high bytes),
# so they do not meet the locks of another program on the same database.
INBOUND_MESSAGE = 0x6D740001
OUTBOX_MESSAGE = 0x6D740002

# The lock that serialises schema migrations of daemons starting together.
SCHEMA_MIGRATIONS = 0x6D740003


def is_shared(database=None) -> bool:
    """Return whether the database can be shared by several daemons (PostgreSQL)."""
    return isinstance(database or database_proxy.obj, PostgresqlDatabase)


def claim(lock_class: int, row_id: int) -> bool:
    """Take this connection's claim on a row, and return False when another daemon holds it."""
    if not is_shared():
        return True
    cursor = database_proxy.execute_sql("SELECT pg_try_advisory_lock(%s, %s)", (lock_class, row_id))
    return bool(cursor.fetchone()[0])


def release(lock_class: int, row_id: int) -> None:
    """Release a claim taken with ``claim`` on this connection."""
    if is_shared():
        database_proxy.execute_sql("SELECT pg_advisory_unlock(%s, %s)", (lock_class, row_id))


def claim_many(lock_class: int, row_ids: list[int]) -> set[int]:
    """Claim each row that no other daemon holds, in one query, and return the ids claimed."""
    if not is_shared():
        return set(row_ids)
    if not row_ids:
        return set()
    cursor = database_proxy.execute_sql(
        "SELECT id FROM unnest(%s::integer[]) AS id WHERE pg_try_advisory_lock(%s, id)",
        (list(row_ids), lock_class))
    return {row[0] for row in cursor.fetchall()}


def release_many(lock_class: int, row_ids) -> None:
    if is_shared() and row_ids:
        database_proxy.execute_sql(
            "SELECT pg_advisory_unlock(%s, id) FROM unnest(%s::integer[]) AS id",
            (lock_class, list(row_ids)))


def lock_schema(database) -> None:
    """Wait until no other daemon migrates the schema, for the rest of this transaction."""
    if is_shared(database):
        database.execute_sql("SELECT pg_advisory_xact_lock(%s, 0)", (SCHEMA_MIGRATIONS,))
