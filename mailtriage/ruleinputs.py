"""The named inputs a rule's condition and reason text may use, computed once per report.

INPUTS lists every name with what it holds; a rule file that uses any other
name is rejected at load. Missing or unreadable values are null, so a
condition checks ``x != null`` before it compares ``x``.
"""

from dataclasses import dataclass
from datetime import date, datetime

from mailtriage import clock, derived
from mailtriage.comments import AlarmPhrase, find_alarm_phrases
from mailtriage.contracts import PastReport, PatientProfile, Unreadable
from mailtriage.dayrecords import DayRecord, build_day_records
from mailtriage.questions import DEFAULT_QUESTIONS, YES_NO, describe_questions
from mailtriage.spo2bands import bands_for

# NOTE: triage reads the default question set because it is not given the
# configured one. A deployment that drops or renumbers questions would get
# wrong numbers in "missing_alarm_questions" and the "could not read" block.
QUESTION_KEYS = tuple(question.key for question in DEFAULT_QUESTIONS)
ALARM_KEYS = tuple(question.key for question in DEFAULT_QUESTIONS if question.alarm)
YES_NO_KEYS = tuple(question.key for question in DEFAULT_QUESTIONS if question.kind == YES_NO)

INPUTS = {
    **{key: "respuesta sí/no de hoy (true, false o null)" for key in YES_NO_KEYS},
    "dyspnea_level": "respiración de hoy, 0-3 (A-D), o null",
    "dyspnea_letter": "respiración de hoy como letra A-D, o null",
    "overall_trend": "cómo se siente comparado con ayer: better, same, worse o null",
    "temp": "temperatura legible de hoy en °C (34.0-43.0), o null",
    "temp_unreadable": "la temperatura de hoy es ilegible o imposible",
    "temperature_raw": "lo que escribió el paciente como temperatura ilegible, o null",
    "spo2_value": "SpO2 legible de hoy en % (SPO2_MIN_VALID-100), o null",
    "spo2_unreadable": "la SpO2 de hoy es ilegible o imposible",
    "spo2_raw": "lo que escribió el paciente como SpO2 ilegible, o null",
    "unreadable": "lista de preguntas de hoy ilegibles",
    "unanswered": "lista de preguntas de hoy sin respuesta",
    "missing_alarm_items": "lista de preguntas de alarma (10-14) sin respuesta legible hoy",
    "missing_alarm_questions": "las preguntas de alarma sin respuesta legible, por número y nombre",
    "nothing_read": "no se leyó ninguna respuesta hoy",
    "age_years": "edad en años el día del reporte",
    "age_days": "edad en días, o null",
    "age_months": "edad en meses cumplidos",
    "pregnancy_profile": "embarazada o con parto hace POSTPARTUM_DAYS días o menos",
    "high_risk": "alto riesgo: edad, embarazo o comorbilidad",
    "child": "menor de ADULT_AGE_YEARS años",
    "illness_day": "día de enfermedad (el día de inicio es el día 1)",
    "in_window": "día de enfermedad entre WINDOW_FIRST_DAY y WINDOW_LAST_DAY",
    "onset_estimated": "la fecha de inicio se estimó con la fecha de registro",
    "has_oximeter": "el paciente tiene oxímetro",
    "fever_status": "fiebre de hoy: yes, no o unknown",
    "fever_today": "fiebre hoy (reportada, medida o sin respuesta al paracetamol)",
    "fever_streak": "días de calendario seguidos con fiebre hasta hoy",
    "fever_streak_temperatures": "temperaturas de los días de la racha de fiebre",
    "fever_returned": "la fiebre regresó tras FEVER_RETURN_CLEAR_REPORTS días sin fiebre",
    "fever_free_days": "días sin fiebre entre el último día con fiebre y hoy",
    "prev_exists": "hay un día anterior con reporte en las últimas PREV_MAX_HOURS horas",
    "prev_fever_status": "fiebre de ese día anterior: yes, no o unknown; null si no hay",
    "prev_dyspnea": "respiración legible más reciente de las últimas PREV_MAX_HOURS horas, o null",
    "prev_dyspnea_letter": "esa respiración como letra A-D, o null",
    "prev_dyspnea_date": "el día de esa respiración, o null",
    "spo2_profile": "perfil de SpO2: standard, altitude, pregnancy, pregnancy_altitude o baseline",
    "spo2_red_max": "máximo de la banda roja de SpO2 del paciente",
    "spo2_yellow_min": "mínimo entero de la banda amarilla de SpO2 del paciente",
    "spo2_yellow_max": "máximo de la banda amarilla de SpO2 del paciente",
    "spo2_ref": "SpO2 de referencia de los días anteriores, o null",
    "spo2_drop": "spo2_ref menos la SpO2 de hoy, o null",
    "last_record_color": "color del día anterior más reciente, de cualquier antigüedad, o null",
    "last_record_date": "el día de ese reporte anterior, o null",
    "comment_phrases": "palabras de los comentarios de hoy que coinciden con una frase de alarma",
}

