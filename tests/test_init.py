"""`mailtriage init` and config.example.toml: a new installation starts from them."""

import re
import stat
from pathlib import Path

from click.testing import CliRunner

from mailtriage.cli import build_cli
from mailtriage.config import load_config
from mailtriage.models import SchemaMigration, Unit, database_proxy

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config.example.toml"


def run_cli(*arguments, env=None):
    return CliRunner().invoke(build_cli(), list(arguments), env=env, catch_exceptions=False)


def test_example_documents_every_key():
    source = (ROOT / "mailtriage" / "config.py").read_text(encoding="utf-8")
    keys = set(re.findall(r'\.(?:get|positive_int)\("([a-z_]+)"', source))
    example = EXAMPLE.read_text(encoding="utf-8")

    assert keys
    for key in keys - {"units"}:
        assert re.search(rf"^#? ?{key} =", example, re.MULTILINE), f"{key} is not in {EXAMPLE.name}"
    assert "[[units]]" in example


def test_example_loads(monkeypatch):
    monkeypatch.setenv("MAILTRIAGE_IMAP_PASSWORD", "imap-secret")
    monkeypatch.setenv("MAILTRIAGE_SMTP_PASSWORD", "smtp-secret")

    config = load_config(EXAMPLE)

    assert config.mailbox.scheme == "imaps"
    assert config.smtp.scheme == "smtp+starttls"
    assert config.units[0].timezone == "America/Mazatlan"
    # The example must point at no real server until an administrator edits it.
    assert config.mailbox.host.endswith(".example")
    assert config.smtp.host.endswith(".example")


def test_init_creates_database_and_maildir(make_config, tmp_path):
    path = make_config()

    result = run_cli("--config", str(path), "init")

    assert result.exit_code == 0, result.output
    assert "Base de datos lista" in result.output
    assert "UMF-34" in result.output
    config = load_config(path)
    database_file = Path(config.database_url.removeprefix("sqlite:///"))
    assert stat.S_IMODE(database_file.stat().st_mode) == 0o600
    assert (Path(config.mailbox.path) / "new").is_dir()
    assert SchemaMigration.select().count() >= 1
    assert Unit.get(Unit.code == "UMF-34").timezone == "America/Mazatlan"
    database_proxy.close()


def test_init_twice_applies_nothing_new(make_config):
    path = make_config()
    run_cli("--config", str(path), "init")

    result = run_cli("--config", str(path), "init")

    assert result.exit_code == 0, result.output
    assert "migraciones de esquema aplicadas: 0" in result.output
    database_proxy.close()


def test_init_writes_example_config(make_config, tmp_path):
    path = make_config()
    target = tmp_path / "nuevo" / "mailtriage.toml"

    result = run_cli("--config", str(path), "init", "--write-config", str(target))

    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8") == EXAMPLE.read_text(encoding="utf-8")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert f"--config {target}" in result.output
    database_proxy.close()


def test_init_keeps_existing_config(make_config, tmp_path):
    path = make_config()
    target = tmp_path / "existente.toml"
    target.write_text("# propio\n", encoding="utf-8")

    refused = CliRunner().invoke(build_cli(), ["--config", str(path), "init", "--write-config", str(target)])
    forced = run_cli("--config", str(path), "init", "--write-config", str(target), "--force")

    assert refused.exit_code != 0
    assert "--force" in str(refused.exception)
    assert forced.exit_code == 0, forced.output
    assert target.read_text(encoding="utf-8").startswith("# mailtriage configuration")
    database_proxy.close()
