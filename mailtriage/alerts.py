"""Alerts to a unit's staff when a patient needs attention now.

The alert travels by ordinary email, so it carries no health data: it names
the patient id, the unit and the command that shows the report (the
``staff_alert`` templates), and staff read the rest in the CLI.
"""

import logging
from datetime import timedelta
from email.utils import parseaddr

from mailtriage import clock
from mailtriage.models import OutboxMessage, Report

log = logging.getLogger("mailtriage.alerts")

STAFF_ALERT = "staff_alert"

# A patient's staff alerts are at most one per this period, unless a red
# rule appears that the last alert's report did not have. After one red
# report every later report of the day is red too, so without this cap each
# message the patient sends would alert staff again.
ALERT_REPEAT_PERIOD = timedelta(hours=1)


def alert_message_id(report: Report, sender: str) -> str:
    """Return the stable Message-ID of a report's alert, so a second call finds the first alert."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    return f"<staff-alert-{report.id}@{domain}>"


def enqueue_staff_alert(report: Report, config) -> OutboxMessage | None:
    """Queue the email that alerts the unit's staff that a patient needs attention.

    Returns the outbox row, the existing one when the report was already
    alerted, or None when the unit has no ``staff_email`` configured or the
    alert would repeat the patient's last one (see ALERT_REPEAT_PERIOD).
    """
    patient = report.patient
    unit = config.unit(patient.unit.code)
    if unit is None or not unit.staff_email:
        log.warning("report %s: unit %s has no staff_email; no staff alert queued",
                    report.id, patient.unit.code)
        return None

    message_id = alert_message_id(report, config.sender)
    existing = OutboxMessage.get_or_none(OutboxMessage.message_id == message_id)
    if existing is not None:
        return existing
    if alert_is_repeat(report, clock.now()):
        log.debug("report %s: staff alert held back, patient %s was alerted within the hour "
                  "for the same red rules", report.id, patient.id)
        return None

    from mailtriage.replies import render_staff_alert

    mail = render_staff_alert(patient.id, unit, config)
    now = clock.now()
    message = OutboxMessage.create(
        kind=STAFF_ALERT, patient=patient, report=report, to_address=unit.staff_email,
        subject=mail.subject, message_id=message_id, body_text=mail.text, body_html=mail.html,
        next_attempt_at=now, created_at=now)
    log.info("report %s: staff alert queued as %s", report.id, message_id)
    return message


def red_rule_ids(report: Report) -> set[str]:
    """Return the ids of the red rules (R01–R10) that a report's stored hits name."""
    return {hit.get("rule_id") for hit in report.hits or []
            if isinstance(hit, dict) and hit.get("color") == "rojo" and hit.get("rule_id")}


def alert_is_repeat(report: Report, now) -> bool:
    """Return True when the patient's last alert is within the period and had every red rule of ``report``."""
    last = (OutboxMessage.select()
            .where((OutboxMessage.kind == STAFF_ALERT) & (OutboxMessage.patient == report.patient_id)
                   & (OutboxMessage.created_at > now - ALERT_REPEAT_PERIOD))
            .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
            .first())
    if last is None or last.report_id is None:
        return False
    return red_rule_ids(report) <= red_rule_ids(last.report)
