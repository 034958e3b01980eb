"""Message-IDs and addresses of the mail the program sends.

Every message gets its Message-ID when its outbox row is created, and the
row keeps it, so a resend after a crash carries the same id and patients'
replies can be matched through In-Reply-To and References.
"""

import secrets
from datetime import date
from email.utils import parseaddr

DEFAULT_DOMAIN = "localhost"


def sender_address(config) -> str:
    """Return the bare address of the configured sender, the monitoring mailbox."""
    return parseaddr(config.sender)[1]


def sender_domain(config) -> str:
    """Return the domain of the configured sender, used on the right of Message-IDs."""
    _, _, domain = sender_address(config).rpartition("@")
    return domain.strip().lower() or DEFAULT_DOMAIN


def questionnaire_message_id(local_date: date, folio: str, domain: str) -> str:
    """Return ``<q-YYYYMMDD-FOLIO@domain>``: unique because the folio is."""
    return f"<q-{local_date:%Y%m%d}-{folio}@{domain}>"


def random_message_id(prefix: str, domain: str) -> str:
    """Return a new unguessable Message-ID such as ``<r-3f9a…@domain>``."""
    return f"<{prefix}-{secrets.token_hex(12)}@{domain}>"


def split_message_ids(header_value: str | None) -> list[str]:
    """Return the ``<…>`` ids of a References or In-Reply-To value, in order."""
    if not header_value:
        return []
    ids = []
    for token in header_value.replace(",", " ").split():
        if token.startswith("<") and token.endswith(">") and token not in ids:
            ids.append(token)
    return ids


def references_after(patient_references: list[str], patient_message_id: str | None) -> str:
    """Return the References value of a reply: the patient's References, then their Message-ID.

    RFC 5322 section 3.6.4 builds References this way. Duplicates are dropped.
    """
    chain = [mid for mid in patient_references if mid]
    if patient_message_id and patient_message_id not in chain:
        chain.append(patient_message_id)
    return " ".join(dict.fromkeys(chain))

