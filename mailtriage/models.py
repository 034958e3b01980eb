"""Database models (peewee) and database setup.

The database is the source of truth. Times are stored as UTC and read back
as aware datetimes; JSON columns are plain text so SQLite and PostgreSQL
store them alike.
"""

import json
import os
from datetime import datetime, timezone
from pathlib import Path

from peewee import DatabaseError as PeeweeDatabaseError
from peewee import (
    BlobField, BooleanField, CharField, DatabaseProxy, DateField, DateTimeField,
    ForeignKeyField, IntegerField, Model, PostgresqlDatabase, TextField,
)
from playhouse.db_url import connect
from playhouse.db_url import parse as parse_url

from mailtriage.errors import DatabaseError
from mailtriage.i18n import describe_os_error, tr

database_proxy = DatabaseProxy()

# SQLite waits this long for a lock held by another process (the CLI while
# the daemon writes) before it reports "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 10_000


class UTCDateTimeField(DateTimeField):
    """An aware datetime stored as naive UTC text, returned aware in UTC."""

    def db_value(self, value):
        if isinstance(value, datetime) and value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return super().db_value(value)

    def python_value(self, value):
        value = super().python_value(value)
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class JSONField(TextField):
    def db_value(self, value):
        return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)

    def python_value(self, value):
        return None if value is None else json.loads(value)


class BaseModel(Model):
    class Meta:
        database = database_proxy


class Unit(BaseModel):
    """A medical unit, mirrored from the config's [[units]] at start-up."""

    code = CharField(unique=True)
    name = CharField()
    timezone = CharField()


class Patient(BaseModel):
    unit = ForeignKeyField(Unit, backref="patients")
    first_name = CharField()
    last_name = CharField(default="")
    email = CharField(index=True)
    phone = CharField(default="")
    alt_contact = CharField(default="")
    social_security_number = CharField(null=True, index=True)
    sex = CharField(default="")
    birth_date = DateField()
    onset_date = DateField(null=True)
    pregnant = BooleanField(default=False)
    delivery_date = DateField(null=True)
    comorbidities = JSONField(default=list)
    has_oximeter = BooleanField(default=False)
    baseline_spo2 = IntegerField(null=True)
    language = CharField(default="es")
    enrolled_at = UTCDateTimeField()
    enrolled_by = CharField(default="")
    status = CharField(default="monitoring", index=True)  # monitoring | discharged
    discharged_at = UTCDateTimeField(null=True)
    discharge_reason = CharField(null=True)
    discharged_by = CharField(null=True)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Issuance(BaseModel):
    """One questionnaire sent to one patient on one local day, with its folio."""

    patient = ForeignKeyField(Patient, backref="issuances")
    local_date = DateField()
    folio = CharField(max_length=8, unique=True)
    message_id = CharField(unique=True)
    kind = CharField(default="daily")  # daily | enrolment | on_demand
    created_at = UTCDateTimeField()
    sent_at = UTCDateTimeField(null=True)


# At most one day's questionnaire (the daily one, or the welcome on the
# enrolment day) per patient and local day, even when two processes issue at
# once. On-demand questionnaires are not limited.
Issuance.add_index(Issuance.patient, Issuance.local_date, unique=True,
                   where=Issuance.kind.in_(["daily", "enrolment"]),
                   name="issuance_one_questionnaire_per_day")


class MailboxState(BaseModel):
    """The state of one mailbox folder: its UIDVALIDITY and the highest UID handled."""

    mailbox = CharField(unique=True)
    uidvalidity = IntegerField(null=True)
    last_uid = IntegerField(default=0)
    updated_at = UTCDateTimeField()


class InboundMessage(BaseModel):
    """A message read from the mailbox, whatever became of it."""

    mailbox = CharField()
    uidvalidity = IntegerField(null=True)
    uid = CharField()  # an IMAP UID, or a Maildir key
    message_id = CharField(null=True, index=True)
    received_at = UTCDateTimeField()
    size = IntegerField(default=0)
    kind = CharField(null=True)  # answer | autoreply | bounce | unknown_sender | ... | oversize
    outcome = CharField(default="pending")  # pending | reported | recorded | quarantined
    attempts = IntegerField(default=0)
    last_error = TextField(null=True)
    folio = CharField(null=True)
    patient = ForeignKeyField(Patient, null=True, backref="inbound_messages")
    raw = BlobField(null=True)
    handled_on_server = BooleanField(default=False)
    created_at = UTCDateTimeField()
    # The patient whose address sent a message that was not read as an
    # answer (an unknown or foreign folio, an oversize message), so staff
    # can review it. It is never the patient of a report.
    sender_patient = ForeignKeyField(Patient, null=True, backref="messages_to_review")
    # When staff closed that review, by a call to the patient or a dismissal.
    reviewed_at = UTCDateTimeField(null=True)
    review_note = TextField(null=True)

    class Meta:
        indexes = ((("mailbox", "uidvalidity", "uid"), True),)


