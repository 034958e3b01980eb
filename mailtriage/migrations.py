"""Named schema migrations, applied in order at start-up.

Each migration runs in one transaction together with the row that records
it, so a crash leaves the schema either before or after the step. New
migrations are appended; an applied one is never edited.
"""

import logging

from mailtriage import clock
from mailtriage.models import ALL_MODELS, SchemaMigration

log = logging.getLogger("mailtriage.migrations")


def create_initial_schema(database) -> None:
    database.create_tables(ALL_MODELS, safe=True)


MIGRATIONS = (
    ("0001_initial_schema", create_initial_schema),
)


def pending_migrations(database) -> list[str]:
    if not database.table_exists(SchemaMigration._meta.table_name):
        return [name for name, _ in MIGRATIONS]
    applied = {row.name for row in SchemaMigration.select(SchemaMigration.name)}
    return [name for name, _ in MIGRATIONS if name not in applied]


def apply_migrations(database) -> list[str]:
    """Apply every pending migration and return their names."""
    pending = pending_migrations(database)
    steps = dict(MIGRATIONS)
    for name in pending:
        with database.atomic():
            steps[name](database)
            SchemaMigration.create(name=name, applied_at=clock.now())
        log.info("schema migration applied: %s", name)
    return pending
