"""Every command has Spanish help, and both READMEs document it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from mailtriage.cli import build_cli
from mailtriage.i18n import set_language

ROOT = Path(__file__).resolve().parent.parent
READMES = [ROOT / "README.md", ROOT / "README.es.md"]


def command_paths(group: click.Group, prefix=()):
    for name, command in sorted(group.commands.items()):
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from command_paths(command, (*prefix, name))


# Help texts are fixed when the CLI modules are first imported, so they are
# read in a fresh process whose language is set from the start, as in use.
HELP_SCRIPT = """
import json, os
from click.testing import CliRunner
from mailtriage.cli.language import configure_language_from_argv
configure_language_from_argv([])
from mailtriage.cli import build_cli
cli = build_cli()
paths = json.loads(os.environ["HELP_PATHS"])
print(json.dumps({" ".join(p): CliRunner().invoke(cli, [*p, "--help"]).output for p in paths}))
"""


def all_paths():
    set_language("es")
    return list(command_paths(build_cli()))


@pytest.fixture(scope="module")
def spanish_help():
    paths = all_paths()
    environment = {**os.environ, "MAILTRIAGE_LANG": "es", "HELP_PATHS": json.dumps(paths)}
    environment.pop("MAILTRIAGE_CONFIG", None)
    result = subprocess.run([sys.executable, "-c", HELP_SCRIPT], capture_output=True, text=True,
                            env=environment, timeout=120, check=True)
    return json.loads(result.stdout)


@pytest.mark.parametrize("path", all_paths(), ids=" ".join)
def test_help_is_spanish(spanish_help, path):
    output = spanish_help[" ".join(path)]

    assert "Uso:" in output
    for english in ("Usage:", "Show this message", "[OPTIONS]", " TEXT ", " INTEGER "):
        assert english not in output


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
