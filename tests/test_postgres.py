"""mailtriage on PostgreSQL, and several daemons sharing one PostgreSQL database and one mailbox.

Each test gets a fresh database on the session's throwaway cluster (see
tests/pgserver.py) and its own Dovecot user. The daemons run as separate
processes, as they do in production.
"""

import dataclasses
import signal
import subprocess
import sys
from collections import Counter

import pytest

from faultmail import (
    GREEN, PROCESSED, RunDaemon, build_world, check_exactly_once, close_test_store,
    daemon_environment, deliver_replies, latest_issuance, open_test_store, replies_by_message,
    replies_received, reply, run_daemon_once, wait_until,
)
from mailtriage import clock, recording
from mailtriage.config import load_config
from mailtriage.migrations import MIGRATIONS, apply_migrations, pending_migrations
from mailtriage.models import (
    InboundMessage, OutboxMessage, Report, SchemaMigration, Unit, open_database,
)
from mailtriage.units import sync_units

pytestmark = pytest.mark.servers

# Replies in the inbox when several daemons share it: enough that every
# daemon's pass overlaps the others' for a while.
SHARED_MESSAGES = 33
DAEMONS = 3

# The whole test, with three daemons and 33 messages, takes about 11 s here.
# The bound is generous.
SHARED_WAIT_SECONDS = 60


def world_on_postgres(make_config, dovecot, smtp_server, postgres_url, **options):
    return build_world(make_config, dovecot, smtp_server, database={"url": postgres_url}, **options)


def test_migrations_on_postgres(postgres_url):
    database = open_database(postgres_url, migrate=False)
    try:
        applied = apply_migrations(database)

        assert applied == [name for name, _step in MIGRATIONS]
        assert pending_migrations(database) == []
        assert SchemaMigration.select().count() == len(MIGRATIONS)
        assert apply_migrations(database) == []
        assert "WHERE" in index_definition(database, "issuance_one_questionnaire_per_day")
        assert index_definition(database, "inboundmessage_mailbox_uidvalidity_uid").startswith(
            "CREATE UNIQUE INDEX")
        assert limited_text_columns(database) == []
    finally:
        database.close()


def index_definition(database, name: str) -> str:
    cursor = database.execute_sql("SELECT indexdef FROM pg_indexes WHERE indexname = %s", (name,))
    return cursor.fetchone()[0]


def limited_text_columns(database) -> list[tuple]:
    cursor = database.execute_sql(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND data_type = 'character varying' "
        "AND character_maximum_length = 255")
    return cursor.fetchall()


