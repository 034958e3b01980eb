"""Named schema migrations, applied in order at start-up.

Each migration runs in one transaction together with the row that records
it, so a crash leaves the schema either before or after the step. New
migrations are appended; an applied one is never edited.
"""

import logging
from pathlib import Path

from peewee import PostgresqlDatabase, SqliteDatabase

from mailtriage import claims, clock
from mailtriage.backup import backup_next_to
from mailtriage.models import ALL_MODELS, Retriage, SchemaMigration

log = logging.getLogger("mailtriage.migrations")


def create_initial_schema(database) -> None:
    database.create_tables(ALL_MODELS, safe=True)


def create_retriage_table(database) -> None:
    from mailtriage.models import Retriage
    database.create_tables([Retriage], safe=True)


def create_lookup_indexes(database) -> None:
    # Each reply looks its sender up by lower-cased address and counts the
    # replies sent to that address in the last hour. Without these indexes
    # both scan their whole table, so draining a backlog grew quadratically.
    database.execute_sql('CREATE INDEX IF NOT EXISTS "patient_email_lower" ON "patient" (LOWER("email"))')
    database.execute_sql('CREATE INDEX IF NOT EXISTS "outboxmessage_to_address_created_at" '
                         'ON "outboxmessage" ("to_address", "created_at")')


def widen_text_columns(database) -> None:
    # PostgreSQL enforces the VARCHAR(255) that peewee gives a CharField. A
    # patient's mail client may send a longer Message-ID or Subject, and
    # enrolment sets no length limit, so such a value failed its insert and,
    # for an inbound message, the whole pass. SQLite ignores the length.
    if not isinstance(database, PostgresqlDatabase):
        return
    tables = [model._meta.table_name for model in (*ALL_MODELS, Retriage)]
    cursor = database.execute_sql(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = ANY(%s) "
        "AND data_type = 'character varying' AND character_maximum_length = 255", (tables,))
    for table, column in cursor.fetchall():
        database.execute_sql(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE TEXT')


MIGRATIONS = (
    ("0001_initial_schema", create_initial_schema),
    ("0002_retriage", create_retriage_table),
    ("0003_lookup_indexes", create_lookup_indexes),
    ("0004_postgresql_text_columns", widen_text_columns),
)


def pending_migrations(database) -> list[str]:
    if not database.table_exists(SchemaMigration._meta.table_name):
        return [name for name, _ in MIGRATIONS]
    applied = {row.name for row in SchemaMigration.select(SchemaMigration.name)}
    return [name for name, _ in MIGRATIONS if name not in applied]


def apply_migrations(database) -> list[str]:
    """Apply every pending migration and return the names of those this process applied."""
    pending = pending_migrations(database)
    if pending:
        back_up_before_upgrade(database, pending[0])

    steps = dict(MIGRATIONS)
    applied = []
    for name in pending:
        with database.atomic():
            # Daemons starting together on one PostgreSQL database take turns,
            # and a step another daemon applied meanwhile is skipped.
            claims.lock_schema(database)
            if name not in pending_migrations(database):
                continue
            steps[name](database)
            SchemaMigration.create(name=name, applied_at=clock.now())
        applied.append(name)
        log.info("schema migration applied: %s", name)
    return applied


def back_up_before_upgrade(database, first_pending: str) -> None:
    """Copy an existing, non-empty SQLite database beside itself before its schema changes.

    A failed or unwanted upgrade can then be undone with ``mailtriage restore``.
    A new, empty database has nothing to lose; PostgreSQL is backed up with
    pg_dump by its administrator.
    """
    if not isinstance(database, SqliteDatabase) or database.database == ":memory:":
        return
    if not database.get_tables():
        return

    path = Path(database.database)
    copy = backup_next_to(path, f"before-{first_pending}")
    log.info("database backed up before schema migration %s: %s", first_pending, copy)
