"""Choosing the language before any help text is built.

click evaluates help texts when the command modules are imported, so the
language must be known first: from the config named on the command line,
else MAILTRIAGE_CONFIG, else MAILTRIAGE_LANG.
"""

from mailtriage.config import find_config_path, load_config
from mailtriage.errors import MailtriageError
from mailtriage.i18n import current_language, set_language


def configure_language_from_argv(argv: list[str]) -> None:
    """Choose the language before click builds help texts: --config's file, then the environment."""
    explicit = None
    for index, argument in enumerate(argv):
        if argument == "--config" and index + 1 < len(argv):
            explicit = argv[index + 1]
        elif argument.startswith("--config="):
            explicit = argument.split("=", 1)[1]
    try:
        set_language(load_config(find_config_path(explicit)).language)
    except MailtriageError:
        # The command itself reports the broken config with its message.
        pass

    if current_language() == "es":
        from mailtriage.cli.clickspanish import use_spanish_for_click
        use_spanish_for_click()
