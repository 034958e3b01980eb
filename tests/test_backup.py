"""Backup and restore of the SQLite database, with a writer busy on the live database."""

import sqlite3
import stat
import threading
import time

import pytest
from click.testing import CliRunner

from mailtriage.backup import BackupError, backup_database, restore_database
from mailtriage.cli import build_cli
from mailtriage.config import load_config
from mailtriage.i18n import set_language
from mailtriage.models import AuditEvent, open_database


@pytest.fixture(autouse=True)
def spanish():
    set_language("es")
    yield
    set_language("es")


def run(config_path, *arguments):
    return CliRunner().invoke(build_cli(), ["--config", str(config_path), *arguments])


class PairWriter(threading.Thread):
    """Insert audit rows two per transaction on its own connection, as the daemon would write.

    A consistent snapshot therefore contains an even number of its rows.
    """

    def __init__(self, database_path):
        super().__init__(daemon=True)
        self.database_path = database_path
        self.stop = threading.Event()
        self.transactions = 0

    def run(self):
        connection = sqlite3.connect(self.database_path, timeout=10)
        insert = ("INSERT INTO auditevent (at, actor, action, detail) "
                  "VALUES ('2026-12-04 10:00:00', 'writer', 'pair', '{}')")
        while not self.stop.is_set():
            with connection:
                connection.execute(insert)
                connection.execute(insert)
            self.transactions += 1
        connection.close()

    def wait_for(self, transactions: int):
        deadline = time.monotonic() + 10
        while self.transactions < transactions and time.monotonic() < deadline:
            time.sleep(0.01)


def writer_rows(database_path) -> int:
    connection = sqlite3.connect(database_path)
    try:
        return connection.execute("SELECT COUNT(*) FROM auditevent WHERE actor = 'writer'").fetchone()[0]
    finally:
        connection.close()


@pytest.fixture
def live_database(make_config):
    config_path = make_config()
    config = load_config(config_path)
    open_database(config.database_url)
    return config_path, config.database_url[len("sqlite:///"):]


def test_backup_during_writes_is_consistent(live_database, tmp_path):
    config_path, database_path = live_database
    writer = PairWriter(database_path)
    writer.start()
    writer.wait_for(50)

    try:
        result = run(config_path, "backup", str(tmp_path / "respaldo.db"))
        written_while_running = writer.transactions
    finally:
        writer.stop.set()
        writer.join()

    assert result.exit_code == 0, result.output
    copy = tmp_path / "respaldo.db"
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    rows = writer_rows(copy)
    assert rows % 2 == 0
    assert rows >= 100
    assert written_while_running > 50
    assert sqlite3.connect(copy).execute("PRAGMA quick_check").fetchone()[0] == "ok"


def test_backup_leaves_single_file(live_database, tmp_path):
    config_path, _ = live_database

    run(config_path, "backup", str(tmp_path / "respaldo.db"))

    assert sorted(path.name for path in tmp_path.iterdir() if "respaldo" in path.name) == ["respaldo.db"]


def test_restore_round_trip(live_database, tmp_path, make_config):
    config_path, database_path = live_database
    writer = PairWriter(database_path)
    writer.start()
    writer.wait_for(20)
    backup_database(f"sqlite:///{database_path}", tmp_path / "respaldo.db")
    writer.stop.set()
    writer.join()
    saved_rows = writer_rows(tmp_path / "respaldo.db")

    target_dir = tmp_path / "restaurada"
    target_dir.mkdir()
    target_config = make_config(target_dir)
    result = run(target_config, "restore", "--yes", str(tmp_path / "respaldo.db"))

    assert result.exit_code == 0, result.output
    restored = target_dir / "mailtriage.db"
    assert writer_rows(restored) == saved_rows
    assert stat.S_IMODE(restored.stat().st_mode) == 0o600
    open_database(f"sqlite:///{restored}")
    assert AuditEvent.select().where(AuditEvent.actor == "writer").count() == saved_rows


def test_restore_keeps_previous_database(live_database, tmp_path):
    config_path, database_path = live_database
    backup_database(f"sqlite:///{database_path}", tmp_path / "respaldo.db")
    AuditEvent.create(at="2026-12-04 11:00:00", actor="after-backup", action="edit")

    result = run(config_path, "restore", "--yes", str(tmp_path / "respaldo.db"))

    assert result.exit_code == 0, result.output
    kept = list(tmp_path.glob("mailtriage.db.before-restore-*.bak"))
    assert len(kept) == 1
    assert str(kept[0]) in result.stdout
    previous = sqlite3.connect(kept[0])
    assert previous.execute("SELECT COUNT(*) FROM auditevent WHERE actor = 'after-backup'").fetchone()[0] == 1
    current = sqlite3.connect(database_path)
    assert current.execute("SELECT COUNT(*) FROM auditevent WHERE actor = 'after-backup'").fetchone()[0] == 0


def test_restore_rejects_non_backup(live_database, tmp_path):
    config_path, database_path = live_database
    not_a_backup = tmp_path / "notas.db"
    not_a_backup.write_bytes(b"no es una base de datos" * 100)

    result = run(config_path, "restore", "--yes", str(not_a_backup))

    assert isinstance(result.exception, BackupError)
    assert "no es una base de datos SQLite" in str(result.exception)
    assert not list(tmp_path.glob("mailtriage.db.before-restore-*"))


def test_restore_asks_confirmation(live_database, tmp_path):
    config_path, database_path = live_database
    backup_database(f"sqlite:///{database_path}", tmp_path / "respaldo.db")

    result = CliRunner().invoke(build_cli(), ["--config", str(config_path), "restore",
                                              str(tmp_path / "respaldo.db")], input="n\n")

    assert result.exit_code == 1
    assert not list(tmp_path.glob("mailtriage.db.before-restore-*"))


def test_backup_postgres_points_to_pg_dump(tmp_path):
    with pytest.raises(BackupError) as error:
        backup_database("postgresql://mailtriage@127.0.0.1/mailtriage", tmp_path / "x.db")

    assert "pg_dump" in str(error.value)


def test_backup_onto_itself_rejected(live_database):
    _, database_path = live_database

    with pytest.raises(BackupError):
        backup_database(f"sqlite:///{database_path}", database_path)


def test_restore_missing_backup(tmp_path):
    with pytest.raises(BackupError) as error:
        restore_database(f"sqlite:///{tmp_path / 'mailtriage.db'}", tmp_path / "no-existe.db")

    assert "no existe" in str(error.value)
