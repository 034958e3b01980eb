"""The mailbox watcher: a reply appended to the real Dovecot is answered without a poll."""

import threading
import time
from datetime import datetime, timezone

import pytest

from mailtriage import clock
from mailtriage.config import load_config
from mailtriage.daemon import open_store, run_once
from mailtriage.i18n import set_language
from mailtriage.mailwatch import MailboxWatcher
from mailtriage.models import Report, database_proxy

from patient_mail import RED_ANSWERS, enrol, reply_to
from servers import SMTP_PASSWORD

pytestmark = pytest.mark.servers

# Dovecot 2.3 delays IDLE notifications by 500 ms, and a pass takes less
# than a second more. The limit only bounds a broken watcher.
ANSWER_TIMEOUT_SECONDS = 15


@pytest.fixture
def user(dovecot):
    return dovecot.new_user()


@pytest.fixture
def config(user, smtp_server, make_config):
    set_language("es")
    clock.set_now(None)
    path = make_config(mailbox_url=user.url, mailbox_password=user.password,
                       smtp_url=smtp_server.url("smtp", username="automonitoreo"),
                       smtp_password=SMTP_PASSWORD)
    loaded = load_config(path)
    open_store(loaded)
    yield loaded
    database_proxy.close()


def answers_to(smtp_server, message_id: str) -> list:
    return [message for message in smtp_server.messages() if message["In-Reply-To"] == message_id]


def test_watcher_answers_new_reply(config, user, dovecot, smtp_server):
    patient = enrol(config)
    run_once(config)
    lock, stop = threading.Lock(), threading.Event()
    watcher = MailboxWatcher(config, lock, stop)
    watcher.start()
    try:
        # A reply appended before the watcher's first IDLE is still found,
        # because each wait opens with a UID search.
        raw = reply_to(patient, RED_ANSWERS, datetime.now(timezone.utc),
                       message_id="<watch-1@example.com>")
        dovecot.append(user, raw)
        deadline = time.monotonic() + ANSWER_TIMEOUT_SECONDS
        while not answers_to(smtp_server, "<watch-1@example.com>") and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        watcher.join()

    assert len(answers_to(smtp_server, "<watch-1@example.com>")) == 1
    assert Report.get(Report.patient == patient).color == "rojo"
    assert dovecot.count(user, config.processed_folder) == 1
    assert dovecot.count(user) == 0


def test_watcher_waits_for_work_lock(config, user, dovecot, smtp_server):
    patient = enrol(config)
    run_once(config)
    lock, stop = threading.Lock(), threading.Event()
    watcher = MailboxWatcher(config, lock, stop)
    lock.acquire()
    watcher.start()
    try:
        raw = reply_to(patient, RED_ANSWERS, datetime.now(timezone.utc),
                       message_id="<watch-2@example.com>")
        dovecot.append(user, raw)
        # Long enough for IDLE to report the message, while a job holds the lock.
        time.sleep(2)
        held_answers = answers_to(smtp_server, "<watch-2@example.com>")
    finally:
        lock.release()

    try:
        deadline = time.monotonic() + ANSWER_TIMEOUT_SECONDS
        while not answers_to(smtp_server, "<watch-2@example.com>") and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        watcher.join()

    assert held_answers == []
    assert len(answers_to(smtp_server, "<watch-2@example.com>")) == 1
