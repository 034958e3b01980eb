"""Backup of the SQLite database while the daemon runs, and restore while it is stopped.

A backup uses SQLite's online backup API, which copies a consistent
snapshot in one read transaction. In WAL mode the daemon keeps writing
meanwhile. Copying the file with cp can instead catch a transaction half
written, or miss what still sits in the -wal file. Every copy is written to a
temporary name, checked with ``PRAGMA quick_check`` and renamed, so a
backup file is either whole or absent. Backups contain health data, so they
are created owner-only (0600). PostgreSQL databases are backed up with pg_dump.
"""

import logging
import os
import sqlite3
from pathlib import Path

from mailtriage import clock
from mailtriage.errors import MailtriageError
from mailtriage.i18n import describe_os_error, tr
from mailtriage.models import database_reason

log = logging.getLogger("mailtriage.backup")

SQLITE_PREFIX = "sqlite:///"


class BackupError(MailtriageError):
    """A backup or restore failed; the database itself is untouched."""


def sqlite_path(database_url: str) -> Path:
    """Return the file of a sqlite:/// URL; other databases raise BackupError naming pg_dump."""
    if not database_url.startswith(SQLITE_PREFIX):
        raise BackupError(tr(
            "la base de datos no es SQLite: respalde PostgreSQL con pg_dump "
            "(por ejemplo: pg_dump -Fc -f mailtriage.dump mailtriage)",
            "the database is not SQLite: back up PostgreSQL with pg_dump "
            "(for example: pg_dump -Fc -f mailtriage.dump mailtriage)"))
    return Path(database_url[len(SQLITE_PREFIX):])


def copy_sqlite(source: sqlite3.Connection, destination: Path) -> Path:
    """Copy an open SQLite database to ``destination`` (0600), atomically; return the path."""
    destination = Path(destination)
    temporary = destination.with_name(f".{destination.name}.{os.getpid()}.tmp")
    _create_owner_only(temporary)
    try:
        target = sqlite3.connect(temporary)
        try:
            source.backup(target)
            # A copy in rollback-journal mode is one self-contained file:
            # opening it later leaves no -wal or -shm file beside it.
            target.execute("PRAGMA journal_mode=DELETE")
            _check_integrity(target, temporary)
        finally:
            target.close()
        os.replace(temporary, destination)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return destination


def _create_owner_only(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def _check_integrity(connection: sqlite3.Connection, path: Path) -> None:
    verdict = connection.execute("PRAGMA quick_check").fetchone()[0]
    if verdict != "ok":
        raise BackupError(tr(
            "{file}: la copia no pasó la verificación de integridad ({why})",
            "{file}: the copy failed the integrity check ({why})", file=path, why=verdict))


def backup_database(database_url: str, destination: Path) -> Path:
    """Copy the live SQLite database at ``database_url`` to ``destination``."""
    source_path = sqlite_path(database_url)
    if not source_path.is_file():
        raise BackupError(tr(
            "{file}: la base de datos no existe; revise [database] url",
            "{file}: the database does not exist; check [database] url", file=source_path))
    if Path(destination).resolve() == source_path.resolve():
        raise BackupError(tr(
            "{file}: la copia no puede reemplazar la propia base de datos; elija otra ruta",
            "{file}: the backup cannot replace the database itself; choose another path",
            file=destination))

    source = _connect(source_path)
    try:
        copy_sqlite(source, Path(destination))
    except sqlite3.Error as exc:
        raise BackupError(tr(
            "no se pudo copiar {src} a {dst}: {why}", "cannot copy {src} to {dst}: {why}",
            src=source_path, dst=destination, why=database_reason(exc))) from exc
    except OSError as exc:
        raise BackupError(tr(
            "no se pudo escribir la copia en {dst} ({why}); revise la carpeta",
            "cannot write the backup to {dst} ({why}); check the folder",
            dst=destination, why=describe_os_error(exc))) from exc
    finally:
        source.close()
    log.info("database backed up to %s", destination)
    return Path(destination)


def _connect(path: Path) -> sqlite3.Connection:
    # Not "mode=ro": a read-only connection cannot remove the -wal and -shm
    # files it creates, and ones left behind by root would lock out the daemon.
    # The busy timeout waits out a checkpoint of the daemon.
    return sqlite3.connect(path, timeout=10)


def backup_next_to(path: Path, label: str) -> Path:
    """Back up the SQLite file ``path`` to ``<path>.<label>-<UTC time>.bak`` beside it."""
    stamp = clock.now().strftime("%Y%m%dT%H%M%SZ")
    destination = path.with_name(f"{path.name}.{label}-{stamp}.bak")
    return backup_database(f"{SQLITE_PREFIX}{path}", destination)


def restore_database(database_url: str, source: Path) -> Path | None:
    """Replace the SQLite database with the backup ``source``; the daemon must be stopped.

    The backup is checked before anything changes. The database being
    replaced, if any, is first backed up beside itself; its path is returned.
    """
    target_path = sqlite_path(database_url)
    _check_backup_file(Path(source))

    previous = backup_next_to(target_path, "before-restore") if target_path.is_file() else None
    backup = _connect(Path(source))
    try:
        _create_private_target(target_path)
        target = sqlite3.connect(target_path, timeout=10)
        try:
            # The backup API rewrites every page and the -wal file, where a
            # file copy would leave a stale -wal beside the restored file.
            backup.backup(target)
        finally:
            target.close()
    except sqlite3.Error as exc:
        raise BackupError(tr(
            "no se pudo restaurar {src} en {dst}: {why}; la base anterior quedó en {prev}",
            "cannot restore {src} into {dst}: {why}; the previous database is in {prev}",
            src=source, dst=target_path, why=database_reason(exc), prev=previous or "-")) from exc
    finally:
        backup.close()
    log.info("database restored from %s", source)
    return previous


def _create_private_target(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def _check_backup_file(source: Path) -> None:
    """Raise BackupError unless ``source`` is an intact mailtriage SQLite database."""
    if not source.is_file():
        raise BackupError(tr("{file}: el respaldo no existe", "{file}: the backup does not exist",
                             file=source))
    try:
        connection = _connect(source)
        try:
            _check_integrity(connection, source)
            tables = {row[0] for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(tr(
            "{file}: el respaldo no se puede usar: {why}",
            "{file}: the backup cannot be used: {why}", file=source, why=database_reason(exc))) from exc
    if "schemamigration" not in tables:
        raise BackupError(tr(
            "{file}: no es un respaldo de mailtriage (falta la tabla schemamigration)",
            "{file}: not a mailtriage backup (the schemamigration table is missing)", file=source))
