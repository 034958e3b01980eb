"""A throwaway PostgreSQL cluster for tests of several daemons sharing one database.

The cluster is made with initdb in a temp dir and started with pg_ctl on a
free loopback port, with its Unix socket in that dir, so it never touches
the machine's packaged cluster. PostgreSQL refuses to run as root, so as
root the binaries run as the ``postgres`` user, who owns the dir. Each test
gets a fresh database of its own on the one cluster.
"""

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg2
import pytest

from servers import LOOPBACK, ServerError, free_port

# The Debian package installs the binaries here and not on PATH.
DEBIAN_BINARIES = "/usr/lib/postgresql/*/bin"

# initdb and pg_ctl start together take under 2 s here. The limit only
# bounds how long a broken start takes.
START_TIMEOUT_SECONDS = 60

SUPERUSER = "postgres"


def find_binary(name: str) -> str | None:
    """Return the path of a PostgreSQL program on PATH, else in the newest Debian install, else None."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"{DEBIAN_BINARIES}/{name}"),
                        key=lambda path: int(Path(path).parts[-3]))
    return candidates[-1] if candidates else None


class PostgresServer:
    """One PostgreSQL cluster on 127.0.0.1, trusting local connections, for one test session."""

    def __init__(self):
        self.initdb = find_binary("initdb")
        self.pg_ctl = find_binary("pg_ctl")
        if self.initdb is None or self.pg_ctl is None:
            raise ServerError("PostgreSQL is not installed (initdb and pg_ctl not found on PATH "
                              f"or in {DEBIAN_BINARIES}): run `make test-deps`")
        self.root = Path(tempfile.mkdtemp(prefix="mailtriage-pg-"))
        self.data = self.root / "data"
        self.log_path = self.root / "postgres.log"
        self.port = free_port()
        self._numbers = itertools.count(1)
        self._owner = pwd.getpwnam(SUPERUSER) if os.geteuid() == 0 else None
        if self._owner is not None:
            os.chown(self.root, self._owner.pw_uid, self._owner.pw_gid)

    def _run(self, *command: str) -> None:
        """Run a PostgreSQL program, as the postgres user when this process is root."""
        as_user = {}
        if self._owner is not None:
            as_user = {"user": self._owner.pw_uid, "group": self._owner.pw_gid, "extra_groups": []}
        result = subprocess.run(command, capture_output=True, text=True, cwd=self.root,
                                timeout=START_TIMEOUT_SECONDS, **as_user)
        if result.returncode != 0:
            raise ServerError(f"{Path(command[0]).name} failed ({result.returncode}): "
                              f"{(result.stderr or result.stdout)[-2000:]}")

    def start(self) -> None:
        # Durability settings are off: a test cluster that crashes is thrown away.
        self._run(self.initdb, "--pgdata", str(self.data), "--username", SUPERUSER,
                  "--auth", "trust", "--encoding", "UTF8", "--locale", "C", "--no-sync")
        self._pg_ctl("start")

    def restart(self) -> None:
        """Stop the server, closing every client's connection, and start it again on the same port."""
        self._pg_ctl("restart", "--mode", "fast")

    def _pg_ctl(self, action: str, *arguments: str) -> None:
        options = (f"-h {LOOPBACK} -p {self.port} -k {self.root} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off")
        # The log file also keeps the server's output off this process's pipes.
        self._run(self.pg_ctl, action, *arguments, "--pgdata", str(self.data), "--log",
                  str(self.log_path), "--wait", "--timeout", str(START_TIMEOUT_SECONDS), "-o", options)

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(self.pg_ctl, "stop", "--pgdata", str(self.data), "--mode", "fast", "--wait")

    def remove(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@{LOOPBACK}:{self.port}/{database}"

    def new_database(self) -> str:
        """Create an empty database and return its peewee URL."""
        name = f"mailtriage_test_{next(self._numbers)}"
        connection = psycopg2.connect(host=LOOPBACK, port=self.port, user=SUPERUSER, dbname="postgres")
        try:
            # CREATE DATABASE cannot run inside a transaction.
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()
        return self.url(name)


@pytest.fixture(scope="session")
def postgres():
    """The PostgreSQL cluster of the session, started on first use and removed at the end."""
    try:
        server = PostgresServer()
    except ServerError as exc:
        pytest.fail(f"cannot start the test PostgreSQL: {exc}", pytrace=False)
    try:
        server.start()
    except ServerError as exc:
        server.remove()
        pytest.fail(f"cannot start the test PostgreSQL: {exc}", pytrace=False)

    yield server
    server.remove()


@pytest.fixture
def postgres_url(postgres):
    """A fresh, empty database on the session's cluster, as a postgresql:// URL."""
    return postgres.new_database()
