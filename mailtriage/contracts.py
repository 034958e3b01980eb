"""The small typed contracts between pipeline stages.

The parser returns a MessageReading and knows nothing of IMAP or triage;
matching turns it into a patient and an issuance; triage takes answers,
a profile and day history and returns a TriageResult, knowing nothing of
MIME. Stages exchange only these types.
"""

from dataclasses import dataclass, field
from datetime import date, datetime

# Message kinds, in the order a message is classified (first rule wins).
OVERSIZE = "oversize"
BOUNCE = "bounce"
AUTOREPLY = "autoreply"
UNKNOWN_SENDER = "unknown_sender"
UNKNOWN_FOLIO = "unknown_folio"
FOLIO_MISMATCH = "folio_mismatch"
ANSWER = "answer"
NOT_ANSWER_KINDS = (OVERSIZE, BOUNCE, AUTOREPLY, UNKNOWN_SENDER, UNKNOWN_FOLIO, FOLIO_MISMATCH)

# Why an answer could not be read.
NOT_YES_NO = "not_yes_no"
NOT_A_NUMBER = "not_a_number"
NOT_A_CHOICE = "not_a_choice"
OUT_OF_RANGE = "out_of_range"
AMBIGUOUS = "ambiguous"
CONFLICTING = "conflicting"

VERDE = "verde"
AMARILLO = "amarillo"
ROJO = "rojo"
COLOR_SEVERITY = {VERDE: 0, AMARILLO: 1, ROJO: 2}


@dataclass(frozen=True)
class Unreadable:
    """An answer the parser could not read without guessing: the patient's text and why."""

    raw: str
    why: str


@dataclass
class MessageReading:
    """What the parser read from one message, before it is matched to a patient.

    ``answers`` holds only readable values; unreadable answers are in
    ``unreadable``; a key in neither is unanswered.
    """

    kind: str
    folio: str | None = None
    answers: dict = field(default_factory=dict)
    unanswered: list[str] = field(default_factory=list)
    unreadable: dict[str, Unreadable] = field(default_factory=dict)
    sender: str = ""
    message_id: str | None = None
    in_reply_to: list[str] = field(default_factory=list)
    subject: str = ""
    plus_folio: str | None = None
    size: int = 0
    # What made a message a non-answer (e.g. "Auto-Submitted: auto-replied"), for staff.
    reason: str = ""


@dataclass
class Match:
    """The outcome of matching a reading against the store."""

    kind: str
    patient_id: int | None = None
    issuance_id: int | None = None
    folio: str | None = None
    matched_by: str | None = None  # folio | in_reply_to | sender


@dataclass(frozen=True)
class RuleHit:
    """One rule that fired: its id, color, priority, the Spanish reason and the values behind it."""

    rule_id: str
    color: str | None
    priority: str | None
    reason: str
    values: dict = field(default_factory=dict)


@dataclass
class TriageResult:
    color: str
    priority: str | None
    hits: list[RuleHit]
    flags: list[str] = field(default_factory=list)
    # Patient text blocks the reply adds: could_not_read, nothing_read, very_low_spo2,
    # measure_spo2, comment_go_now.
    blocks: list[str] = field(default_factory=list)
    # The questions the "could not read" block names.
    unreadable_keys: list[str] = field(default_factory=list)
    ruleset_version: str = ""


@dataclass(frozen=True)
class PatientProfile:
    """The enrolment facts triage needs, as of the report's calendar day."""

    age_years: int
    age_days: int | None
    pregnant: bool = False
    postpartum_days: int | None = None
    comorbidities: tuple[str, ...] = ()
    illness_day: int = 1
    onset_estimated: bool = False
    unit_altitude_m: int | None = None
    baseline_spo2: int | None = None
    has_oximeter: bool = False
    unit_timezone: str = "America/Mazatlan"
    # Whole months of age; None lets triage estimate it from years and days.
    age_months: int | None = None


@dataclass(frozen=True)
class PastReport:
    """An earlier report of the episode, as triage reads it."""

    received_at: datetime
    answers: dict  # readable values, plus Unreadable entries for unreadable keys
    color: str
    local_date: date | None = None
