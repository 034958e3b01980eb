"""The call list: who staff must phone now, and the calls that close it.

A yellow or red report, or a non-reporting rule, opens a call-list entry.
Only a logged call closes one, never a later report:

- a call that confirms arrival at Urgencias (or a physician's decision)
  closes every open entry of the patient;
- an answered call closes every entry except the red ones (a red report and
  N4), because only a confirmation records that the patient reached Urgencias;
- an unanswered call closes nothing and counts as an attempt on each open entry.

Messages from a patient's address that were not read as answers (an
unknown or another patient's folio, a message too large or too complex to
read) wait for review beside the call list. A call that reaches the patient
or confirms arrival closes them, and so does a dismissal by staff.
"""

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

from mailtriage import audit, clock
from mailtriage.display_names import CALL_OUTCOME_NAMES
from mailtriage.errors import MailtriageError, NotFoundError
from mailtriage.i18n import tr
from mailtriage.contracts import FOLIO_MISMATCH, OVERSIZE, UNKNOWN_FOLIO
from mailtriage.models import Call, CallListEntry, InboundMessage, Patient, Report, database_proxy

REPORT_RULE = "report"
RED_RULES = ("N4",)

# The kinds of message from a patient's address that staff must review,
# because a red sign may be in a reply that could not be attached to a report.
REVIEW_KINDS = (UNKNOWN_FOLIO, FOLIO_MISMATCH, OVERSIZE)

# The audit action of a review closed without a call.
DISMISS_MESSAGE = "dismiss_message"


@dataclass(frozen=True)
class Outcome:
    code: str
    english: str
    answered: bool
    er_confirmed: bool


OUTCOMES = (
    Outcome("contestada", "answered", answered=True, er_confirmed=False),
    Outcome("sin_respuesta", "no_answer", answered=False, er_confirmed=False),
    Outcome("buzon_de_voz", "voicemail", answered=False, er_confirmed=False),
    Outcome("numero_equivocado", "wrong_number", answered=False, er_confirmed=False),
    Outcome("enviado_a_urgencias", "sent_to_er", answered=True, er_confirmed=False),
    Outcome("llego_a_urgencias", "arrived_at_er", answered=True, er_confirmed=True),
    # The responsible physician chose another course (hospital admission elsewhere,
    # home visit plan); it stops the wait for arrival at Urgencias like a confirmation.
    Outcome("decision_medica", "physician_decision", answered=False, er_confirmed=True),
    Outcome("visita_domiciliaria", "home_visit", answered=True, er_confirmed=False),
)
OUTCOME_NAMES = tuple(name for outcome in OUTCOMES for name in (outcome.code, outcome.english))


class CallError(MailtriageError):
    """A call cannot be logged as given."""


def _outcome_key(name: str) -> str:
    """Fold case, accents and spaces, so «llegó a Urgencias» finds llego_a_urgencias."""
    decomposed = unicodedata.normalize("NFD", name.strip().lower())
    plain = "".join(character for character in decomposed if not unicodedata.combining(character))
    return "_".join(plain.replace("_", " ").replace("'", " ").split())


def find_outcome(name: str) -> Outcome:
    """Return the outcome named in Spanish or English, or raise CallError listing the valid names."""
    requested = _outcome_key(name)
    for outcome in OUTCOMES:
        names = (outcome.code, outcome.english, *CALL_OUTCOME_NAMES.get(outcome.code, ()))
        if requested in {_outcome_key(known) for known in names}:
            return outcome
    raise CallError(tr("resultado de llamada no válido «{v}»; use uno de: {ok}",
                       "invalid call outcome '{v}'; use one of: {ok}",
                       v=name, ok=", ".join(OUTCOME_NAMES)))


def hit_reasons(report: Report) -> list[str]:
    """Return the reason texts of a report's stored rule hits."""
    reasons = []
    for hit in report.hits or []:
        reason = hit.get("reason") if isinstance(hit, dict) else str(hit)
        if reason:
            reasons.append(reason)
    return reasons