# Inputs that exist only once the rules of a more severe color have run.
RED_HIT = "red_hit"
TRIAGE_COLOR = "triage_color"
STAGED_INPUTS = {
    RED_HIT: "alguna regla roja se cumplió hoy (solo reglas amarillas y banderas)",
    TRIAGE_COLOR: "el color final de hoy (solo banderas)",
}


@dataclass(frozen=True)
class ReportContext:
    """The inputs of one report's triage: today's merged record, the earlier day records, the profile and the arrival."""

    today: DayRecord
    earlier: dict[date, DayRecord]
    profile: PatientProfile
    received_at: datetime


def build_context(answers: dict, profile: PatientProfile, history: list[PastReport],
                  received_at: datetime, spo2_min: float) -> ReportContext:
    """Merge the current report into today's day record and set the earlier day records apart.

    Reports that arrived after the current one are left out, so a re-triage
    of a stored report uses only what was known when it arrived.
    """
    today = clock.local_date(received_at, profile.unit_timezone)
    current = PastReport(received_at=received_at, answers=answers, color="", local_date=today)
    known_then = [report for report in history if report.received_at <= received_at]
    records = build_day_records(known_then + [current], profile.unit_timezone, spo2_min)

    earlier = {day: record for day, record in records.items() if day < today}
    return ReportContext(today=records[today], earlier=earlier, profile=profile, received_at=received_at)


def answer_inputs(answers: dict) -> dict:
    values = {key: derived.readable(answers, key) for key in YES_NO_KEYS}
    values["dyspnea_level"] = derived.readable(answers, "dyspnea_level")
    values["dyspnea_letter"] = derived.dyspnea_letter(values["dyspnea_level"])
    values["overall_trend"] = derived.readable(answers, "overall_trend")
    values["temp"] = derived.readable(answers, "temperature_c")
    values["temp_unreadable"] = isinstance(answers.get("temperature_c"), Unreadable)
    values["temperature_raw"] = _raw(answers.get("temperature_c"))
    values["spo2_value"] = derived.readable(answers, "spo2")
    values["spo2_unreadable"] = isinstance(answers.get("spo2"), Unreadable)
    values["spo2_raw"] = _raw(answers.get("spo2"))
    return values


def completeness_inputs(answers: dict) -> dict:
    unreadable = [key for key, value in answers.items() if isinstance(value, Unreadable)]
    missing_alarm = [key for key in ALARM_KEYS if derived.readable(answers, key) is None]
    return {
        "unreadable": unreadable,
        "unanswered": [key for key in QUESTION_KEYS if key not in answers],
        "missing_alarm_items": missing_alarm,
        "missing_alarm_questions": describe_questions(missing_alarm),
        "nothing_read": all(isinstance(value, Unreadable) for value in answers.values()),
    }


