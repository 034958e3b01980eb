"""Replies: each color and block in both languages, threading, staff alerts and custom templates."""

import re
from datetime import date, datetime, timezone

import pytest

from mailtriage import clock
from mailtriage.config import Unit as UnitConfig
from mailtriage.config import load_config
from mailtriage.contracts import MessageReading, RuleHit, TriageResult, Unreadable
from mailtriage.i18n import set_language
from mailtriage.mailtemplates import TemplateRenderError, template_environment
from mailtriage.models import (
    InboundMessage, Issuance, Patient, Report, Unit, database_proxy, open_database,
)
from mailtriage.replies import (
    ReplyContext, build_reply_outbox, render_reply, render_staff_alert, reply_subject,
)
from mailtriage.units import sync_units

UNIT = UnitConfig(code="UMF-34", name="UMF No. 34 La Paz",
                  emergency_service="Urgencias del Hospital General de Zona No. 1",
                  address="Av. Reforma 100, La Paz", emergency_phone="612 000 0000")
CONTEXT = ReplyContext(subject="Re: Cuestionario de automonitoreo COVID-19 [Folio K7QM-2XPD]",
                       folio="K7QM2XPD", spo2_text="45 %")
ALARM_LINE = {"es": "le falta el aire al caminar unos pasos, al hablar o estando en reposo",
              "en": "you get short of breath walking a few steps, talking or at rest"}
BLOCK_TEXT = {
    ("could_not_read", "es"): "No pudimos leer algunas de sus respuestas: 10 (respiración), 15 (oxigenación).",
    ("could_not_read", "en"): "We could not read some of your answers: 10 (breathing), 15 (oxygen saturation).",
    ("nothing_read", "es"): "No encontramos respuestas en su correo.",
    ("nothing_read", "en"): "We found no answers in your email.",
    ("very_low_spo2", "es"): "El número de oxigenación que anotó (45 %) es muy bajo.",
    ("very_low_spo2", "en"): "The oxygen saturation number you wrote (45 %) is very low.",
    ("measure_spo2", "es"): "escriba el número en la pregunta 15 de su próxima respuesta",
    ("measure_spo2", "en"): "write the number in question 15 of your next reply",
    ("comment_go_now", "es"): "En sus comentarios escribió algo que queremos revisar con usted por teléfono.",
    ("comment_go_now", "en"): "In your comments you wrote something we want to go over with you by phone.",
}
RULE_ID = re.compile(r"\b[RYND]\d{1,2}\b")


class PatientStub:
    first_name = "Ana"
    language = "es"


@pytest.fixture(autouse=True)
def spanish():
    set_language("es")
    yield
    set_language("es")


def result(color, priority=None, blocks=(), unreadable_keys=()):
    hits = [RuleHit("R02", color, priority, "Dolor o presión en el pecho que no se quita")]
    return TriageResult(color=color, priority=priority, hits=hits, blocks=list(blocks),
                        unreadable_keys=list(unreadable_keys))


def render(color, language="es", priority=None, blocks=(), unreadable_keys=(), context=CONTEXT, unit=UNIT):
    return render_reply(result(color, priority, blocks, unreadable_keys), PatientStub(), unit,
                        language, context)


def visible_text(html):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# Colors


@pytest.mark.parametrize("language", ["es", "en"])
@pytest.mark.parametrize("color", ["verde", "amarillo", "rojo"])
def test_color_renders_text_and_html(color, language):
    mail = render(color, language, priority="N" if color == "amarillo" else None)

    greeting = "Hola, Ana:" if language == "es" else "Hello Ana,"
    assert mail.text.startswith(greeting)
    assert greeting in mail.html
    assert UNIT.emergency_service in mail.text
    assert UNIT.emergency_service in mail.html
    assert "911" in mail.text
    assert "Folio: K7QM-2XPD" in mail.text
    assert not RULE_ID.search(mail.text)
    assert not RULE_ID.search(visible_text(mail.html))


@pytest.mark.parametrize("language", ["es", "en"])
@pytest.mark.parametrize("color", ["verde", "amarillo"])
def test_alarm_list_in_green_and_yellow(color, language):
    mail = render(color, language, priority="A")

    assert ALARM_LINE[language] in mail.text
    assert ALARM_LINE[language] in mail.html
    assert mail.text.count("\n- ") >= 5


