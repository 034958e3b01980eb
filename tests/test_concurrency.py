"""Staff commands and the daemon writing to one SQLite database at the same time."""

import sqlite3
import threading
import time

from click.testing import CliRunner

from mailtriage.cli import build_cli
from mailtriage.config import load_config
from mailtriage.i18n import set_language
from mailtriage.models import database_proxy, open_database

STAFF_COMMANDS = 6


def write_like_daemon(path, stop: threading.Event, started: threading.Event) -> None:
    """Commit short write transactions back to back, as the daemon does while it drains a backlog."""
    connection = sqlite3.connect(path, isolation_level=None, timeout=10)
    started.set()
    while not stop.is_set():
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("UPDATE unit SET name = name")
        time.sleep(0.005)
        connection.execute("COMMIT")
        time.sleep(0.005)
    connection.close()


def test_staff_commands_wait_for_daemon_writes(make_config):
    set_language("es")
    config_path = make_config()
    config = load_config(config_path)
    open_database(config.database_url)
    runner = CliRunner()
    runner.invoke(build_cli(), ["--config", str(config_path), "init"])
    database_proxy.close()

    stop, started = threading.Event(), threading.Event()
    writer = threading.Thread(target=write_like_daemon,
                              args=(config.database_url[len("sqlite:///"):], stop, started))
    writer.start()
    started.wait(timeout=10)
    results = []
    try:
        for number in range(STAFF_COMMANDS):
            results.append(runner.invoke(build_cli(), [
                "--config", str(config_path), "patients", "add",
                "--first-name", "Ana", "--last-name", "Prueba", "--birth-date", "1980-05-02",
                "--sex", "F", "--unit", config.units[0].code,
                "--email", f"ana.prueba{number}@example.org", "--phone", "6120000000"]))
            results.append(runner.invoke(build_cli(), ["--config", str(config_path), "calls", "list"]))
    finally:
        stop.set()
        writer.join()

    failures = [repr(result.exception) for result in results if result.exit_code != 0]
    assert failures == []


def test_second_pass_does_nothing_while_first_runs(make_config):
    from mailtriage.cli.mailcmds import describe_pass
    from mailtriage.passlock import exclusive_pass
    from mailtriage.pipeline import run_pass

    set_language("es")
    config = load_config(make_config())
    open_database(config.database_url)
    try:
        with exclusive_pass(config.database_url) as first:
            second = run_pass(config)
    finally:
        database_proxy.close()

    assert first is True
    assert second.busy is True
    assert second.messages_read == 0
    assert "Otro proceso" in describe_pass(second)


def test_pass_lock_is_free_after_a_pass(make_config):
    from mailtriage.passlock import exclusive_pass

    config = load_config(make_config())

    with exclusive_pass(config.database_url) as first:
        pass
    with exclusive_pass(config.database_url) as again:
        assert again is True
    assert first is True