class Report(BaseModel):
    """One reply read and triaged."""

    patient = ForeignKeyField(Patient, backref="reports")
    issuance = ForeignKeyField(Issuance, null=True, backref="reports")
    inbound = ForeignKeyField(InboundMessage, null=True, backref="reports")
    first_of_day = ForeignKeyField("self", null=True, backref="later_reports")
    received_at = UTCDateTimeField(index=True)
    local_date = DateField()
    matched_by = CharField(default="folio")
    answers = JSONField(default=dict)
    unanswered = JSONField(default=list)
    unreadable = JSONField(default=dict)
    color = CharField(index=True)  # verde | amarillo | rojo
    priority = CharField(null=True)  # A | N for amarillo
    hits = JSONField(default=list)
    flags = JSONField(default=list)
    blocks = JSONField(default=list)
    ruleset_version = CharField(default="")
    created_at = UTCDateTimeField()


class OutboxMessage(BaseModel):
    """An email waiting to be sent, or sent: replies, questionnaires, reminders, staff alerts."""

    kind = CharField()  # reply | questionnaire | reminder | staff_alert | welcome
    patient = ForeignKeyField(Patient, null=True, backref="outbox")
    report = ForeignKeyField(Report, null=True, backref="outbox")
    issuance = ForeignKeyField(Issuance, null=True, backref="outbox")
    to_address = CharField()
    subject = CharField()
    message_id = CharField(unique=True)
    in_reply_to = CharField(null=True)
    references = TextField(null=True)
    body_text = TextField()
    body_html = TextField(null=True)
    # Further headers such as Reply-To, by name.
    extra_headers = JSONField(default=dict)
    status = CharField(default="pending", index=True)  # pending | sent | failed
    attempts = IntegerField(default=0)
    next_attempt_at = UTCDateTimeField()
    last_error = TextField(null=True)
    created_at = UTCDateTimeField()
    sent_at = UTCDateTimeField(null=True)


class Call(BaseModel):
    """A staff call to a patient, or a record confirming arrival at Urgencias."""

    patient = ForeignKeyField(Patient, backref="calls")
    report = ForeignKeyField(Report, null=True, backref="calls")
    made_at = UTCDateTimeField()
    outcome = CharField()
    answered = BooleanField(default=False)
    er_confirmed = BooleanField(default=False)
    note = TextField(default="")
    staff = CharField(default="")


class CallListEntry(BaseModel):
    """A patient waiting for a staff call, put on the call list by a report or a non-reporting rule.

    Only a logged call closes an entry; a later report never does.
    """

    patient = ForeignKeyField(Patient, backref="call_entries")
    report = ForeignKeyField(Report, null=True, backref="call_entries")
    rule = CharField()  # report | N1 | N2 | N3 | N4
    color = CharField()  # amarillo | rojo
    priority = CharField()  # A | N
    reasons = JSONField(default=list)
    opened_at = UTCDateTimeField(index=True)
    attempts = IntegerField(default=0)  # unanswered calls logged while open
    closed_at = UTCDateTimeField(null=True, index=True)
    closing_call = ForeignKeyField(Call, null=True, backref="closed_entries")
    closed_because = CharField(null=True)  # call | discharge

    class Meta:
        indexes = ((("report", "rule"), True),)


class Reminder(BaseModel):
    patient = ForeignKeyField(Patient, backref="reminders")
    sent_at = UTCDateTimeField()
    outbox = ForeignKeyField(OutboxMessage, null=True)


class AuditEvent(BaseModel):
    """A staff or administrator action: who did what, when."""

    at = UTCDateTimeField(index=True)
    actor = CharField()
    action = CharField()
    patient = ForeignKeyField(Patient, null=True, backref="audit_events")
    detail = JSONField(default=dict)


class SchemaMigration(BaseModel):
    name = CharField(unique=True)
    applied_at = UTCDateTimeField()


class DaemonState(BaseModel):
    """The heartbeat of one daemon (by host name): when it last polled and what it found."""

    host = CharField(unique=True)
    last_poll_at = UTCDateTimeField()
    last_poll_summary = JSONField(default=dict)


class Retriage(BaseModel):
    """A stored report triaged again with a later parser or rule set, kept beside its original outcome."""

    report = ForeignKeyField(Report, backref="retriages", on_delete="CASCADE")
    created_at = UTCDateTimeField()
    actor = CharField()
    ruleset_version = CharField()
    color = CharField()
    priority = CharField(null=True)
    hits = JSONField(default=list)
    flags = JSONField(default=list)
    answers = JSONField(default=dict)
    unreadable = JSONField(default=dict)


