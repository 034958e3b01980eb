"""Administration commands: check against real servers, status counts, systemd notify, fresh install."""

import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailtriage import clock, heartbeat, sdnotify
from mailtriage.cli import build_cli
from mailtriage.i18n import set_language
from mailtriage.models import open_database
from mailtriage.units import sync_units
from mailtriage.config import load_config

from ops_rows import add_inbound, add_outbox, add_patient, add_report

REPOSITORY = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def spanish():
    set_language("es")
    yield
    set_language("es")


def run(config_path, *arguments):
    return CliRunner().invoke(build_cli(), ["--config", str(config_path), *arguments])


def server_config(make_config, dovecot, smtp_server, smtp_mode="smtp+starttls"):
    user = dovecot.new_user()
    return make_config(
        mailbox_url=user.tls_url, mailbox_password=user.password,
        smtp_url=smtp_server.url(smtp_mode, username="automonitoreo"),
        smtp_password=smtp_server.password)


# --- check ------------------------------------------------------------------------------

@pytest.mark.servers
def test_check_real_servers_all_pass(make_config, dovecot, smtp_server):
    config_path = server_config(make_config, dovecot, smtp_server)

    result = run(config_path, "check")

    lines = result.stdout.splitlines()
    assert [line[0] for line in lines] == ["✓"] * 6, result.stdout
    assert result.exit_code == 0
    assert lines[1].startswith("✓ Base de datos:")
    assert "IDLE disponible" in lines[2]
    assert "STARTTLS" in lines[3]


@pytest.mark.servers
def test_check_smtps_passes(make_config, dovecot, smtp_server):
    config_path = server_config(make_config, dovecot, smtp_server, smtp_mode="smtps")

    result = run(config_path, "check")

    smtp_line = next(line for line in result.stdout.splitlines() if "Envío" in line)
    assert smtp_line.startswith("✓")
    assert "TLS desde el inicio" in smtp_line


@pytest.mark.servers
def test_check_creates_missing_folders(make_config, dovecot, smtp_server):
    user = dovecot.new_user()
    config_path = make_config(mailbox_url=user.tls_url, mailbox_password=user.password)

    result = run(config_path, "check")

    assert "Procesados" in dovecot.folders(user)
    assert "Cuarentena" in dovecot.folders(user)
    assert "carpetas creadas: Procesados, Cuarentena" in result.stdout


@pytest.mark.servers
@pytest.mark.faults
def test_check_stopped_smtp_names_host_port(make_config, dovecot, smtp_server):
    config_path = server_config(make_config, dovecot, smtp_server)
    smtp_server.stop()

    result = run(config_path, "check")

    smtp_line = next(line for line in result.stdout.splitlines() if line.startswith("✗ Envío"))
    assert f"127.0.0.1:{smtp_server.starttls_port}" in smtp_line
    assert "conexión rechazada" in smtp_line
    assert result.exit_code == 1
    assert "Traceback" not in result.output


@pytest.mark.servers
def test_check_wrong_password_hides_it(make_config, dovecot, smtp_server):
    user = dovecot.new_user()
    config_path = make_config(mailbox_url=user.tls_url, mailbox_password="wrong-secret-123")

    result = run(config_path, "check")

    mailbox_line = next(line for line in result.stdout.splitlines() if "Buzón" in line)
    assert mailbox_line.startswith("✗")
    assert f"127.0.0.1:{dovecot.imaps_port}" in mailbox_line
    assert "contraseña" in mailbox_line
    assert "wrong-secret-123" not in result.output
    assert result.exit_code == 1


def test_check_broken_config_one_line(tmp_path):
    config_path = tmp_path / "mailtriage.toml"
    config_path.write_text('[schedule]\ntimezone = "Mars/Olympus"\n', encoding="utf-8")

    result = run(config_path, "check")

    assert result.stdout.startswith("✗ Configuración:")
    assert "[schedule] timezone" in result.stdout
    assert result.exit_code == 1


def test_check_world_readable_database(make_config):
    config_path = make_config()
    database_path = config_path.parent / "mailtriage.db"
    open_database(f"sqlite:///{database_path}")
    database_path.chmod(0o644)

    result = run(config_path, "check")

    database_line = result.stdout.splitlines()[1]
    assert database_line.startswith("✗ Base de datos")
    assert "chmod 600" in database_line


# --- status -------------------------------------------------------------------------------

