"""Names staff read for stored codes: comorbidities, statuses, reasons, fields, outcomes, answers.

The database stores short English or Spanish codes (``copd``,
``discharged``, ``sin_respuesta``). The staff views (patients show and
list, exports, import errors, edit messages, the audit list) look each
code up in the one table of its concept here, so a name is written once
in each language. A code missing from its table is shown as stored.
"""

from mailtriage.i18n import tr
from mailtriage.questions import (
    DEFAULT_QUESTIONS, DYSPNEA, SPO2, TEMPERATURE, TEXT, TREND, YES_NO, Question,
)

# Each table maps a stored code to its (Spanish, English) display name.
COMORBIDITY_NAMES = {
    "diabetes": ("diabetes", "diabetes"),
    "hypertension": ("hipertensión", "hypertension"),
    "obesity": ("obesidad", "obesity"),
    "copd": ("EPOC", "COPD"),
    "asthma": ("asma", "asthma"),
    "cardiovascular": ("enfermedad cardiovascular", "cardiovascular disease"),
    "ckd": ("enfermedad renal crónica", "chronic kidney disease"),
    "immunosuppression": ("inmunosupresión", "immunosuppression"),
    "liver_disease": ("enfermedad hepática", "liver disease"),
    "neuro_cerebrovascular": ("enfermedad cerebrovascular", "cerebrovascular disease"),
    "smoking": ("tabaquismo", "smoking"),
    "other_comorbidity": ("otra comorbilidad", "other comorbidity"),
}

STATUS_NAMES = {
    "monitoring": ("en seguimiento", "under monitoring"),
    "discharged": ("alta médica", "discharged"),
}

DISCHARGE_REASON_NAMES = {
    "recuperado": ("recuperado", "recovered"),
    "hospitalizado": ("hospitalizado", "hospitalised"),
    "referido": ("referido", "referred"),
    "rechazo": ("rechazo", "declined"),
    "defuncion": ("defunción", "deceased"),
}

CALL_OUTCOME_NAMES = {
    "contestada": ("contestada", "answered"),
    "sin_respuesta": ("sin respuesta", "no answer"),
    "buzon_de_voz": ("buzón de voz", "voicemail"),
    "numero_equivocado": ("número equivocado", "wrong number"),
    "enviado_a_urgencias": ("enviado a Urgencias", "sent to the ER"),
    "llego_a_urgencias": ("llegó a Urgencias", "arrived at the ER"),
    "decision_medica": ("decisión médica", "physician's decision"),
    "visita_domiciliaria": ("visita domiciliaria", "home visit"),
}

# Why a patient is on the call list: a yellow or red report, or a non-reporting rule.
CALL_LIST_RULE_NAMES = {
    "report": ("reporte", "report"),
    "N1": ("sin reporte 24 h", "no report for 24 h"),
    "N2": ("sin contacto 48 h", "no contact for 48 h"),
    "N3": ("escalar al médico responsable", "escalate to the responsible physician"),
    "N4": ("rojo sin confirmar llegada", "red without confirmed arrival"),
}

# Enrolment fields and Patient columns by the names the CLI options and import headers use.
FIELD_NAMES = {
    "first_name": ("nombre", "first name"),
    "last_name": ("apellidos", "last name"),
    "birth_date": ("fecha de nacimiento", "birth date"),
    "sex": ("sexo", "sex"),
    "email": ("correo", "email"),
    "phone": ("teléfono", "phone"),
    "unit": ("unidad", "unit"),
    "unit_code": ("unidad", "unit"),
    "onset_date": ("inicio de síntomas", "symptom onset"),
    "pregnant": ("embarazo", "pregnancy"),
    "delivery_date": ("fecha de parto", "delivery date"),
    "comorbidities": ("comorbilidades", "comorbidities"),
    "alt_contact": ("contacto alterno", "alternative contact"),
    "has_oximeter": ("oxímetro", "oximeter"),
    "baseline_spo2": ("SpO2 basal", "baseline SpO2"),
    "social_security_number": ("NSS", "NSS"),
    "language": ("idioma", "language"),
}

# Outbox kinds of the mail sent to patients.
MAIL_KIND_NAMES = {
    "welcome": ("bienvenida", "welcome"),
    "questionnaire": ("cuestionario", "questionnaire"),
    "reply": ("respuesta", "reply"),
    "reminder": ("recordatorio", "reminder"),
}

COLOR_NAMES = {
    "verde": ("verde", "green"),
    "amarillo": ("amarillo", "yellow"),
    "rojo": ("rojo", "red"),
}

# Staff actions in the audit trail, by the action codes their modules record.
AUDIT_ACTION_NAMES = {
    "enrol": ("registro", "enrolment"),
    "edit": ("corrección", "edit"),
    "call": ("llamada", "call"),
    "discharge": ("alta médica", "discharge"),
    "export": ("exportación", "export"),
    "import": ("importación", "import"),
    "retriage": ("reclasificación", "re-triage"),
    "outbox_retry": ("reintento de envío", "outbox retry"),
    "quarantine_retry": ("reintento de cuarentena", "quarantine retry"),
    "dismiss_message": ("mensaje descartado", "message dismissed"),
    "retention_purge": ("purga por retención", "retention purge"),
}

