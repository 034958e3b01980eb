"""The audit trail of staff actions: who enrolled, edited, called, discharged, exported or imported.

Details hold ids, counts and field names only, never the values of health
data or contact details, so the trail can be shown to any administrator.
"""

import getpass
import os
from datetime import datetime

from mailtriage import clock
from mailtriage.display_names import (
    AUDIT_DETAIL_NAMES, CALL_OUTCOME_NAMES, COLOR_NAMES, DISCHARGE_REASON_NAMES,
    EXPORT_DATASET_NAMES, EXPORT_ROW_NAMES, FIELD_NAMES, display_name, yes_no,
)
from mailtriage.models import AuditEvent, Patient

ENROL = "enrol"
EDIT = "edit"
CALL = "call"
DISCHARGE = "discharge"
EXPORT = "export"
IMPORT = "import"

# Detail keys whose stored codes have display names.
DETAIL_VALUE_NAMES = {
    "fields": FIELD_NAMES, "reason": DISCHARGE_REASON_NAMES, "outcome": CALL_OUTCOME_NAMES,
    "old_color": COLOR_NAMES, "new_color": COLOR_NAMES, "dataset": EXPORT_DATASET_NAMES,
    "per": EXPORT_ROW_NAMES,
}

# Detail keys that only record that something was given, shown as a phrase
# when true. A staff note may describe symptoms, so the trail keeps the fact
# that there was one and never its text.
WITH_NOTE = "with_note"
FLAG_DETAIL_NAMES = {WITH_NOTE: ("con nota", "with a note")}


def current_actor(staff: str | None = None) -> str:
    """Return the staff name given on the command line, else the operating-system user."""
    if staff:
        return staff.strip()
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        # A container may run under a uid with no passwd entry.
        return f"uid:{os.getuid()}"


def record(actor: str, action: str, patient: Patient | int | None = None, **detail) -> AuditEvent:
    """Store one audit event at the clock's current time and return it."""
    return AuditEvent.create(
        at=clock.now(), actor=actor, action=action, patient=patient, detail=detail)


def list_events(patient_id: int | None = None, since: datetime | None = None) -> list[AuditEvent]:
    """Return audit events oldest first, optionally of one patient and from a moment on."""
    query = AuditEvent.select().order_by(AuditEvent.at, AuditEvent.id)
    if patient_id is not None:
        query = query.where(AuditEvent.patient == patient_id)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    return list(query)


def detail_text(detail: dict) -> str:
    """Return an event's details as "name: value" pairs in the active language, sorted by name."""
    parts = []
    for key, value in detail.items():
        if key in FLAG_DETAIL_NAMES:
            if value:
                parts.append(display_name(FLAG_DETAIL_NAMES, key))
            continue
        parts.append(f"{display_name(AUDIT_DETAIL_NAMES, key)}: {_detail_value(key, value)}")
    return "; ".join(sorted(parts))


def _detail_value(key: str, value) -> str:
    names = DETAIL_VALUE_NAMES.get(key, {})
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, list):
        return ", ".join(display_name(names, item) for item in value) or "-"
    return display_name(names, value)