def test_green_text_exact_opening():
    mail = render("verde")

    assert ("Gracias por contestar. Con lo que nos respondió hoy, puede seguir cuidándose en casa:"
            in mail.text)
    assert ("No lo espere y vaya enseguida a Urgencias del Hospital General de Zona No. 1 "
            "(Av. Reforma 100, La Paz; tel. 612 000 0000) si:") in mail.text


@pytest.mark.parametrize(("priority", "deadline"), [
    ("A", "le llamará lo antes posible, dentro de las próximas 2 horas de atención al teléfono"),
    ("N", "le llamará hoy, en horario de atención al teléfono"),
])
def test_yellow_deadline_by_priority(priority, deadline):
    mail = render("amarillo", priority=priority)

    assert deadline in mail.text
    assert "Una persona del equipo de salud de UMF No. 34 La Paz" in mail.text


def test_yellow_english_deadline_by_priority():
    assert "as soon as possible, within the next 2 hours" in render("amarillo", "en", priority="A").text
    assert "today, during service hours" in render("amarillo", "en", priority="N").text


@pytest.mark.parametrize("language", ["es", "en"])
def test_red_names_emergency_service(language):
    mail = render("rojo", language)

    go_now = "Vaya ahora mismo a" if language == "es" else "Go right now to"
    assert f"{go_now} {UNIT.emergency_service}" in mail.text
    assert UNIT.address in mail.text
    assert UNIT.emergency_phone in mail.text
    assert "K7QM-2XPD" in mail.text
    assert "Dolor o presión en el pecho que no se quita" not in mail.text


def test_red_without_folio_asks_for_identification():
    mail = render("rojo", context=ReplyContext())

    assert "- Lleve una identificación.\n" in mail.text
    assert "Folio" not in mail.text


def test_emergency_service_without_address():
    unit = UnitConfig(code="U2", name="UMF 2", emergency_service="Urgencias del HGR 2")

    mail = render("rojo", unit=unit)

    assert "Vaya ahora mismo a Urgencias del HGR 2. No espere" in mail.text


# Blocks


@pytest.mark.parametrize("language", ["es", "en"])
@pytest.mark.parametrize("block", ["could_not_read", "nothing_read", "very_low_spo2", "measure_spo2",
                                   "comment_go_now"])
def test_block_renders(block, language):
    mail = render("amarillo", language, priority="A", blocks=[block],
                  unreadable_keys=["spo2", "dyspnea_level"])

    assert BLOCK_TEXT[(block, language)] in mail.text
    assert BLOCK_TEXT[(block, language)] in mail.html
    assert mail.text.index(BLOCK_TEXT[(block, language)]) > mail.text.index("911")


def test_nothing_read_replaces_could_not_read():
    mail = render("amarillo", priority="A", blocks=["could_not_read", "nothing_read"],
                  unreadable_keys=["dyspnea_level"])

    assert "No encontramos respuestas en su correo." in mail.text
    assert "No pudimos leer" not in mail.text


def test_blocks_follow_fixed_order():
    mail = render("amarillo", priority="A", blocks=["comment_go_now", "measure_spo2", "could_not_read"],
                  unreadable_keys=["chest_pain"])

    positions = [mail.text.index(BLOCK_TEXT[(block, "es")][:20])
                 for block in ("could_not_read", "measure_spo2", "comment_go_now")]
    assert positions == sorted(positions)


def test_comment_block_sends_to_emergency_service():
    mail = render("amarillo", priority="A", blocks=["comment_go_now"])

    block = mail.text[mail.text.index("En sus comentarios"):]
    assert f"vaya ahora mismo a {UNIT.emergency_service}" in block


def test_unreadable_spo2_text_escaped_in_html():
    context = ReplyContext(folio="K7QM2XPD", spo2_text="<b>45</b>")

    mail = render("amarillo", priority="A", blocks=["very_low_spo2"], context=context)

    assert "&lt;b&gt;45&lt;/b&gt;" in mail.html
    assert "<b>45</b>" not in mail.html


def test_unit_name_escaped_in_html():
    unit = UnitConfig(code="U3", name="UMF <3>", emergency_service="Urgencias & Choque")

    mail = render("verde", unit=unit)

    assert "Urgencias &amp; Choque" in mail.html
    assert "Urgencias & Choque" in mail.text