# The keys of audit event details.
AUDIT_DETAIL_NAMES = {
    "unit": ("unidad", "unit"),
    "fields": ("campos", "fields"),
    "reason": ("motivo", "reason"),
    "forced": ("forzada", "forced"),
    "closed_entries": ("entradas cerradas", "closed entries"),
    "unsent_mail_skipped": ("correos no enviados omitidos", "unsent mail skipped"),
    "file": ("archivo", "file"),
    "enrolled": ("registrados", "enrolled"),
    "skipped_lines": ("líneas omitidas", "skipped lines"),
    "dataset": ("datos", "dataset"),
    "colors": ("semáforos", "colors"),
    "format": ("formato", "format"),
    "per": ("una fila por", "one row per"),
    "rows": ("filas", "rows"),
    "output": ("salida", "output"),
    "call": ("llamada", "call"),
    "outcome": ("resultado", "outcome"),
    "reviewed_messages": ("mensajes revisados", "reviewed messages"),
    "message": ("mensaje", "message"),
    "report_id": ("reporte", "report"),
    "old_color": ("semáforo anterior", "old color"),
    "new_color": ("semáforo nuevo", "new color"),
    "ruleset_version": ("versión de reglas", "rule set version"),
    "outbox": ("correo de salida", "outbox message"),
    "attempts": ("intentos", "attempts"),
    "inbound_id": ("mensaje recibido", "inbound message"),
    "cutoff": ("fecha de corte", "cutoff"),
    "patients": ("pacientes", "patients"),
    "raw_messages": ("mensajes originales", "raw messages"),
    "reports": ("reportes", "reports"),
    "call_list_entries": ("entradas de la lista de llamadas", "call list entries"),
    "outbox_messages": ("correos enviados", "sent emails"),
}

EXPORT_DATASET_NAMES = {
    "color": ("reportes por semáforo", "reports by color"),
    "non_reporting": ("sin reporte", "non-reporting"),
    "history": ("historia", "history"),
}

EXPORT_ROW_NAMES = {"report": ("reporte", "report"), "patient": ("paciente", "patient")}

TREND_NAMES = {
    "better": ("mejor", "better"),
    "same": ("igual", "same"),
    "worse": ("peor", "worse"),
}

# The questionnaire's breathing question stores levels 0..3 for the letters A..D patients write.
DYSPNEA_LETTERS = "ABCD"

# Free text (comments, unreadable answers, call notes) longer than this is
# cut in staff views and exports. A patient's comment can run to hundreds of
# kilobytes, which floods a terminal and exceeds the 32,767 characters an
# XLSX cell holds. The database keeps the full text.
MAX_SHOWN_CHARS = 500


def display_name(table: dict, code) -> str:
    """Return the active language's name for ``code``, or the code itself when the table lacks it."""
    names = table.get(code)
    if names is None:
        return "-" if code in (None, "") else str(code)
    return tr(*names)


def display_list(table: dict, codes) -> str:
    """Return the names of several codes separated by commas, or "-" when there are none."""
    return ", ".join(display_name(table, code) for code in codes or ()) or "-"


def yes_no(value: bool) -> str:
    return tr("sí", "yes") if value else "no"


def shown_text(text) -> str:
    """Return free text cut to MAX_SHOWN_CHARS, marked with how long the full text is."""
    text = str(text)
    if len(text) <= MAX_SHOWN_CHARS:
        return text
    return text[:MAX_SHOWN_CHARS] + tr("… (recortado, {n} caracteres)", "… (cut, {n} characters)",
                                       n=len(text))


def number_text(value: float) -> str:
    """Write 38.0 as 38 and 38.5 as 38.5, as staff write readings."""
    return f"{value:g}"


def answer_value_text(question: Question, value) -> str:
    """Return one stored answer as staff read it: sí/no, a number with its unit, a letter or a word."""
    if question.kind == YES_NO and isinstance(value, bool):
        return yes_no(value)
    if question.kind == TEMPERATURE and isinstance(value, (int, float)):
        return f"{number_text(value)} °C"
    if question.kind == SPO2 and isinstance(value, (int, float)):
        return f"{number_text(value)}%"
    if question.kind == DYSPNEA and isinstance(value, int) and 0 <= value < len(DYSPNEA_LETTERS):
        return DYSPNEA_LETTERS[value]
    if question.kind == TREND:
        return display_name(TREND_NAMES, value)
    if question.kind == TEXT:
        return tr("«{t}»", "\"{t}\"", t=shown_text(value))
    # A value of an unexpected type is shown as stored rather than hidden.
    return str(value)


def answers_text(answers: dict | None, unreadable: dict | None,
                 questions: tuple[Question, ...] = DEFAULT_QUESTIONS) -> str:
    """Return a report's answers in question order, each as "short name: value", separated by semicolons.

    Unreadable answers show what the patient wrote. Keys that no question
    has (from an older question set) are shown by their key.
    """
    answers, unreadable = answers or {}, unreadable or {}
    parts = []
    for question in questions:
        if question.key in answers:
            parts.append(f"{question.short_name()}: {answer_value_text(question, answers[question.key])}")
        elif question.key in unreadable:
            parts.append(tr("{q}: ilegible «{r}»", "{q}: unreadable \"{r}\"",
                            q=question.short_name(), r=_raw_text(unreadable[question.key])))

    known = {question.key for question in questions}
    parts += [f"{key}: {value}" for key, value in sorted(answers.items()) if key not in known]
    parts += [tr("{q}: ilegible «{r}»", "{q}: unreadable \"{r}\"", q=key, r=_raw_text(value))
              for key, value in sorted(unreadable.items()) if key not in known]
    return "; ".join(parts) or "-"


def _raw_text(unreadable) -> str:
    raw = unreadable.get("raw", "") if isinstance(unreadable, dict) else unreadable
    return shown_text(raw)