def profile_inputs(profile: PatientProfile, parameters: dict) -> dict:
    pregnancy = derived.has_pregnancy_profile(profile, parameters)
    return {
        "age_years": profile.age_years,
        "age_days": profile.age_days,
        "age_months": derived.age_in_months(profile),
        "pregnancy_profile": pregnancy,
        "high_risk": derived.is_high_risk(profile, pregnancy, parameters),
        "child": profile.age_years < parameters["ADULT_AGE_YEARS"],
        "illness_day": profile.illness_day,
        "in_window": derived.in_window(profile.illness_day, parameters),
        "onset_estimated": profile.onset_estimated,
        "has_oximeter": profile.has_oximeter,
    }


def fever_inputs(context: ReportContext, parameters: dict) -> dict:
    status = derived.fever_status(context.today.answers, parameters)
    streak = derived.fever_streak(context.today, context.earlier, parameters)
    returned, clear_days = derived.fever_returned(status == derived.YES, context.earlier, parameters)
    temperatures = [derived.readable(record.answers, "temperature_c") for record in streak if record]
    return {
        "fever_status": status,
        "fever_today": status == derived.YES,
        "fever_streak": len(streak),
        "fever_streak_temperatures": [value for value in temperatures if value is not None],
        "fever_returned": returned,
        "fever_free_days": clear_days,
    }


def history_inputs(context: ReportContext, parameters: dict) -> dict:
    prev = derived.previous_record(context.earlier, context.received_at, parameters)
    level, level_date = derived.previous_dyspnea(context.earlier, context.received_at, parameters)
    newest = derived.newest_first(context.earlier)
    return {
        "prev_exists": prev is not None,
        "prev_fever_status": derived.fever_status(prev.answers, parameters) if prev else None,
        "prev_dyspnea": level,
        "prev_dyspnea_letter": derived.dyspnea_letter(level),
        "prev_dyspnea_date": level_date,
        "last_record_color": newest[0].color if newest else None,
        "last_record_date": newest[0].local_date if newest else None,
    }


def spo2_inputs(context: ReportContext, spo2_value, pregnancy_profile: bool, parameters: dict) -> dict:
    bands = bands_for(pregnancy_profile, context.profile.unit_altitude_m,
                      context.profile.baseline_spo2, parameters)
    reference = derived.spo2_reference(context.earlier, context.today.local_date, parameters)
    both = reference is not None and spo2_value is not None
    return {
        "spo2_profile": bands.profile,
        "spo2_red_max": bands.red_max,
        "spo2_yellow_min": bands.red_max + 1,
        "spo2_yellow_max": bands.yellow_max,
        "spo2_ref": reference,
        "spo2_drop": reference - spo2_value if both else None,
    }


def compute_inputs(context: ReportContext, parameters: dict, phrases: tuple[AlarmPhrase, ...]) -> dict:
    """Compute every input of INPUTS for one report."""
    answers = context.today.answers
    values = answer_inputs(answers)
    values.update(completeness_inputs(answers))
    values.update(profile_inputs(context.profile, parameters))
    values.update(fever_inputs(context, parameters))
    values.update(history_inputs(context, parameters))
    values.update(spo2_inputs(context, values["spo2_value"], values["pregnancy_profile"], parameters))
    values["comment_phrases"] = find_alarm_phrases(list(context.today.comments), phrases)
    return values


def _raw(value) -> str | None:
    return value.raw if isinstance(value, Unreadable) else None


NONREPORTING_INPUTS = {
    "silence_hours": "horas desde el último reporte, o desde el primer cuestionario si nunca reportó",
    "contact_hours": "horas desde el último contacto: reporte, llamada contestada o llegada confirmada",
    "last_reminder_hours": "horas desde el último recordatorio enviado, o null",
    "never_reported": "el paciente nunca ha reportado",
    "last_color": "color del último día con reporte, o null",
    "unanswered_attempts": "llamadas sin respuesta desde el último contacto",
    "attempt_span_hours": "horas entre la primera y la última de esas llamadas, o null",
    "unconfirmed_red_hours": "antigüedad en horas del reporte ROJO más antiguo sin llegada confirmada, o null",
    **{name: INPUTS[name] for name in (
        "age_years", "pregnancy_profile", "high_risk", "child", "illness_day", "in_window")},
}

NONREPORTING_ACTIONS = ("send_reminder", "staff_call", "escalate_to_physician", "call_alt_contact")