def test_status_json_counts(make_config):
    config_path = make_config()
    config = load_config(config_path)
    open_database(config.database_url)
    sync_units(config)
    today = clock.local_date(clock.now(), config.timezone)

    monitored = [add_patient(), add_patient()]
    add_patient(status="discharged", discharged_days_ago=3)
    add_inbound(None, outcome="pending")
    add_inbound(None, outcome="pending", attempts=2)
    add_inbound(None, outcome="quarantined")
    add_inbound(monitored[0], outcome="reported")
    add_outbox(None, status="pending")
    add_outbox(None, status="pending", attempts=1)
    add_outbox(None, status="failed", attempts=5)
    add_outbox(None, status="sent")
    add_report(monitored[0], "verde")
    add_report(monitored[1], "verde")
    add_report(monitored[1], "rojo")
    add_report(monitored[0], "amarillo", day=today - timedelta(days=1))
    heartbeat.record_poll({"messages_read": 3}, host="servidor-1")

    result = run(config_path, "status", "--json")

    assert result.exit_code == 0, result.output
    snapshot = json.loads(result.stdout)
    assert snapshot["inbound"] == {"pending": 1, "failed": 1, "quarantined": 1}
    assert snapshot["outbox"] == {"pending": 1, "retrying": 1, "failed": 1}
    assert snapshot["patients_monitoring"] == 2
    assert snapshot["reports_today"] == {"date": today.isoformat(), "verde": 2, "amarillo": 0, "rojo": 1}
    assert snapshot["daemons"][0]["host"] == "servidor-1"
    assert snapshot["daemons"][0]["last_poll_summary"] == {"messages_read": 3}
    assert snapshot["daemons"][0]["seconds_since_poll"] < 60


def test_status_text_without_daemon(make_config):
    config_path = make_config()
    run(config_path, "init")

    result = run(config_path, "status")

    assert result.exit_code == 0, result.output
    assert "Último sondeo del buzón: nunca" in result.stdout
    assert "Reportes de hoy" in result.stdout


def test_status_refuses_missing_database(make_config):
    result = run(make_config(), "status")

    assert result.exit_code == 1
    assert "no existe" in str(result.exception)
    assert "mailtriage init" in str(result.exception)


def test_record_poll_updates_one_row(make_config):
    config = load_config(make_config())
    open_database(config.database_url)

    heartbeat.record_poll({"messages_read": 1}, host="servidor-1")
    heartbeat.record_poll({"messages_read": 4}, host="servidor-1")

    polls = heartbeat.last_polls()
    assert len(polls) == 1
    assert polls[0][2] == {"messages_read": 4}


def test_record_poll_takes_pass_summary(make_config):
    from mailtriage.pipeline import PassSummary

    config = load_config(make_config())
    open_database(config.database_url)

    heartbeat.record_poll(PassSummary(messages_read=2), host="servidor-1")

    summary = heartbeat.last_polls()[0][2]
    assert summary["messages_read"] == 2
    assert summary["reports"] == {"verde": 0, "amarillo": 0, "rojo": 0}


# --- systemd notify ---------------------------------------------------------------------

@pytest.fixture
def notify_socket(tmp_path, monkeypatch):
    path = tmp_path / "notify.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(path))
    listener.settimeout(2)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    yield listener
    listener.close()


def test_sdnotify_ready_with_status(notify_socket):
    assert sdnotify.notify_ready("escuchando el buzón")

    assert notify_socket.recv(4096).decode() == "READY=1\nSTATUS=escuchando el buzón"


def test_sdnotify_watchdog_and_stopping(notify_socket):
    sdnotify.notify_watchdog()
    sdnotify.notify_stopping()

    assert notify_socket.recv(4096) == b"WATCHDOG=1"
    assert notify_socket.recv(4096) == b"STOPPING=1"


def test_sdnotify_abstract_socket(monkeypatch):
    name = f"mailtriage-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind("\0" + name)
        listener.settimeout(2)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)

        assert sdnotify.notify_watchdog()
        assert listener.recv(4096) == b"WATCHDOG=1"


def test_sdnotify_without_socket_noop(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)

    assert sdnotify.notify_ready() is False


