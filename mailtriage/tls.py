"""TLS settings of the connections to the mail servers."""

import ssl

from mailtriage.config import Endpoint
from mailtriage.errors import ConfigError
from mailtriage.i18n import tr


def client_context(endpoint: Endpoint) -> ssl.SSLContext:
    """Return a client TLS context for ``endpoint``: system CAs, or its ``ca_file`` for a private CA.

    Certificate and host name checks stay on unless the config sets
    ``tls_verify = false``.
    """
    try:
        context = ssl.create_default_context(cafile=endpoint.ca_file or None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(tr(
            "ca_file {f} de {where} no se pudo leer como certificado PEM ({why})",
            "ca_file {f} of {where} cannot be read as a PEM certificate ({why})",
            f=endpoint.ca_file, where=endpoint.display, why=exc)) from exc

    if not endpoint.tls_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
