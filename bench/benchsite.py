"""A throwaway site for the benchmarks: loopback servers, a config, patients and their replies.

The servers are the test suite's own (tests/servers.py): a Dovecot and an
aiosmtpd process, both on 127.0.0.1. Every file lives in one temp dir that
``Site.close`` removes.
"""

import contextlib
import random
import shutil
import sys
import tempfile
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parent.parent / "tests"
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

import tomli_w  # noqa: E402
from patient_mail import GREEN_ANSWERS, RED_ANSWERS, YELLOW_ANSWERS, compact, enrol  # noqa: E402
from servers import LOOPBACK, DovecotServer, SmtpServer, make_certificate  # noqa: E402

from mailtriage import clock  # noqa: E402
from mailtriage.config import load_config  # noqa: E402
from mailtriage.daemon import open_store  # noqa: E402
from mailtriage.models import OutboxMessage, database_proxy  # noqa: E402

UNIT = {
    "code": "UMF-34",
    "name": "Unidad de Medicina Familiar No. 34",
    "emergency_service": "Urgencias del Hospital General de Zona No. 1",
    "address": "Av. Reforma 100, La Paz, B.C.S.",
    "emergency_phone": "612 000 0000",
    "timezone": "America/Mazatlan",
    # Red reports alert the unit's staff, one more email each.
    "staff_email": "urgencias@umf34.example.mx",
}
SENDER = "Automonitoreo COVID-19 <automonitoreo@umf34.example.mx>"

# The share of each color in a seeded backlog: most patients are well.
COLOR_MIX = ((GREEN_ANSWERS, 0.7), (YELLOW_ANSWERS, 0.2), (RED_ANSWERS, 0.1))

# Messages per MULTIAPPEND command when seeding a mailbox.
SEED_BATCH_MESSAGES = 500


class Site:
    """The servers, the config file and the open database of one benchmark run."""

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="mailtriage-bench-"))
        cert, _key = make_certificate(self.root)
        self.dovecot = DovecotServer(cert=cert)
        self.smtp = SmtpServer(self.root / "smtp", cert=cert)
        self.config = None
        self.config_path = None

    def start(self) -> None:
        self.dovecot.start()
        self.smtp.start()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            database_proxy.close()
        self.smtp.stop()
        self.dovecot.remove()
        shutil.rmtree(self.root, ignore_errors=True)

    def write_config(self, user, name: str = "mailtriage", **tables) -> Path:
        """Write a config reading ``user``'s INBOX and sending to the SMTP server's plain port."""
        secret = self.root / f"{name}.imap-password"
        secret.write_text(user.password, encoding="utf-8")
        secret.chmod(0o600)
        document = {
            "general": {"language": "es", "log_level": "WARNING"},
            "database": {"url": f"sqlite:///{self.root / 'mailtriage.db'}"},
            "mailbox": {"url": user.url, "password_file": str(secret)},
            "smtp": {"url": self.smtp.url("smtp"), "from": SENDER},
            # Every patient is enrolled today, so no daily questionnaire is
            # due until a benchmark moves the clock to the next day.
            "schedule": {"questionnaire_time": "00:00"},
            "units": [dict(UNIT)],
        }
        for table, values in tables.items():
            document.setdefault(table, {}).update(values)

        path = self.root / f"{name}.toml"
        path.write_text(tomli_w.dumps(document), encoding="utf-8")
        path.chmod(0o600)
        return path

    def open(self, user, **tables):
        """Write the config for ``user``, load it and open its database."""
        self.config_path = self.write_config(user, **tables)
        self.config = load_config(self.config_path)
        open_store(self.config)
        return self.config


def enrol_patients(config, count: int, start: int = 0) -> list:
    """Enrol ``count`` patients and mark their welcome questionnaires as already sent."""
    patients = [enrol(config, email=f"paciente{number:05d}@example.com",
                      phone=f"612 {number // 10000:03d} {number % 10000:04d}")
                for number in range(start, start + count)]
    (OutboxMessage.update(status="sent", sent_at=clock.now())
     .where(OutboxMessage.status == "pending").execute())
    return patients


def questionnaire_rows(patients) -> list:
    """Return each patient's latest questionnaire outbox row."""
    rows = (OutboxMessage.select()
            .where(OutboxMessage.patient.in_([patient.id for patient in patients])
                   & OutboxMessage.kind.in_(["welcome", "questionnaire"]))
            .order_by(OutboxMessage.id))
    latest = {row.patient_id: row for row in rows}
    return [latest[patient.id] for patient in patients]


def reply_bytes(patient, questionnaire, answers: dict, attachment: bytes = b"") -> bytes:
    """Return a reply as a mail client writes it: compact answers over the quoted questionnaire."""
    written = clock.now()
    headers = {
        "From": formataddr((patient.full_name, patient.email), charset="utf-8"),
        "To": "automonitoreo@umf34.example.mx",
        "Subject": "Re: " + questionnaire.subject,
        "Date": format_datetime(written),
        "Message-ID": make_msgid(domain="example.com"),
        "In-Reply-To": questionnaire.message_id,
        "References": questionnaire.message_id,
        "MIME-Version": "1.0",
    }
    quoted = "\r\n".join("> " + line for line in questionnaire.body_text.splitlines())
    text = f"{compact(answers)}\r\n\r\nEl vie, 4 dic 2026 escribió:\r\n{quoted}\r\n"
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    if not attachment:
        return (head + "Content-Type: text/plain; charset=utf-8\r\n"
                "Content-Transfer-Encoding: 8bit\r\n\r\n" + text).encode("utf-8")
    return (head + _with_photo(text, attachment)).encode("utf-8")


def _with_photo(text: str, photo: bytes) -> str:
    """Return a multipart/mixed body: the text, then a base64 JPEG as a phone attaches it."""
    import base64

    encoded = base64.encodebytes(photo).decode("ascii").replace("\n", "\r\n")
    boundary = "=_bench_boundary_0001"
    return (f"Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n"
            f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Transfer-Encoding: 8bit\r\n\r\n{text}\r\n"
            f"--{boundary}\r\nContent-Type: image/jpeg; name=\"oximetro.jpg\"\r\n"
            f"Content-Disposition: attachment; filename=\"oximetro.jpg\"\r\n"
            f"Content-Transfer-Encoding: base64\r\n\r\n{encoded}\r\n--{boundary}--\r\n")


def backlog(patients, seed: int = 7, photo_every: int = 0, photo_bytes: int = 0) -> list[bytes]:
    """Return one reply per patient, colors drawn from COLOR_MIX, a photo on every ``photo_every``-th."""
    chooser = random.Random(seed)
    answer_sets = [answers for answers, _share in COLOR_MIX]
    weights = [share for _answers, share in COLOR_MIX]
    photo = chooser.randbytes(photo_bytes) if photo_bytes else b""

    messages = []
    for number, (patient, row) in enumerate(zip(patients, questionnaire_rows(patients))):
        answers = chooser.choices(answer_sets, weights)[0]
        attached = photo if photo_every and number % photo_every == 0 else b""
        messages.append(reply_bytes(patient, row, answers, attached))
    return messages


def seed_mailbox(dovecot: DovecotServer, user, messages: list[bytes]) -> None:
    """Store ``messages`` in the user's INBOX with MULTIAPPEND, SEED_BATCH_MESSAGES at a time."""
    with dovecot.client(user) as imap:
        for start in range(0, len(messages), SEED_BATCH_MESSAGES):
            imap.multiappend("INBOX", messages[start:start + SEED_BATCH_MESSAGES])
