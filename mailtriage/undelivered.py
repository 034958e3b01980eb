"""Mail to patients that failed for good, for staff to check the address with the patient.

When a welcome, questionnaire, reply or reminder fails permanently (outbox
status ``failed``), the patient may be getting none of the program's mail,
so the call list shows it, for patients under monitoring, until one of
these closes it:

- a call logged after the failed mail was queued whose outcome closes
  reviews too: it reached the patient, or it confirmed arrival at Urgencias
  or a physician's decision;
- a change of the patient's email address after it was queued;
- ``outbox retry``, which makes the row pending again.

Nothing is stored to close an item. It is derived from the calls, the audit
trail and the patient's current address, so no schema change is needed.
"""

from datetime import datetime

from mailtriage import audit
from mailtriage.models import AuditEvent, Call, OutboxMessage, Patient

FAILED = "failed"

# Outbox kinds sent to the patient. Staff alerts go to the unit and are left out.
PATIENT_MAIL_KINDS = ("welcome", "questionnaire", "reply", "reminder")


def failed_patient_mail(patient: Patient | int | None = None) -> list[OutboxMessage]:
    """Return the failed mail to patients under monitoring (or to one patient), oldest first."""
    query = (OutboxMessage.select(OutboxMessage.id, OutboxMessage.kind, OutboxMessage.patient,
                                  OutboxMessage.to_address, OutboxMessage.created_at,
                                  OutboxMessage.last_error, Patient)
             .join(Patient)
             .where((OutboxMessage.status == FAILED) & OutboxMessage.kind.in_(PATIENT_MAIL_KINDS))
             .order_by(OutboxMessage.created_at, OutboxMessage.id))
    if patient is None:
        return list(query.where(Patient.status == "monitoring"))
    return list(query.where(OutboxMessage.patient == patient))


def undelivered_mail(patient: Patient | int | None = None) -> list[OutboxMessage]:
    """Return the failed mail to patients that no later call or address change has closed."""
    rows = failed_patient_mail(patient)
    checked = {patient_id: address_checked_at(patient_id) for patient_id in {row.patient_id for row in rows}}
    return [row for row in rows if is_open(row, checked[row.patient_id])]


def is_open(row: OutboxMessage, checked_at: datetime | None) -> bool:
    """Return True while the failed row still needs staff: same address and no check since it was queued."""
    if row.to_address.strip().lower() != row.patient.email.strip().lower():
        return False
    return checked_at is None or checked_at < row.created_at


def address_checked_at(patient_id: int) -> datetime | None:
    """Return the latest moment staff reached the patient by phone or changed the patient's email."""
    moments = []
    call = (Call.select(Call.made_at)
            .where((Call.patient == patient_id) & ((Call.answered == True) | (Call.er_confirmed == True)))
            .order_by(Call.made_at.desc()).first())
    if call is not None:
        moments.append(call.made_at)

    edits = (AuditEvent.select(AuditEvent.at, AuditEvent.detail)
             .where((AuditEvent.patient == patient_id) & (AuditEvent.action == audit.EDIT)))
    moments += [event.at for event in edits if "email" in (event.detail or {}).get("fields", [])]
    return max(moments, default=None)
