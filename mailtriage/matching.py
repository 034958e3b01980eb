"""Attaching a reading to a patient and an issuance, or saying why it cannot be.

Rules in order: the folio (subject, body or plus address), then the
Message-IDs named by In-Reply-To/References of any mail sent with an
issuance (questionnaire, reminder, reply), then the sender's address. The sender must be a patient whatever folio the message shows, and
a folio that does not exist or belongs to another address is never attached
to anyone.
"""

import re
from dataclasses import dataclass
from typing import Protocol

from peewee import fn

from mailtriage.contracts import ANSWER, FOLIO_MISMATCH, UNKNOWN_FOLIO, UNKNOWN_SENDER, Match, \
    MessageReading

# The Message-ID the questionnaire sender writes: <q-YYYYMMDD-FOLIO@host>.
# NOTE: a thread id in this form that the store does not know is read as an
# unknown folio. Other ids that no sent mail with an issuance carries, such as
# replies to staff mail, are skipped.
_QUESTIONNAIRE_ID = re.compile(r"^<q-\d{8}-([2-9A-HJKMNP-Z]{8})@", re.IGNORECASE)


@dataclass(frozen=True)
class IssuanceRef:
    """An issued questionnaire as matching needs it."""

    id: int
    folio: str
    patient_id: int
    patient_email: str


class Directory(Protocol):
    """Look-ups matching needs from the store."""

    def patient_by_email(self, address: str) -> int | None: ...

    def issuance_by_folio(self, folio: str) -> IssuanceRef | None: ...

    def issuance_by_message_id(self, message_id: str) -> IssuanceRef | None: ...


def match_reading(reading: MessageReading, directory: Directory) -> Match:
    """Decide whose reply a reading is, by folio, then thread ids, then sender."""
    if reading.kind != ANSWER:
        return Match(kind=reading.kind, folio=reading.folio)

    patient_id = directory.patient_by_email(reading.sender) if reading.sender else None
    if patient_id is None:
        return Match(kind=UNKNOWN_SENDER, folio=reading.folio)

    if reading.folio:
        return _match_issuance(directory.issuance_by_folio(reading.folio), reading.folio,
                               reading.sender, "folio")

    for message_id in reading.in_reply_to:
        issuance = directory.issuance_by_message_id(message_id)
        if issuance is not None:
            return _match_issuance(issuance, issuance.folio, reading.sender, "in_reply_to")
    for message_id in reading.in_reply_to:
        questionnaire = _QUESTIONNAIRE_ID.match(message_id)
        if questionnaire:
            return Match(kind=UNKNOWN_FOLIO, folio=questionnaire.group(1).upper())

    return Match(kind=ANSWER, patient_id=patient_id, matched_by="sender")


def _match_issuance(issuance: IssuanceRef | None, folio: str, sender: str, rule: str) -> Match:
    if issuance is None:
        return Match(kind=UNKNOWN_FOLIO, folio=folio)
    if issuance.patient_email.strip().lower() != sender:
        return Match(kind=FOLIO_MISMATCH, folio=folio)
    return Match(kind=ANSWER, patient_id=issuance.patient_id, issuance_id=issuance.id,
                 folio=issuance.folio, matched_by=rule)


class StoreDirectory:
    """The Directory over the peewee models; the database must already be open."""

    def patient_by_email(self, address: str) -> int | None:
        from mailtriage.models import Patient

        # NOTE: two patients sharing one address (a family mailbox) match the
        # first one under monitoring; only a folio can tell them apart.
        patient = (Patient.select(Patient.id)
                   .where(fn.LOWER(Patient.email) == address.strip().lower())
                   .order_by((Patient.status != "monitoring"), Patient.id)
                   .first())
        return None if patient is None else patient.id

    def issuance_by_folio(self, folio: str) -> IssuanceRef | None:
        from mailtriage.models import Issuance

        return _issuance_ref(_issuance_with_email(Issuance.folio == folio.upper()))

    def issuance_by_message_id(self, message_id: str) -> IssuanceRef | None:
        """Return the issuance of a questionnaire's Message-ID, or of any other sent mail that has one.

        A reminder (``<rem-…>``) and a reply (``<r-…>``) keep their issuance
        on their outbox row, so a patient's reply to them is matched too.
        """
        from mailtriage.models import Issuance, OutboxMessage

        issuance = _issuance_with_email(Issuance.message_id == message_id)
        if issuance is None:
            sent = OutboxMessage.select(OutboxMessage.issuance).where(
                (OutboxMessage.message_id == message_id) & OutboxMessage.issuance.is_null(False))
            issuance = _issuance_with_email(Issuance.id.in_(sent))
        return _issuance_ref(issuance)


def _issuance_with_email(condition):
    """Return the issuance matching ``condition`` with its patient's id and email, in one query."""
    from mailtriage.models import Issuance, Patient

    return (Issuance.select(Issuance, Patient.id, Patient.email)
            .join(Patient)
            .where(condition)
            .first())


def _issuance_ref(issuance) -> IssuanceRef | None:
    if issuance is None:
        return None
    return IssuanceRef(id=issuance.id, folio=issuance.folio, patient_id=issuance.patient_id,
                       patient_email=issuance.patient.email)
