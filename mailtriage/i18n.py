"""The language of what users read: Spanish (es-MX) by default, English by configuration.

Each message is written at its call site in both languages, ``tr(es, en)``,
so a module carries its own translations and no shared catalogue has to be
kept in step. The language comes from ``MAILTRIAGE_LANG`` or the config's
``[general] language``; the CLI sets it before it builds its help texts.
"""

import os

SUPPORTED_LANGUAGES = ("es", "en")
DEFAULT_LANGUAGE = "es"

_active_language = None


def set_language(language: str) -> None:
    """Select the language of every later message; unknown values fall back to Spanish."""
    global _active_language
    _active_language = language if language in SUPPORTED_LANGUAGES else DEFAULT_LANGUAGE


def current_language() -> str:
    if _active_language is not None:
        return _active_language
    from_env = os.environ.get("MAILTRIAGE_LANG", "").strip().lower()[:2]
    return from_env if from_env in SUPPORTED_LANGUAGES else DEFAULT_LANGUAGE


def tr(spanish: str, english: str, **values) -> str:
    """Pick the text of the active language and fill its ``{placeholders}``."""
    text = english if current_language() == "en" else spanish
    return text.format(**values) if values else text
