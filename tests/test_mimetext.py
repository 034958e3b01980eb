"""Choosing and decoding the text part of a reply, and splitting new text from the quote."""

import email

from mailtriage.mimetext import body_text, decode_bytes, unfold_flowed
from mailtriage.quoting import split_reply


def message(structure: str) -> email.message.Message:
    return email.message_from_bytes(structure.replace("\n", "\r\n").encode("utf-8"))


def test_empty_plain_part_falls_back_to_html():
    text = body_text(message(
        "Content-Type: multipart/alternative; boundary=b\n\n--b\nContent-Type: text/plain\n\n \n"
        "--b\nContent-Type: text/html\n\n<div>1 no</div><div>4 si</div>\n--b--\n"))

    assert text.split() == ["1", "no", "4", "si"]


def test_inline_plain_parts_around_photo_are_joined():
    text = body_text(message(
        "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\n1 no\n"
        "--b\nContent-Type: image/jpeg\nContent-Disposition: inline\n\nAAAA\n"
        "--b\nContent-Type: text/plain\n\n4 si\n--b--\n"))

    assert "1 no" in text
    assert "4 si" in text


def test_attached_text_file_is_ignored():
    text = body_text(message(
        "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\n1 no\n"
        "--b\nContent-Type: text/plain\nContent-Disposition: attachment; filename=notas.txt\n\n"
        "4 si\n--b--\n"))

    assert "4 si" not in text


def test_latin_label_with_smart_quotes_decodes_as_windows_1252():
    assert decode_bytes(b"\x93s\xed\x94 \x85", "iso-8859-1") == "\u201csí\u201d \u2026"


def test_missing_charset_with_utf8_bytes_is_utf8():
    assert decode_bytes("sí, 38 °C".encode("utf-8"), None) == "sí, 38 °C"


def test_flowed_lines_are_joined_per_quote_depth():
    flowed = "> 2. Temperatura más alta que \n> midió: 37.2\nsi \nclaro"

    assert unfold_flowed(flowed) == "> 2. Temperatura más alta que midió: 37.2\nsi claro"


def test_outlook_header_block_ends_new_text():
    parts = split_reply("1 no\n4 si\n\nDe: Automonitoreo <a@b>\nEnviado: viernes\nPara: Ana\n"
                        "Asunto: Cuestionario\n\n1. ¿Ha tenido fiebre?")

    assert parts.top == ["1 no", "4 si", ""]


def test_wrapped_attribution_is_not_new_text():
    parts = split_reply("Hola\n\nEl vie, 4 dic 2026 a las 9:12, Automonitoreo (<\n"
                        "automonitoreo@salud.example.mx>) escribió:\n\n> 1. pregunta")

    assert parts.top == ["Hola", ""]


def test_text_below_quote_is_bottom():
    parts = split_reply("On Fri wrote:\n> 1. pregunta\n> 4. otra\n\n1 no\n4 si\n-- \nAna")

    assert parts.top == []
    assert parts.bottom == ["", "1 no", "4 si"]



def test_stray_unreadable_line_does_not_hide_quoted_answers():
    from mailtriage.parser import parse_message

    raw = ("From: a@example.com\r\nSubject: Re: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
           "1 pregunta: ¿hasta cuándo dura?\r\n\r\nEl vie, 4 dic 2026 a las 9:12, A <a@b> escribió:\r\n"
           "> 1. ¿Ha tenido fiebre o calentura desde su último cuestionario? (SI/NO): no\r\n"
           "> 4. ¿Tiene tos? (SI/NO): si\r\n").encode("utf-8")

    reading = parse_message(raw, 100_000)

    assert reading.answers == {"fever": False, "cough": True}
    assert reading.unreadable == {}


def test_three_column_html_table_is_read():
    from mailtriage.parser import parse_message

    rows = [("1", "Fiebre", "No"), ("3", "Fiebre con paracetamol", "&nbsp;"), ("4", "Tos", "Sí"),
            ("10", "Respiración", "B"), ("18", "Comentarios", "&nbsp;")]
    table = "".join(f"<tr><td>{number}</td><td>{name}</td><td>{answer}</td></tr>"
                    for number, name, answer in rows)
    raw = ("From: a@example.com\r\nSubject: x\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
           f"<table>{table}</table><p>Saludos</p><p>Ana</p>").encode("utf-8")

    reading = parse_message(raw, 100_000)

    assert reading.answers == {"fever": False, "cough": True, "dyspnea_level": 1}
    assert reading.unreadable == {}