ALL_MODELS = (
    Unit, Patient, Issuance, MailboxState, InboundMessage, Report, OutboxMessage,
    Call, CallListEntry, Reminder, AuditEvent, SchemaMigration, DaemonState,
)


class RecoveringPostgresqlDatabase(PostgresqlDatabase):
    """PostgreSQL with a fresh connection after the server closed the old one.

    psycopg2 keeps a connection that the server closed (a restart, a
    failover) closed for good, so without this every later job of the
    daemon failed. The statement that meets the closed connection still
    fails, and a connection is replaced only between transactions, never
    silently inside one. The old connection's advisory locks (claims.py)
    ended with it on the server.
    """

    def cursor(self, *args, **kwargs):
        # The driver's ``closed`` flag, not the transaction status: a failed
        # statement leaves a healthy connection in error until its ROLLBACK.
        if not self.is_closed() and not self.in_transaction() and self.connection().closed:
            self.close()
        return super().cursor(*args, **kwargs)


def _create_private_file(path: Path) -> None:
    """Create the SQLite file owner-only before SQLite creates it with the umask's mode."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def _prepare_sqlite_file(path: Path, create: bool) -> None:
    """Create the file when allowed; otherwise reject a missing one, which is most often a typo."""
    if create:
        try:
            _create_private_file(path)
        except OSError as exc:
            raise DatabaseError(tr(
                "no se pudo crear la base de datos {path}: {why}",
                "cannot create the database {path}: {why}",
                path=path, why=describe_os_error(exc))) from exc
    elif not path.is_file():
        raise DatabaseError(tr(
            "la base de datos {path} no existe; revise [database] url o créela con «mailtriage init»",
            "the database {path} does not exist; check [database] url or create it with "
            "'mailtriage init'", path=path))


def open_database(url: str, migrate: bool = True, create: bool = True):
    """Connect the models to the database at ``url`` and bring its schema up to date.

    With ``create=False`` a missing SQLite file is an error instead of a new,
    empty database that would quietly take the place of the real one.
    """
    if url.startswith("sqlite:///"):
        _prepare_sqlite_file(Path(url[len("sqlite:///"):]), create)
        # BEGIN IMMEDIATE takes the write lock when a transaction starts, and
        # waits for it up to the busy timeout. A plain BEGIN that reads first
        # fails at once with "database is locked" when it later tries to
        # write while the daemon holds the lock.
        database = connect(url, lock_type="IMMEDIATE", pragmas={
            "journal_mode": "wal",
            "foreign_keys": 1,
            "busy_timeout": SQLITE_BUSY_TIMEOUT_MS,
            "synchronous": "normal",
        })
    else:
        database = RecoveringPostgresqlDatabase(**parse_url(url))

    database_proxy.initialize(database)
    try:
        database.connect(reuse_if_open=True)
        if migrate:
            from mailtriage.migrations import apply_migrations
            apply_migrations(database)
    except PeeweeDatabaseError as exc:
        raise database_failure(url, exc) from exc
    return database


def database_failure(url: str | None, error: Exception) -> DatabaseError:
    """Turn a database library error into one line naming the database and the reason."""
    if url is None:
        return DatabaseError(tr("no se pudo usar la base de datos: {why}",
                                "cannot use the database: {why}", why=database_reason(error)))
    return DatabaseError(tr(
        "no se pudo usar la base de datos {url}: {why}",
        "cannot use the database {url}: {why}",
        url=_without_password(url), why=database_reason(error)))


def _without_password(url: str) -> str:
    head, _, tail = url.rpartition("@")
    return url if not head else head.split("://")[0] + "://…@" + tail


def database_reason(error: Exception) -> str:
    """Name the usual SQLite failures in the active language."""
    text = str(error)
    known = {
        "unable to open database file": ("no se puede abrir el archivo (¿carpeta sin permiso o de solo lectura?)",
                                         "cannot open the file (folder not writable or read-only?)"),
        "file is not a database": ("el archivo no es una base de datos SQLite", "the file is not an SQLite database"),
        "database is locked": ("la base de datos está bloqueada por otro proceso",
                               "the database is locked by another process"),
        "attempt to write a readonly database": ("la base de datos es de solo lectura",
                                                 "the database is read-only"),
        "database or disk is full": ("el disco está lleno", "the disk is full"),
        "database disk image is malformed": ("el archivo de la base de datos está dañado; restaure un respaldo",
                                             "the database file is corrupt; restore a backup"),
    }
    for english_text, (spanish, english) in known.items():
        if english_text in text:
            return tr(spanish, english)
    return text
