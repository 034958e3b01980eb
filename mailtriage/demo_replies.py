"""Sample patient replies for the demo, written the way common mail clients write them.

The bodies are files in ``mailtriage/data/demo/`` with ``$placeholders``
for what each issuance decides (the folio, the questionnaire's Message-ID,
the patient's name and address). The headers, MIME structure, charset and
transfer encoding below follow each client's habits.
"""

import base64
import html
import quopri
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime, formataddr
from importlib import resources
from string import Template

DAYS_ES = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
MONTHS_ES = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
             "septiembre", "octubre", "noviembre", "diciembre")


@dataclass(frozen=True)
class ClientStyle:
    """The habits of one mail client when it writes a reply: subject, MIME type, encoding, headers."""

    subject_prefix: str = "Re: "
    content_type: str = "text/plain; charset=UTF-8"
    charset: str = "utf-8"
    encoding: str = "quoted-printable"  # quoted-printable | base64 | 8bit
    with_html_part: bool = False
    headers: dict = field(default_factory=dict)


CLIENTS = {
    "gmail": ClientStyle(content_type='text/plain; charset="UTF-8"', with_html_part=True),
    "outlook": ClientStyle(
        subject_prefix="RE: ", content_type='text/plain; charset="Windows-1252"', charset="cp1252",
        headers={"Thread-Topic": "Cuestionario de automonitoreo COVID-19",
                 "Content-Language": "es-MX", "X-MS-Has-Attach": ""}),
    "iphone": ClientStyle(content_type="text/plain;\n\tcharset=utf-8",
                          headers={"X-Mailer": "iPhone Mail (22B91)"}),
    "samsung_html": ClientStyle(content_type="text/html; charset=UTF-8", encoding="base64"),
    "thunderbird": ClientStyle(content_type="text/plain; charset=UTF-8; format=flowed",
                               encoding="8bit", headers={"User-Agent": "Mozilla Thunderbird"}),
    "yahoo": ClientStyle(headers={"X-Mailer": "WebService/1.1 YMailAndroid"}),
    "autoreply": ClientStyle(
        subject_prefix="Respuesta automática: ", encoding="8bit",
        headers={"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"}),
}

GMAIL_HTML_TYPE = 'text/html; charset="UTF-8"'


def quote_dates(sent: datetime) -> dict:
    """Return the issuance time as each client writes it in its quote header, in Spanish."""
    day, month = DAYS_ES[sent.weekday()], MONTHS_ES[sent.month - 1]
    hour12 = sent.hour % 12 or 12
    meridiem = "a. m." if sent.hour < 12 else "p. m."
    offset = sent.strftime("%z")
    return {
        "quote_date_es": f"{day[:3]}, {sent.day} {month[:3]} {sent.year} a las {sent:%-H:%M}",
        "quote_date_iphone": f"{sent.day} {month[:3]} {sent.year}, a la(s) {hour12}:{sent:%M} "
                             f"{meridiem.replace(' ', '')}",
        "quote_date_tb": f"{sent:%d/%m/%y} a las {sent:%-H:%M}",
        "quote_date_yahoo": f"{day}, {sent.day} de {month} de {sent.year}, {hour12:02d}:{sent:%M:%S} "
                            f"{meridiem} GMT{offset[:3]}",
        "quote_date_outlook": f"{day}, {sent.day} de {month} de {sent.year} {sent:%H:%M}",
        "quote_date_samsung": f"{sent:%d/%m/%y} {hour12}:{sent:%M} {meridiem} (GMT{offset[:3]}:{offset[3:]})",
    }


def read_body(name: str) -> str:
    return resources.files("mailtriage").joinpath("data", "demo", name).read_text(encoding="utf-8")


def encode_body(text: str, style: ClientStyle) -> str:
    data = text.encode(style.charset)
    if style.encoding == "base64":
        return base64.encodebytes(data).decode("ascii")
    if style.encoding == "quoted-printable":
        return quopri.encodestring(data).decode("ascii")
    return data.decode(style.charset)


def gmail_html(text: str) -> str:
    """Render a Gmail-style HTML part: new text in divs, the quote in a blockquote."""
    new, quoted = [], []
    for line in text.splitlines():
        (quoted if line.startswith(">") else new).append(line)
    new_html = "".join(f"<div>{html.escape(line) or '<br>'}</div>" for line in new)
    quote_html = "<br>".join(html.escape(line[2:] if line.startswith("> ") else line[1:])
                             for line in quoted)
    return (f'<div dir="ltr">{new_html}</div><br><div class="gmail_quote">'
            f'<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;'
            f'border-left:1px solid rgb(204,204,204);padding-left:1ex">{quote_html}</blockquote></div>\n')


def mime_part(content_type: str, body: str, style: ClientStyle) -> str:
    return (f"Content-Type: {content_type}\nContent-Transfer-Encoding: {style.encoding}\n\n"
            f"{encode_body(body, style)}")


def build_reply(client: str, body_file: str, values: dict, sent: datetime, written: datetime) -> bytes:
    """Return the raw bytes of a patient's reply, with the issuance's values filled in.

    ``values`` names the patient (first_name, name, email), the monitoring
    address, the folio as shown, the questionnaire's Message-ID and
    subject, and the reply's own Message-ID.
    """
    style = CLIENTS[client]
    body = Template(read_body(body_file)).safe_substitute(values, **quote_dates(sent))

    headers = {
        "From": formataddr((values["name"], values["email"]), charset="utf-8"),
        "To": f"Automonitoreo COVID-19 <{values['monitoring_address']}>",
        "Subject": style.subject_prefix + values["subject"],
        "Date": format_datetime(written),
        "Message-ID": values["message_id"],
        "In-Reply-To": values["questionnaire_message_id"],
        "References": values["questionnaire_message_id"],
        "MIME-Version": "1.0",
        **style.headers,
    }
    if style.with_html_part:
        boundary = "000000000000" + values["message_id"].strip("<>").split("@")[0][-12:]
        headers["Content-Type"] = f'multipart/alternative; boundary="{boundary}"'
        content = (f"--{boundary}\n{mime_part(style.content_type, body, style)}\n"
                   f"--{boundary}\n{mime_part(GMAIL_HTML_TYPE, gmail_html(body), style)}\n"
                   f"--{boundary}--\n")
    else:
        headers["Content-Type"] = style.content_type
        headers["Content-Transfer-Encoding"] = style.encoding
        content = encode_body(body, style)

    head = "".join(f"{name}: {value}\n" for name, value in headers.items())
    return (head + "\n" + content).encode(style.charset if style.encoding == "8bit" else "ascii")
