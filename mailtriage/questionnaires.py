"""Issuing questionnaires: the daily one, the welcome at enrolment, on demand, and reminders.

An issuance and its outbox row are created in one transaction, so a
questionnaire is either queued with its folio or not issued at all. The
daily questionnaire goes out once per local day in the unit's time zone,
at or after the configured time. A unique index on (patient, local day)
keeps a second one out even when two processes issue at the same moment.
"""

import logging
from datetime import datetime, time
from zoneinfo import ZoneInfo

from peewee import IntegrityError

from mailtriage import clock
from mailtriage.errors import MailtriageError
from mailtriage.folios import MAX_FOLIO_ATTEMPTS, format_folio, unused_folio
from mailtriage.i18n import tr
from mailtriage.mailtemplates import (
    RenderedMail, configured_unit, in_language, patient_language, render_pair,
)
from mailtriage.messageids import (
    questionnaire_message_id, random_message_id, sender_address, sender_domain,
)
from mailtriage.models import Issuance, OutboxMessage, Patient, Reminder, database_proxy
from mailtriage.questions import DEFAULT_QUESTIONS
from mailtriage.display_names import STATUS_NAMES, display_name

log = logging.getLogger("mailtriage.questionnaires")

DAILY = "daily"
ENROLMENT = "enrolment"
ON_DEMAND = "on_demand"
ISSUANCE_KINDS = (DAILY, ENROLMENT, ON_DEMAND)
# The kinds that count as the day's questionnaire, because the welcome
# replaces the daily questionnaire on the enrolment day.
DAY_QUESTIONNAIRE_KINDS = (DAILY, ENROLMENT)

MONITORING = "monitoring"


class AlreadyIssuedError(MailtriageError):
    """The patient already has the day's questionnaire."""


class NotMonitoredError(MailtriageError):
    """The patient is discharged, so no more questionnaires go out."""


def numbered_prompts(language: str, questions=DEFAULT_QUESTIONS) -> list[dict]:
    """Return the questionnaire's numbered lines, in the configured order."""
    return [{"number": number, "prompt": question.prompt(language)}
            for number, question in enumerate(questions, start=1)]


def questionnaire_subject(kind: str, folio: str, language: str) -> str:
    """Return the subject that carries the folio, which the parser reads back from replies."""
    if kind == ENROLMENT:
        text = in_language(language, "Bienvenida al automonitoreo COVID-19: su primer cuestionario",
                           "Welcome to COVID-19 self-monitoring: your first questionnaire")
    else:
        text = in_language(language, "Cuestionario de automonitoreo COVID-19",
                           "COVID-19 self-monitoring questionnaire")
    return f"{text} [Folio {format_folio(folio)}]"


def render_questionnaire(patient, unit, config, kind: str, folio: str,
                         questions=DEFAULT_QUESTIONS) -> RenderedMail:
    """Render the questionnaire email, or the welcome with the first questionnaire at enrolment."""
    language = patient_language(patient, config)
    template = "welcome" if kind == ENROLMENT else "questionnaire"
    return render_pair(config, language, template, questionnaire_subject(kind, folio, language),
                       first_name=patient.first_name, unit=unit, folio=format_folio(folio),
                       questions=numbered_prompts(language, questions))


def _folio_taken(folio: str) -> bool:
    return Issuance.select().where(Issuance.folio == folio).exists()


def has_day_questionnaire(patient, local_day) -> bool:
    return (Issuance.select()
            .where((Issuance.patient == patient) & (Issuance.local_date == local_day)
                   & Issuance.kind.in_(DAY_QUESTIONNAIRE_KINDS))
            .exists())


def _check_can_issue(patient, kind: str, local_day) -> None:
    if kind not in ISSUANCE_KINDS:
        raise ValueError(f"unknown issuance kind {kind!r}; expected one of {ISSUANCE_KINDS}")
    if patient.status != MONITORING:
        raise NotMonitoredError(tr(
            "el paciente {id} no está en monitoreo (estado: {status}); no se le envían cuestionarios",
            "patient {id} is not under monitoring (status: {status}); no questionnaires are sent",
            id=patient.id, status=display_name(STATUS_NAMES, patient.status)))
    if kind in DAY_QUESTIONNAIRE_KINDS and has_day_questionnaire(patient, local_day):
        raise AlreadyIssuedError(tr(
            "el paciente {id} ya recibió el cuestionario del {day}; use un envío a solicitud si hace falta otro",
            "patient {id} already has the questionnaire of {day}; issue an on-demand one if another is needed",
            id=patient.id, day=local_day.isoformat()))


def issue_questionnaire(patient, unit, config, kind: str = DAILY, now: datetime | None = None) -> Issuance:
    """Create an issuance with a new folio and queue its email, in one transaction.

    ``kind`` is ``daily``, ``enrolment`` (the welcome, with the first
    questionnaire) or ``on_demand``. Raises NotMonitoredError for a
    discharged patient and AlreadyIssuedError when the day's questionnaire
    exists. The outbox kind is ``welcome`` at enrolment, else ``questionnaire``.
    """
    moment = now or clock.now()
    local_day = clock.local_date(moment, unit.timezone)
    _check_can_issue(patient, kind, local_day)

    for _ in range(MAX_FOLIO_ATTEMPTS):
        folio = unused_folio(_folio_taken)
        try:
            with database_proxy.atomic():
                return _create_issuance(patient, unit, config, kind, folio, local_day, moment)
        except IntegrityError as exc:
            if kind in DAY_QUESTIONNAIRE_KINDS and has_day_questionnaire(patient, local_day):
                raise AlreadyIssuedError(tr(
                    "el paciente {id} ya recibió el cuestionario del {day}",
                    "patient {id} already has the questionnaire of {day}",
                    id=patient.id, day=local_day.isoformat())) from exc
            if not _folio_taken(folio):
                raise
            # Another process took this folio after the check: draw a new one.
            log.info("folio collision for patient %s; drawing another", patient.id)

    raise MailtriageError(tr("no se pudo guardar un folio libre tras {n} intentos",
                             "could not store an unused folio after {n} attempts", n=MAX_FOLIO_ATTEMPTS))


