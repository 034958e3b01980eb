"""The command line: a thin click layer over the modules.

Each command group lives in its own module and is registered below.
Help and messages follow the configured language (Spanish by default).
"""

import importlib
import os
import sys

from mailtriage.cli.language import configure_language_from_argv

# (module, attribute) of every command or group; one module per concern.
COMMAND_MODULES = (
    ("mailtriage.cli.setup", "init"),
    ("mailtriage.cli.patients", "patients"),
    ("mailtriage.cli.questionnaires", "questionnaires"),
    ("mailtriage.cli.mailcmds", "poll"),
    ("mailtriage.cli.mailcmds", "run"),
    ("mailtriage.cli.parsecmd", "parse"),
    ("mailtriage.cli.rulescmd", "rules"),
    ("mailtriage.cli.rulescmd", "triage"),
    ("mailtriage.cli.reprocesscmd", "reprocess"),
    ("mailtriage.cli.callscmd", "calls"),
    ("mailtriage.cli.exportcmd", "export"),
    ("mailtriage.cli.auditcmd", "audit"),
    ("mailtriage.cli.quarantinecmd", "quarantine"),
    ("mailtriage.cli.outboxcmd", "outbox"),
    ("mailtriage.cli.ops", "check"),
    ("mailtriage.cli.ops", "status"),
    ("mailtriage.cli.ops", "backup"),
    ("mailtriage.cli.ops", "restore"),
    ("mailtriage.cli.ops", "retention"),
)


def build_cli():
    from mailtriage.cli.common import root

    for module_name, attribute in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            # A command module still being written is left out rather than
            # breaking every other command.
            if exc.name == module_name:
                continue
            raise
        root.add_command(getattr(module, attribute))
    return root


def main():
    os.umask(0o077)
    configure_language_from_argv(sys.argv[1:])

    # Imported only now, so its help texts are built in the chosen language.
    from mailtriage.cli.common import run_main

    run_main(build_cli())