def test_unknown_block_names_its_template():
    with pytest.raises(TemplateRenderError, match="block_follow_up"):
        render("verde", blocks=["follow_up"])


# Subjects and threading


def test_reply_subject_prefixes_re_once():
    assert reply_subject("Cuestionario [Folio K7QM-2XPD]", "K7QM2XPD", "es") == "Re: Cuestionario [Folio K7QM-2XPD]"
    assert reply_subject("RE: Cuestionario", None, "es") == "RE: Cuestionario"


def test_reply_subject_default_names_folio():
    assert reply_subject("  ", "K7QM2XPD", "es") == (
        "Respuesta a su cuestionario de automonitoreo COVID-19 [Folio K7QM-2XPD]")
    assert reply_subject("", "K7QM2XPD", "en") == (
        "Reply to your COVID-19 self-monitoring questionnaire [Folio K7QM-2XPD]")


@pytest.fixture
def store(make_config):
    config = load_config(make_config())
    open_database(config.database_url)
    sync_units(config)
    clock.set_now(datetime(2026, 12, 4, 17, 0, tzinfo=timezone.utc))
    yield config
    clock.set_now(None)
    database_proxy.close()


def stored_report(color="rojo", unreadable=None, unanswered=(), blocks=()):
    patient = Patient.create(unit=Unit.get(), first_name="Ana", last_name="López", email="ana@example.org",
                             birth_date=date(1980, 5, 2), enrolled_at=clock.now())
    issuance = Issuance.create(patient=patient, local_date=date(2026, 12, 4), folio="K7QM2XPD",
                               message_id="<q-20261204-K7QM2XPD@umf34.example.mx>", created_at=clock.now())
    return Report.create(patient=patient, issuance=issuance, received_at=clock.now(),
                         local_date=date(2026, 12, 4), color=color, unreadable=unreadable or {},
                         unanswered=list(unanswered), blocks=list(blocks),
                         answers={"chest_pain": True}, created_at=clock.now())


def test_reply_outbox_threads_patients_message(store):
    report = stored_report()
    reading = MessageReading(
        kind="answer", folio="K7QM2XPD", message_id="<reply-2@example.org>",
        subject="Re: Cuestionario de automonitoreo COVID-19 [Folio K7QM-2XPD]",
        # As the parser lists them: In-Reply-To first, then References newest first.
        in_reply_to=["<q-20261204-K7QM2XPD@umf34.example.mx>", "<older@example.org>"])

    message = build_reply_outbox(report, reading, store)

    assert message.kind == "reply"
    assert message.subject == "Re: Cuestionario de automonitoreo COVID-19 [Folio K7QM-2XPD]"
    assert message.in_reply_to == "<reply-2@example.org>"
    assert message.references == ("<older@example.org> <q-20261204-K7QM2XPD@umf34.example.mx> "
                                  "<reply-2@example.org>")
    assert re.fullmatch(r"<r-[0-9a-f]{24}@umf34\.example\.mx>", message.message_id)
    assert message.to_address == "ana@example.org"
    assert message.report_id == report.id
    assert "Vaya ahora mismo a Urgencias del Hospital General de Zona No. 1" in message.body_text


def test_reply_from_stored_raw_message(store):
    report = stored_report(unreadable={"spo2": {"raw": "38", "why": "out_of_range"}},
                           blocks=["very_low_spo2"])
    raw = (b"From: ana@example.org\r\nSubject: RE: Cuestionario [Folio K7QM-2XPD]\r\n"
           b"Message-ID: <reply-4@example.org>\r\n"
           b"References: <q-20261204-K7QM2XPD@umf34.example.mx>\r\n\r\n1. no\r\n")
    report.inbound = InboundMessage.create(mailbox="INBOX", uid="7", received_at=clock.now(),
                                           raw=raw, created_at=clock.now())
    report.save()

    message = build_reply_outbox(report, None, store)

    assert message.subject == "RE: Cuestionario [Folio K7QM-2XPD]"
    assert message.in_reply_to == "<reply-4@example.org>"
    assert message.references == "<q-20261204-K7QM2XPD@umf34.example.mx> <reply-4@example.org>"
    assert "El número de oxigenación que anotó (38) es muy bajo." in message.body_text
    assert "folio K7QM-2XPD" in message.body_text


