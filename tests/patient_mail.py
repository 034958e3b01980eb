"""Test helpers: enrol a patient and write the replies a patient's mail client would send."""

import mailbox
import os
from contextlib import contextmanager
from datetime import datetime, timezone
from email.utils import format_datetime, formataddr, make_msgid

from mailtriage import clock, faults
from mailtriage.config import load_config
from mailtriage.daemon import open_store
from mailtriage.enrolment import enrol_patient, validate_profile
from mailtriage.i18n import set_language
from mailtriage.folios import format_folio
from mailtriage.models import Issuance, OutboxMessage, database_proxy

# 09:00 in Mazatlán (UTC-7), the default unit's time zone.
MORNING = datetime(2026, 12, 4, 16, 0, tzinfo=timezone.utc)


@contextmanager
def morning_store(config_path):
    """Open the store of ``config_path`` in Spanish with the clock frozen at MORNING."""
    set_language("es")
    clock.set_now(MORNING)
    config = load_config(config_path)
    open_store(config)
    try:
        yield config
    finally:
        faults.arm(None)
        clock.set_now(None)
        database_proxy.close()

# Answers by question number, in the compact form "1 no 2 3 no ...".
GREEN_ANSWERS = {1: "no", 2: "", 3: "", 4: "no", 5: "no", 6: "no", 7: "no", 8: "no", 9: "no",
                 10: "a", 11: "no", 12: "no", 13: "no", 14: "no", 15: "97", 16: "mejor", 17: "no"}
YELLOW_ANSWERS = {**GREEN_ANSWERS, 1: "si", 2: "38.6", 3: "no", 4: "si", 7: "si", 10: "b",
                  15: "94", 16: "peor", 17: "si"}
RED_ANSWERS = {**YELLOW_ANSWERS, 10: "d", 11: "si"}

MONITORING_ADDRESS = "automonitoreo@umf34.example.mx"


def enrol(config, email="ana.lopez@example.com", first_name="Ana", **fields):
    """Enrol a patient of the first configured unit; enrolment queues the first questionnaire."""
    raw = {"first_name": first_name, "last_name": "López Vega", "email": email,
           "phone": "612 555 0100", "sex": "F", "birth_date": "1991-04-02",
           "unit": config.units[0].code, "has_oximeter": "si", **fields}
    return enrol_patient(validate_profile(raw, config), config, actor="test")


def questionnaire_of(patient) -> tuple[Issuance, OutboxMessage]:
    """Return the patient's latest issuance and the outbox row of its questionnaire."""
    issuance = (Issuance.select().where(Issuance.patient == patient)
                .order_by(Issuance.id.desc()).first())
    # The enrolment questionnaire goes out as the "welcome" row; both carry the issuance's Message-ID.
    return issuance, OutboxMessage.get(OutboxMessage.message_id == issuance.message_id)


def compact(answers: dict) -> str:
    return " ".join(f"{number} {value}".strip() for number, value in sorted(answers.items()))


def reply_to(patient, answers: dict, written: datetime, message_id: str | None = None,
             extra_headers: dict | None = None, subject_prefix: str = "Re: ") -> bytes:
    """Return a plain-text reply to the patient's latest questionnaire, answered in compact form."""
    issuance, questionnaire = questionnaire_of(patient)
    headers = {
        "From": formataddr((patient.full_name, patient.email), charset="utf-8"),
        "To": MONITORING_ADDRESS,
        "Subject": f"{subject_prefix}{questionnaire.subject}",
        "Date": format_datetime(written),
        "Message-ID": message_id or make_msgid(domain="example.com"),
        "In-Reply-To": issuance.message_id,
        "References": issuance.message_id,
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=utf-8",
        "Content-Transfer-Encoding": "8bit",
        **(extra_headers or {}),
    }
    body = f"{compact(answers)}\n\nFolio: {format_folio(issuance.folio)}\n"
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return (head + "\r\n" + body.replace("\n", "\r\n")).encode("utf-8")


def autoreply_to(patient, written: datetime) -> bytes:
    """Return the out-of-office answer a patient's mail server sends to a questionnaire."""
    return reply_to(patient, {}, written, subject_prefix="Respuesta automática: ",
                    extra_headers={"Auto-Submitted": "auto-replied"})


def stranger_reply(to_patient, written: datetime, sender="desconocido@example.org") -> bytes:
    """Return a reply with the patient's folio sent from an address that is not the patient's."""
    raw = reply_to(to_patient, GREEN_ANSWERS, written)
    original = formataddr((to_patient.full_name, to_patient.email), charset="utf-8").encode()
    return raw.replace(original, sender.encode(), 1)


def deliver_to_maildir(path, raw: bytes, at: datetime) -> str:
    """Add a message to a Maildir as delivered at ``at`` (its file time), and return its key."""
    box = mailbox.Maildir(path, create=True)
    key = box.add(raw)
    stamp = at.timestamp()
    os.utime(os.path.join(path, "new", key), (stamp, stamp))
    return key
