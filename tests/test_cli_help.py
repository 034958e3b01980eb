"""Every command has Spanish help, and both READMEs document it."""

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from mailtriage.cli import build_cli
from mailtriage.cli.clickspanish import use_spanish_for_click
from mailtriage.i18n import set_language

ROOT = Path(__file__).resolve().parent.parent
READMES = [ROOT / "README.md", ROOT / "README.es.md"]


def command_paths(group: click.Group, prefix=()):
    for name, command in sorted(group.commands.items()):
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from command_paths(command, (*prefix, name))


@pytest.fixture(scope="module")
def cli():
    set_language("es")
    use_spanish_for_click()
    return build_cli()


def all_paths():
    set_language("es")
    return list(command_paths(build_cli()))


@pytest.mark.parametrize("path", all_paths(), ids=" ".join)
def test_help_is_spanish(cli, path):
    result = CliRunner().invoke(cli, [*path, "--help"])

    assert result.exit_code == 0, result.output
    assert "Uso:" in result.output
    for english in ("Usage:", "Show this message", "[OPTIONS]", " TEXT ", " INTEGER "):
        assert english not in result.output


@pytest.mark.parametrize("readme", READMES, ids=lambda p: p.name)
def test_readme_documents_every_command(readme):
    text = readme.read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if "`mailtriage " in line]

    missing = []
    for path in all_paths():
        group_rows = [row for row in rows if f"`mailtriage {path[0]}" in row]
        if not group_rows or not any(path[-1] in row for row in group_rows):
            missing.append(" ".join(path))

    assert not missing, f"{readme.name} does not document: {', '.join(missing)}"