def test_reply_message_id_new_and_stored(store):
    report = stored_report()
    reading = MessageReading(kind="answer", message_id="<reply-3@example.org>")

    first = build_reply_outbox(report, reading, store)
    second = build_reply_outbox(report, reading, store)

    assert first.message_id != second.message_id
    assert type(first).get_by_id(first.id).message_id == first.message_id


def test_reply_from_stored_report_names_unreadable(store):
    report = stored_report(color="amarillo", unreadable={"spo2": {"raw": "45", "why": "out_of_range"}},
                           unanswered=["cyanosis", "comments"], blocks=["could_not_read", "very_low_spo2"])
    reading = MessageReading(kind="answer", unreadable={"spo2": Unreadable("45", "out_of_range")})

    message = build_reply_outbox(report, reading, store)

    assert "No pudimos leer algunas de sus respuestas: 12 (labios o uñas morados), 15 (oxigenación)." \
        in message.body_text
    assert "El número de oxigenación que anotó (45) es muy bajo." in message.body_text
    assert "Folio: K7QM-2XPD" in message.body_text


# Staff alert


def test_staff_alert_has_no_health_data(store):
    report = stored_report()

    mail = render_staff_alert(report.patient_id, store.unit("UMF-34"), store)

    assert f"mailtriage patients show {report.patient_id}" in mail.text
    assert f"mailtriage patients show {report.patient_id}" in mail.html
    for part in (mail.subject, mail.text, visible_text(mail.html)):
        assert "UMF-34" in part
        for private in ("Ana", "López", "ana@example.org", "rojo", "pecho", "K7QM", "Urgencias"):
            assert private not in part


@pytest.mark.parametrize("language", ["es", "en"])
def test_staff_alert_names_patient_and_unit(language):
    mail = render_staff_alert(42, UNIT, None, language)

    assert "mailtriage patients show 42" in mail.text
    assert "mailtriage patients show 42" in mail.html
    assert UNIT.name in mail.text
    assert "42" in mail.subject


# Custom templates


def test_custom_directory_overrides_one_template(make_config, tmp_path):
    custom = tmp_path / "plantillas"
    (custom / "es").mkdir(parents=True)
    (custom / "es" / "reply_verde.txt").write_text("Hola, {{ first_name }}: todo bien en {{ unit.name }}.\n",
                                                   encoding="utf-8")
    config = load_config(make_config(templates={"directory": str(custom)}))

    mail = render_reply(result("verde"), PatientStub(), UNIT, "es", CONTEXT, config)

    assert mail.text.startswith("Hola, Ana: todo bien en UMF No. 34 La Paz.")
    assert "Gracias por contestar" in mail.html


def test_missing_custom_directory_rejected(make_config, tmp_path):
    config = load_config(make_config(templates={"directory": str(tmp_path / "nada")}))

    with pytest.raises(TemplateRenderError, match="nada"):
        render_reply(result("verde"), PatientStub(), UNIT, "es", CONTEXT, config)


def test_broken_custom_template_named(make_config, tmp_path):
    custom = tmp_path / "plantillas"
    (custom / "es").mkdir(parents=True)
    (custom / "es" / "reply_rojo.txt").write_text("Hola {{ first_name\n", encoding="utf-8")
    config = load_config(make_config(templates={"directory": str(custom)}))

    with pytest.raises(TemplateRenderError, match="reply_rojo.txt"):
        render_reply(result("rojo"), PatientStub(), UNIT, "es", CONTEXT, config)


def test_undefined_variable_named(make_config, tmp_path):
    custom = tmp_path / "plantillas"
    (custom / "es").mkdir(parents=True)
    (custom / "es" / "reply_verde.txt").write_text("Hola {{ apellido }}\n", encoding="utf-8")
    config = load_config(make_config(templates={"directory": str(custom)}))

    with pytest.raises(TemplateRenderError, match="apellido"):
        render_reply(result("verde"), PatientStub(), UNIT, "es", CONTEXT, config)


def test_packaged_templates_cover_both_languages():
    for language in ("es", "en"):
        names = set(template_environment("", language).list_templates())
        for color in ("verde", "amarillo", "rojo"):
            assert {f"reply_{color}.txt", f"reply_{color}.html"} <= names
        for name in ("questionnaire", "welcome", "reminder", "staff_alert", "reply"):
            assert {f"{name}.txt", f"{name}.html"} <= names