def test_concurrent_init_on_postgres(make_config, postgres_url):
    """Daemons started together on a new database each try to create the schema."""
    config_path = make_config(database={"url": postgres_url})
    command = [sys.executable, "-m", "mailtriage", "--config", str(config_path), "init"]
    processes = [subprocess.Popen(command, env=daemon_environment(), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(DAEMONS)]
    results = [(process.wait(timeout=60), process.stderr.read()) for process in processes]
    for process in processes:
        process.stdout.close()
        process.stderr.close()

    for exit_code, stderr in results:
        assert exit_code == 0, stderr[-2000:]
    database = open_database(postgres_url, migrate=False)
    try:
        assert pending_migrations(database) == []
        assert SchemaMigration.select().count() == len(MIGRATIONS)
    finally:
        database.close()


def test_reply_end_to_end_on_postgres(make_config, dovecot, smtp_server, postgres_url):
    world = world_on_postgres(make_config, dovecot, smtp_server, postgres_url, messages=1)

    result = run_daemon_once(world.config_path)

    assert result.returncode == 0, result.stderr[-2000:]
    check_exactly_once(world, dovecot, smtp_server)
    open_test_store(world.config_path)
    try:
        report = Report.get()
        assert report.color == "verde"
        assert report.inbound.message_id == world.message_ids[0]
        reply = OutboxMessage.get(OutboxMessage.report == report)
        assert reply.in_reply_to == world.message_ids[0]
    finally:
        close_test_store()
    sent = [message for message in smtp_server.messages()
            if str(message["In-Reply-To"]).strip() == world.message_ids[0]]
    assert len(sent) == 1
    assert "puede seguir cuidándose en casa" in sent[0].get_body(("plain",)).get_content()


def test_long_mail_headers_on_postgres(make_config, dovecot, smtp_server, postgres_url):
    """A Message-ID and a Subject longer than 255 characters, which PostgreSQL VARCHAR(255) rejected."""
    world = world_on_postgres(make_config, dovecot, smtp_server, postgres_url, messages=1,
                              deliver=False)
    long_id = "<" + "x" * 300 + "@example.com>"
    open_test_store(world.config_path)
    try:
        patient = world.patients[0]
        folio = latest_issuance(patient).folio
        raw = reply(patient, GREEN, message_id=long_id, extra_headers={
            "Subject": "Re: " + "cuestionario " * 30 + f"[Folio {folio}]"})
    finally:
        close_test_store()
    dovecot.append(world.user, raw)

    result = run_daemon_once(world.config_path)

    assert result.returncode == 0, result.stderr[-2000:]
    open_test_store(world.config_path)
    try:
        inbound = InboundMessage.get()
        assert inbound.message_id == long_id
        assert inbound.outcome == "reported"
        answer = OutboxMessage.get(OutboxMessage.kind == "reply")
        assert answer.in_reply_to == long_id
        assert answer.status == "sent"
        assert len(answer.subject) > 255
    finally:
        close_test_store()


def test_maildir_key_lookup_on_postgres(postgres_url):
    """A Maildir key has no UIDVALIDITY (NULL), which must still find its one row."""
    database = open_database(postgres_url)
    try:
        key = recording.MessageKey("maildir:///var/mail/umf34", None, "1700000000.M1P2.host")
        other = recording.MessageKey("maildir:///var/mail/umf34", None, "1700000001.M1P2.host")
        now = clock.now()
        first = recording.record_start(key, "<a@example.com>", b"raw", now)
        recording.release(first)
        again = recording.record_start(key, "<a@example.com>", b"raw", now)
        recording.release(again)
        found = recording.find_recorded(key, None)

        assert again.id == first.id
        assert again.attempts == 2
        assert found.id == first.id
        assert recording.find_recorded(other, None) is None
        assert InboundMessage.select().count() == 1
    finally:
        database.close()


def test_unit_upsert_on_postgres(make_config, postgres_url):
    config_path = make_config(database={"url": postgres_url})
    config = load_config(config_path)
    database = open_database(postgres_url)
    try:
        sync_units(config)
        renamed = dataclasses.replace(config.units[0], name="UMF 34 La Paz")
        sync_units(dataclasses.replace(config, units=(renamed,)))

        assert Unit.select().count() == 1
        assert Unit.get().name == "UMF 34 La Paz"
    finally:
        database.close()


def test_daemon_reconnects_after_postgres_restart(make_config, dovecot, smtp_server, postgres,
                                                  tmp_path):
    world = world_on_postgres(make_config, dovecot, smtp_server, postgres.new_database(),
                              messages=2, deliver=False)
    daemon = RunDaemon(world.config_path, tmp_path / "daemon.log")
    try:
        # The check runs on the scheduler thread, whose connection the restart then closes.
        daemon.wait_for_log("non-reporting check:")
        postgres.restart()
        deliver_replies(world, dovecot)
        wait_until(lambda: dovecot.count(world.user, PROCESSED) == len(world.message_ids),
                   "every message in the processed folder after the restart")
        wait_until(lambda: set(world.message_ids) <= set(replies_by_message(smtp_server)),
                   "a reply to every message after the restart")
    finally:
        exit_code = daemon.stop()

    assert exit_code == 0, daemon.log()[-3000:]
    check_exactly_once(world, dovecot, smtp_server)


@pytest.mark.parametrize("fault", ["after_store:2", "before_send:2"])
def test_crash_releases_claims_on_postgres(make_config, dovecot, smtp_server, postgres_url, fault):
    """A killed daemon's claims end with its connection, so a restart finishes its work at once."""
    world = world_on_postgres(make_config, dovecot, smtp_server, postgres_url, messages=3)

    crashed = run_daemon_once(world.config_path, fault=fault)
    restarted = run_daemon_once(world.config_path)

    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]
    assert restarted.returncode == 0, restarted.stderr[-2000:]
    check_exactly_once(world, dovecot, smtp_server)


def test_daemons_share_mailbox_and_database(make_config, dovecot, smtp_server, postgres_url, tmp_path):
    world = world_on_postgres(make_config, dovecot, smtp_server, postgres_url,
                              messages=SHARED_MESSAGES, deliver=False)
    daemons = [RunDaemon(world.config_path, tmp_path / f"daemon{number}.log")
               for number in range(DAEMONS)]
    try:
        for daemon in daemons:
            daemon.wait_for_log("daemon started")
        deliver_replies(world, dovecot)
        # At least: a message moved by two daemons leaves two copies, which
        # check_exactly_once reports.
        wait_until(lambda: dovecot.count(world.user, PROCESSED) >= SHARED_MESSAGES,
                   "every message in the processed folder", SHARED_WAIT_SECONDS)
        wait_until(lambda: set(world.message_ids) <= set(replies_by_message(smtp_server)),
                   "a reply to every message", SHARED_WAIT_SECONDS)
    finally:
        exit_codes = [daemon.stop() for daemon in daemons]

    for daemon, exit_code in zip(daemons, exit_codes):
        assert exit_code == 0, daemon.log()[-3000:]
        assert "Traceback" not in daemon.log(), daemon.log()[-3000:]
    check_exactly_once(world, dovecot, smtp_server)
    check_each_reply_sent_once(world, smtp_server)


def check_each_reply_sent_once(world, smtp_server) -> None:
    """Assert that no reply reached the SMTP server twice, and each patient got one per message."""
    by_patient = replies_received(smtp_server, world.patients)
    for address, message_ids in by_patient.items():
        copies = Counter(message_ids)
        assert all(count == 1 for count in copies.values()), (address, copies)

    answered = replies_by_message(smtp_server)
    assert sorted(answered) == sorted(world.message_ids)
    for message_id in world.message_ids:
        assert len(answered[message_id]) == 1, (message_id, answered[message_id])

    open_test_store(world.config_path)
    try:
        stored = InboundMessage.select().count()
    finally:
        close_test_store()
    assert stored == SHARED_MESSAGES
    assert sum(len(ids) for ids in by_patient.values()) == SHARED_MESSAGES