def sync_report_entries() -> int:
    """Open an entry for every yellow or red report that has none yet, whatever the patient's status.

    Entries are opened here rather than by the pipeline so the call list
    depends only on stored reports. A discharge syncs first and then closes
    the patient's entries, so only a report that arrives after the
    discharge opens a new one here. Returns the number of entries opened.
    """
    has_entry = CallListEntry.select(CallListEntry.report).where(
        (CallListEntry.rule == REPORT_RULE) & CallListEntry.report.is_null(False))
    reports = (Report.select(Report, Patient).join(Patient)
               .where(Report.color.in_(("amarillo", "rojo")), Report.id.not_in(has_entry)))

    opened = 0
    for report in reports:
        CallListEntry.create(
            patient=report.patient, report=report, rule=REPORT_RULE, color=report.color,
            priority="A" if report.color == "rojo" else (report.priority or "N"),
            reasons=hit_reasons(report), opened_at=report.received_at)
        opened += 1
    return opened


def open_rule_entry(patient: Patient, rule: str, priority: str, reasons: list[str],
                    report: Report | None = None) -> CallListEntry | None:
    """Open an entry for a non-reporting rule unless one is already open, and return the new entry or None.

    An N4 entry belongs to its red report and is opened at most once per
    report, which the unique index on (report, rule) also enforces.
    """
    existing = CallListEntry.select().where(CallListEntry.patient == patient, CallListEntry.rule == rule)
    if report is not None:
        existing = existing.where(CallListEntry.report == report)
    else:
        existing = existing.where(CallListEntry.closed_at.is_null())
    if existing.exists():
        return None

    color = "rojo" if rule in RED_RULES else "amarillo"
    return CallListEntry.create(patient=patient, report=report, rule=rule, color=color,
                                priority=priority, reasons=reasons, opened_at=clock.now())


def is_red_entry(entry: CallListEntry) -> bool:
    return entry.color == "rojo"


def open_entries(patient: Patient | int | None = None) -> list[CallListEntry]:
    query = (CallListEntry.select(CallListEntry, Patient).join(Patient)
             .where(CallListEntry.closed_at.is_null()).order_by(CallListEntry.opened_at))
    if patient is not None:
        query = query.where(CallListEntry.patient == patient)
    return list(query)


@dataclass
class WaitingPatient:
    """One line of the call list: a patient and every open entry that keeps the patient on it."""

    patient: Patient
    entries: list[CallListEntry] = field(default_factory=list)

    @property
    def rank(self) -> int:
        """Return 0 for a red confirmation, 1 for priority A, 2 for priority N."""
        if any(is_red_entry(entry) for entry in self.entries):
            return 0
        return 1 if any(entry.priority == "A" for entry in self.entries) else 2

    @property
    def waiting_since(self) -> datetime:
        return min(entry.opened_at for entry in self.entries)

    @property
    def escalated(self) -> bool:
        return any(entry.rule == "N3" for entry in self.entries)

    @property
    def attempts(self) -> int:
        return max(entry.attempts for entry in self.entries)


def call_list() -> list[WaitingPatient]:
    """Return who must be phoned now: red confirmations, then priority A, then N, longest wait first."""
    sync_report_entries()
    waiting: dict[int, WaitingPatient] = {}
    for entry in open_entries():
        waiting.setdefault(entry.patient.id, WaitingPatient(entry.patient)).entries.append(entry)
    return sorted(waiting.values(), key=lambda item: (item.rank, item.waiting_since))


def open_reviews():
    """Select the messages of REVIEW_KINDS from a patient's address that no one has reviewed yet."""
    return (InboundMessage.select(InboundMessage, Patient)
            .join(Patient, on=(InboundMessage.sender_patient == Patient.id))
            .where(InboundMessage.kind.in_(REVIEW_KINDS), InboundMessage.reviewed_at.is_null()))


