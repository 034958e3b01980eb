"""Medical discharge: the only way monitoring ends.

A physician records it; silence, unanswered calls or green reports never
discharge a patient by themselves.
"""

import logging

from mailtriage import audit, clock
from mailtriage.calls import close_for_discharge, open_entries, sync_report_entries
from mailtriage.display_names import DISCHARGE_REASON_NAMES, display_list
from mailtriage.profile_fields import plain_key
from mailtriage.errors import MailtriageError, NotFoundError
from mailtriage.i18n import tr
from mailtriage.models import OutboxMessage, Patient, database_proxy
from mailtriage.recording import SKIPPED

# Mail to the patient that a discharge makes pointless; replies to reports already read still go.
STOPPED_KINDS = ("questionnaire", "welcome", "reminder")

log = logging.getLogger("mailtriage.discharge")

# Stored reason codes by every name accepted on input, as plain_key() writes it:
# the Spanish and English display names, and US spelling.
REASON_LOOKUP = {"hospitalized": "hospitalizado"} | {
    plain_key(name): code for code, names in DISCHARGE_REASON_NAMES.items() for name in names}


class DischargeError(MailtriageError):
    """A discharge cannot be recorded as given."""


def find_reason(name: str) -> str:
    """Return the stored reason code for a Spanish or English reason name."""
    code = REASON_LOOKUP.get(plain_key(name))
    if code is None:
        raise DischargeError(tr("motivo de alta no válido «{v}»; use uno de: {ok}",
                                "invalid discharge reason '{v}'; use one of: {ok}",
                                v=name, ok=display_list(DISCHARGE_REASON_NAMES, DISCHARGE_REASON_NAMES)))
    return code


def discharge_patient(patient_id: int, reason_name: str, staff: str, force: bool = False) -> Patient:
    """Record the discharge, which stops questionnaires and closes the patient's call-list entries.

    Raises DischargeError while a yellow or red call is open, unless ``force``.
    """
    reason = find_reason(reason_name)
    with database_proxy.atomic():
        patient = Patient.get_or_none(Patient.id == patient_id)
        if patient is None:
            raise NotFoundError(tr("no existe el paciente {id}", "patient {id} not found", id=patient_id))
        if patient.status == "discharged":
            raise DischargeError(tr("el paciente {id} ya fue dado de alta",
                                    "patient {id} is already discharged", id=patient_id))

        sync_report_entries()
        pending = open_entries(patient)
        if pending and not force:
            raise DischargeError(tr(
                "el paciente {id} tiene {n} llamada(s) pendiente(s) en la lista; regístrelas con "
                "«mailtriage calls log {id}» o use --force",
                "patient {id} has {n} pending call(s) on the call list; log them with "
                "'mailtriage calls log {id}' or use --force", id=patient_id, n=len(pending)))

        patient.status = "discharged"
        patient.discharged_at = clock.now()
        patient.discharge_reason = reason
        patient.discharged_by = staff
        patient.save()
        closed = close_for_discharge(patient)
        unsent = skip_unsent_questionnaires(patient)
        audit.record(staff, audit.DISCHARGE, patient, reason=reason, forced=bool(pending),
                     closed_entries=closed, unsent_mail_skipped=unsent)

    log.info("patient %s discharged (%s)", patient.id, reason)
    return patient


def skip_unsent_questionnaires(patient: Patient) -> int:
    """Mark the patient's questionnaires and reminders not yet sent as skipped; return how many."""
    return (OutboxMessage.update(status=SKIPPED, last_error=tr("alta médica", "discharged"))
            .where(OutboxMessage.patient == patient, OutboxMessage.kind.in_(STOPPED_KINDS),
                   OutboxMessage.status == "pending")
            .execute())