def _create_issuance(patient, unit, config, kind, folio, local_day, moment) -> Issuance:
    message_id = questionnaire_message_id(local_day, folio, sender_domain(config))
    issuance = Issuance.create(patient=patient, local_date=local_day, folio=folio,
                               message_id=message_id, kind=kind, created_at=moment)

    mail = render_questionnaire(patient, unit, config, kind, folio)
    OutboxMessage.create(
        kind="welcome" if kind == ENROLMENT else "questionnaire",
        patient=patient, issuance=issuance, to_address=patient.email,
        subject=mail.subject, message_id=message_id,
        body_text=mail.text, body_html=mail.html,
        extra_headers={"Reply-To": sender_address(config)},
        next_attempt_at=moment, created_at=moment)

    log.info("folio %s: %s questionnaire queued for patient %s as %s", folio, kind, patient.id, message_id)
    return issuance


def _questionnaire_time(config) -> time:
    hours, minutes = config.questionnaire_time.split(":")
    return time(int(hours), int(minutes))


def find_due_patients(config, now: datetime | None = None) -> list[tuple[Patient, object]]:
    """Return (patient, unit) for every monitored patient whose daily questionnaire is due now.

    Due means: the unit's local time has reached the questionnaire time and
    the patient has no questionnaire for that local day yet.
    """
    moment = now or clock.now()
    send_at = _questionnaire_time(config)
    candidates = []
    for patient in Patient.select().where(Patient.status == MONITORING).order_by(Patient.id):
        unit = config.unit(patient.unit.code)
        if unit is None:
            log.warning("patient %s: unit %s is not configured; no questionnaire issued",
                        patient.id, patient.unit.code)
            continue
        local_now = moment.astimezone(ZoneInfo(unit.timezone))
        if local_now.time() >= send_at:
            candidates.append((patient, unit, local_now.date()))

    issued = _day_questionnaires_on({day for _, _, day in candidates})
    return [(patient, unit) for patient, unit, day in candidates if (patient.id, day) not in issued]


def _day_questionnaires_on(days) -> set[tuple[int, object]]:
    if not days:
        return set()
    rows = (Issuance.select(Issuance.patient, Issuance.local_date)
            .where(Issuance.local_date.in_(list(days)) & Issuance.kind.in_(DAY_QUESTIONNAIRE_KINDS)))
    return {(row.patient_id, row.local_date) for row in rows}


def issue_due_questionnaires(config, now: datetime | None = None, progress=None) -> int:
    """Issue every daily questionnaire that is due and return how many were issued.

    ``progress``, when given, wraps the list of due patients (a click
    progress bar, for example). A patient issued meanwhile by another
    process is skipped, not counted.
    """
    moment = now or clock.now()
    due = find_due_patients(config, moment)
    issued = 0
    for patient, unit in (progress(due) if progress else due):
        try:
            issue_questionnaire(patient, unit, config, DAILY, moment)
        except AlreadyIssuedError:
            log.info("patient %s: the day's questionnaire was issued by another process", patient.id)
            continue
        issued += 1
    return issued


def latest_issuance(patient) -> Issuance | None:
    return (Issuance.select().where(Issuance.patient == patient)
            .order_by(Issuance.created_at.desc(), Issuance.id.desc()).first())


def render_reminder(patient, unit, config, issuance) -> RenderedMail:
    """Render the reminder of ``issuance``: the reminder text, then its questions and folio."""
    language = patient_language(patient, config)
    folio = format_folio(issuance.folio)
    subject = in_language(language, "Recordatorio: cuestionario de automonitoreo COVID-19 [Folio {folio}]",
                          "Reminder: COVID-19 self-monitoring questionnaire [Folio {folio}]", folio=folio)
    return render_pair(config, language, "reminder", subject, first_name=patient.first_name,
                       unit=unit, folio=folio, questionnaire_date=issuance.local_date,
                       questions=numbered_prompts(language))


def issue_reminder(patient, unit, config, now: datetime | None = None) -> OutboxMessage:
    """Queue the reminder to a silent patient and record it, in one transaction.

    The reminder repeats the questions of the latest questionnaire under the
    same folio, so a reply to the reminder is matched like one to the
    questionnaire. The Reminder row is what the non-reporting rules count.
    ``unit`` may be None to take the patient's unit from the config.
    """
    moment = now or clock.now()
    unit = unit or configured_unit(patient, config)
    issuance = latest_issuance(patient)
    if issuance is None:
        raise MailtriageError(tr(
            "el paciente {id} no tiene cuestionarios enviados; no hay nada que recordarle",
            "patient {id} has no questionnaire sent yet; there is nothing to remind", id=patient.id))

    mail = render_reminder(patient, unit, config, issuance)
    with database_proxy.atomic():
        message = OutboxMessage.create(
            kind="reminder", patient=patient, issuance=issuance, to_address=patient.email,
            subject=mail.subject, message_id=random_message_id("rem", sender_domain(config)),
            in_reply_to=issuance.message_id, references=issuance.message_id,
            body_text=mail.text, body_html=mail.html,
            extra_headers={"Reply-To": sender_address(config)},
            next_attempt_at=moment, created_at=moment)
        Reminder.create(patient=patient, sent_at=moment, outbox=message)

    log.info("folio %s: reminder queued for patient %s as %s", issuance.folio, patient.id, message.message_id)
    return message
