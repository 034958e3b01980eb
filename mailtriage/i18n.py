"""The language of what users read: Spanish (es-MX) by default, English by configuration.

Each message is written at its call site in both languages, ``tr(es, en)``,
so a module carries its own translations and no shared catalogue has to be
kept in step. The language comes from ``MAILTRIAGE_LANG`` or the config's
``[general] language``; the CLI sets it before it builds its help texts.
"""

import errno
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


# The system's own error texts are English whatever the locale; these are
# the ones an administrator meets with files and sockets.
_OS_ERRORS_SPANISH = {
    errno.ENOENT: "no existe",
    errno.EACCES: "permiso denegado",
    errno.EPERM: "operación no permitida",
    errno.EISDIR: "es una carpeta",
    errno.ENOTDIR: "no es una carpeta",
    errno.ENOSPC: "no queda espacio en el disco",
    errno.EROFS: "el sistema de archivos es de solo lectura",
    errno.EEXIST: "ya existe",
    errno.ECONNREFUSED: "conexión rechazada",
    errno.ETIMEDOUT: "se agotó el tiempo de espera",
    errno.EHOSTUNREACH: "no se puede llegar al servidor",
}


def describe_os_error(error: OSError) -> str:
    """Return the reason of an OSError in the active language."""
    english = error.strerror or str(error)
    spanish = _OS_ERRORS_SPANISH.get(error.errno, english)
    return tr(spanish, english)
