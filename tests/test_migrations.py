"""Schema upgrades: an older database is upgraded on open, after a backup next to it."""

import sqlite3

import pytest
from peewee import SqliteDatabase

from mailtriage import migrations
from mailtriage.models import database_proxy, open_database

FIRST = migrations.MIGRATIONS[0][0]
SECOND = "0002_test_report_comment"


def add_comment_column(database):
    database.execute_sql("ALTER TABLE report ADD COLUMN staff_comment TEXT")


@pytest.fixture
def second_migration(monkeypatch):
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:1] + ((SECOND, add_comment_column),))


def make_first_schema_database(path):
    """Create a database as the first release left it: the first migration only, and one unit."""
    database = SqliteDatabase(str(path))
    database_proxy.initialize(database)
    database.connect()
    migrations.create_initial_schema(database)
    database.close()

    connection = sqlite3.connect(path)
    with connection:
        connection.execute("INSERT INTO schemamigration (name, applied_at) VALUES (?, '2026-01-01 00:00:00')",
                           (FIRST,))
        connection.execute("INSERT INTO unit (code, name, timezone) VALUES ('UMF-34', 'UMF 34', 'America/Mazatlan')")
        connection.execute("PRAGMA journal_mode=WAL")
    connection.close()


def columns(path, table):
    connection = sqlite3.connect(path)
    try:
        return {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}
    finally:
        connection.close()


def test_old_database_upgraded_with_backup(tmp_path, second_migration):
    path = tmp_path / "mailtriage.db"
    make_first_schema_database(path)

    open_database(f"sqlite:///{path}").close()

    assert "staff_comment" in columns(path, "report")
    applied = sqlite3.connect(path).execute("SELECT name FROM schemamigration ORDER BY id").fetchall()
    assert applied == [(FIRST,), (SECOND,)]

    backups = list(tmp_path.glob(f"mailtriage.db.before-{SECOND}-*.bak"))
    assert len(backups) == 1
    assert "staff_comment" not in columns(backups[0], "report")
    copy = sqlite3.connect(backups[0])
    assert copy.execute("SELECT code FROM unit").fetchall() == [("UMF-34",)]
    assert copy.execute("SELECT name FROM schemamigration").fetchall() == [(FIRST,)]


def test_backup_is_owner_only(tmp_path, second_migration):
    path = tmp_path / "mailtriage.db"
    make_first_schema_database(path)

    open_database(f"sqlite:///{path}").close()

    backup = next(tmp_path.glob("mailtriage.db.before-*.bak"))
    assert backup.stat().st_mode & 0o777 == 0o600


def test_new_database_no_backup(tmp_path, second_migration):
    open_database(f"sqlite:///{tmp_path / 'mailtriage.db'}").close()

    assert not list(tmp_path.glob("*.bak"))


def test_current_database_no_backup(tmp_path, second_migration):
    path = tmp_path / "mailtriage.db"
    open_database(f"sqlite:///{path}").close()

    open_database(f"sqlite:///{path}").close()

    assert not list(tmp_path.glob("*.bak"))
