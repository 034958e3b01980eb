"""Rows for the administration tests (status, retention): patients, messages, reports, outbox."""

import itertools
from datetime import date, datetime, timedelta

from mailtriage import clock
from mailtriage.models import InboundMessage, OutboxMessage, Patient, Report, Unit

_serial = itertools.count(1)


def add_patient(status: str = "monitoring", discharged_days_ago: int | None = None) -> Patient:
    number = next(_serial)
    discharged_at = None
    if discharged_days_ago is not None:
        discharged_at = clock.now() - timedelta(days=discharged_days_ago)
    return Patient.create(
        unit=Unit.select().first(), first_name=f"Paciente{number}", last_name="Prueba",
        email=f"paciente{number}@example.mx", birth_date=date(1970, 1, 1),
        enrolled_at=clock.now() - timedelta(days=500), status=status, discharged_at=discharged_at)


def add_inbound(patient: Patient | None, outcome: str = "reported", attempts: int = 0,
                days_ago: int = 0, raw: bytes | None = b"From: x\r\n\r\n1. NO\r\n") -> InboundMessage:
    number = next(_serial)
    received = clock.now() - timedelta(days=days_ago)
    return InboundMessage.create(
        mailbox="INBOX", uidvalidity=1, uid=str(number), message_id=f"<m{number}@example.mx>",
        received_at=received, outcome=outcome, attempts=attempts, patient=patient, raw=raw,
        created_at=received)


def add_report(patient: Patient, color: str = "verde", day: date | None = None,
               inbound: InboundMessage | None = None) -> Report:
    received = clock.now() if day is None else datetime.combine(day, datetime.min.time(), clock.now().tzinfo)
    return Report.create(
        patient=patient, inbound=inbound, received_at=received,
        local_date=day or clock.local_date(clock.now(), "America/Mazatlan"),
        answers={"fever": True, "temperature": 38.4}, unanswered=["spo2"],
        unreadable={"dyspnea": "mas o menos"}, color=color,
        hits=[{"rule_id": "A3", "color": color, "priority": "N",
               "reason": "fiebre de 38.4 °C", "values": {"temperature": 38.4}}],
        flags=["fever"], created_at=received)


def add_outbox(patient: Patient | None, status: str = "sent", attempts: int = 0) -> OutboxMessage:
    number = next(_serial)
    return OutboxMessage.create(
        kind="reply", patient=patient, to_address="paciente@example.mx", subject="Su reporte",
        message_id=f"<o{number}@umf34.example.mx>", body_text="Hola, su reporte es verde.",
        body_html="<p>Hola</p>", status=status, attempts=attempts,
        next_attempt_at=clock.now(), created_at=clock.now())