def test_sdnotify_watchdog_interval(monkeypatch):
    monkeypatch.setenv("WATCHDOG_USEC", "120000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert sdnotify.watchdog_interval() == 60

    monkeypatch.setenv("WATCHDOG_PID", "1")
    assert sdnotify.watchdog_interval() is None

    monkeypatch.delenv("WATCHDOG_USEC")
    assert sdnotify.watchdog_interval() is None


# --- installed package ---------------------------------------------------------------------

@pytest.mark.slow
def test_fresh_install_console_script(tmp_path, make_config):
    """Build a wheel, install it into a new virtualenv and run the installed ``mailtriage``."""
    wheel = build_wheel(tmp_path)
    fresh = tmp_path / "fresh-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(fresh)], check=True)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(fresh / "bin" / "python"),
                    "install", "--quiet", "--no-index", "--no-deps", str(wheel)], check=True)

    # The dependencies come from the test virtualenv, without its editable mailtriage:
    # an editable install is found through a .pth file, which PYTHONPATH does not read.
    environment = {**os.environ, "PYTHONPATH": sysconfig.get_paths()["purelib"], "MAILTRIAGE_LANG": "es"}
    environment.pop("MAILTRIAGE_CONFIG", None)
    script = fresh / "bin" / "mailtriage"

    help_run = subprocess.run([str(script), "--help"], cwd=tmp_path, env=environment,
                              capture_output=True, text=True, timeout=60)
    config_path = make_config()
    check_run = subprocess.run([str(script), "--config", str(config_path), "check"], cwd=tmp_path,
                               env=environment, capture_output=True, text=True, timeout=60)
    where = subprocess.run([str(fresh / "bin" / "python"), "-c", "import mailtriage; print(mailtriage.__file__)"],
                           cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=60)

    assert help_run.returncode == 0, help_run.stderr
    assert "check" in help_run.stdout
    assert where.stdout.startswith(str(fresh)), where.stdout
    assert "✓ Plantillas" in check_run.stdout, check_run.stdout
    assert check_run.returncode == 0, check_run.stdout + check_run.stderr


def build_wheel(tmp_path: Path) -> Path:
    """Build the wheel from a copy of the sources, so the build leaves nothing in the repository."""
    source = tmp_path / "source"
    shutil.copytree(REPOSITORY / "mailtriage", source / "mailtriage",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("setup.cfg", "pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(REPOSITORY / name, source / name)

    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-index",
                    "--no-build-isolation", "--wheel-dir", str(wheels), str(source)],
                   check=True, timeout=120)
    return next(wheels.glob("mailtriage-*.whl"))


# --- rules and templates ---------------------------------------------------------------------

def test_check_bad_rules_file(make_config, tmp_path):
    rules = tmp_path / "reglas.toml"
    rules.write_text("version = [sin cerrar\n", encoding="utf-8")
    config_path = make_config(triage={"rules_file": str(rules)})

    result = run(config_path, "check")

    rules_line = next(line for line in result.stdout.splitlines() if "Reglas" in line)
    assert rules_line.startswith("✗")
    assert str(rules) in rules_line
    assert result.exit_code == 1


def test_check_template_syntax_error(make_config, tmp_path):
    custom = tmp_path / "plantillas"
    (custom / "es").mkdir(parents=True)
    (custom / "es" / "reply.txt").write_text("Hola {% if %}\n", encoding="utf-8")
    config_path = make_config(templates={"directory": str(custom)})

    result = run(config_path, "check")

    templates_line = next(line for line in result.stdout.splitlines() if "Plantillas" in line)
    assert templates_line.startswith("✗")
    assert "es/reply.txt:1" in templates_line
    assert result.exit_code == 1


def test_check_missing_templates_dir(make_config, tmp_path):
    config_path = make_config(templates={"directory": str(tmp_path / "no-existe")})

    result = run(config_path, "check")

    templates_line = next(line for line in result.stdout.splitlines() if "Plantillas" in line)
    assert templates_line.startswith("✗")
    assert "[templates] directory" in templates_line


# --- systemd units and docs ----------------------------------------------------------------

UNITS = sorted((REPOSITORY / "contrib").glob("mailtriage*.service")) + \
    sorted((REPOSITORY / "contrib").glob("mailtriage*.timer"))


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_units_verify():
    result = subprocess.run(["systemd-analyze", "verify", *map(str, UNITS)],
                            capture_output=True, text=True, timeout=60)

    # The program is not installed at /opt/mailtriage on the test machine.
    problems = [line for line in result.stderr.splitlines()
                if "/opt/mailtriage/bin/mailtriage is not executable" not in line]
    assert problems == []


@pytest.mark.parametrize("directive", [
    "Type=notify", "WatchdogSec=2min", "Restart=on-failure", "User=mailtriage",
    "StateDirectory=mailtriage", "StateDirectoryMode=0700", "UMask=0077", "NoNewPrivileges=yes",
    "ProtectSystem=strict", "PrivateTmp=yes", "ProtectHome=yes", "CapabilityBoundingSet=",
    "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
])
def test_service_unit_has_directive(directive):
    lines = (REPOSITORY / "contrib" / "mailtriage.service").read_text(encoding="utf-8").splitlines()

    assert directive in lines


@pytest.mark.parametrize("guide", ["install.md", "install.es.md"])
def test_install_guide_covers_commands(guide):
    text = (REPOSITORY / "docs" / guide).read_text(encoding="utf-8")

    for command in ("init", "check", "status", "backup", "restore", "retention"):
        assert f"mt {command}" in text, command
    for unit in UNITS:
        assert f"contrib/{unit.name}" in text, unit.name