def messages_to_review(patient: Patient | int | None = None) -> list[InboundMessage]:
    """Return the open reviews, of one patient or of all, oldest first."""
    query = open_reviews().order_by(InboundMessage.received_at, InboundMessage.id)
    if patient is not None:
        query = query.where(InboundMessage.sender_patient == patient)
    return list(query)


def dismiss_message(message_id: int, note: str, staff: str) -> InboundMessage:
    """Close the review of one message without a call, keeping the note and an audit event."""
    if not note.strip():
        raise CallError(tr("falta la nota: diga por qué el mensaje {id} no requiere llamada",
                           "the note is missing: say why message {id} needs no call", id=message_id))
    with database_proxy.atomic():
        message = open_reviews().where(InboundMessage.id == message_id).first()
        if message is None:
            raise NotFoundError(tr(
                "el mensaje {id} no está entre los mensajes por revisar; vea «mailtriage calls list»",
                "message {id} is not among the messages to review; see 'mailtriage calls list'",
                id=message_id))
        message.reviewed_at = clock.now()
        message.review_note = note.strip()
        message.save(only=[InboundMessage.reviewed_at, InboundMessage.review_note])
        audit.record(staff, DISMISS_MESSAGE, message.sender_patient_id, message=message.id,
                     **{audit.WITH_NOTE: True})
    return message


def close_reviews(call: Call) -> list[int]:
    """Close the patient's open reviews when the call reached the patient; return their ids."""
    if not (call.answered or call.er_confirmed):
        return []
    ids = [message.id for message in messages_to_review(call.patient_id)]
    if ids:
        (InboundMessage.update(reviewed_at=call.made_at)
         .where(InboundMessage.id.in_(ids)).execute())
    return ids


def log_call(patient_id: int, outcome_name: str, note: str, staff: str,
             report_id: int | None = None) -> tuple[Call, list[CallListEntry]]:
    """Record a call and close the entries its outcome closes; return the call and those entries."""
    outcome = find_outcome(outcome_name)
    patient = Patient.get_or_none(Patient.id == patient_id)
    if patient is None:
        raise NotFoundError(tr("no existe el paciente {id}", "patient {id} not found", id=patient_id))
    if report_id is not None and not Report.select().where(
            Report.id == report_id, Report.patient == patient).exists():
        raise NotFoundError(tr("el paciente {id} no tiene el reporte {r}",
                               "patient {id} has no report {r}", id=patient_id, r=report_id))

    with database_proxy.atomic():
        sync_report_entries()
        call = Call.create(patient=patient, report=report_id, made_at=clock.now(),
                           outcome=outcome.code, answered=outcome.answered,
                           er_confirmed=outcome.er_confirmed, note=note or "", staff=staff)
        closed = apply_call(call, open_entries(patient))
        reviewed = close_reviews(call)
        audit.record(staff, audit.CALL, patient, call=call.id, outcome=outcome.code,
                     closed_entries=[entry.id for entry in closed], reviewed_messages=reviewed,
                     **{audit.WITH_NOTE: bool(call.note.strip())})
    return call, closed


def apply_call(call: Call, entries: list[CallListEntry]) -> list[CallListEntry]:
    """Close the entries the call closes and count an attempt on the rest."""
    closed = []
    for entry in entries:
        closes = call.er_confirmed or (call.answered and not is_red_entry(entry))
        if closes:
            entry.closed_at = call.made_at
            entry.closing_call = call
            entry.closed_because = "call"
            closed.append(entry)
        elif not call.answered:
            entry.attempts += 1
        entry.save()
    return closed


def close_for_discharge(patient: Patient) -> int:
    """Close every open entry of a discharged patient; return how many were closed."""
    return (CallListEntry.update(closed_at=clock.now(), closed_because="discharge")
            .where(CallListEntry.patient == patient, CallListEntry.closed_at.is_null())
            .execute())
