"""The inbox: IMAP against the test Dovecot, and a local Maildir."""

import mailbox
import os
import threading
import time
from datetime import datetime, timezone

import pytest

from mailtriage import imapbox
from mailtriage.errors import MailboxError
from mailtriage.i18n import set_language
from mailtriage.inbox import open_inbox
from mailtriage.models import MailboxState
from servers import DovecotServer

# The restricted server advertises none of IDLE, MOVE and UIDPLUS.
BASIC_CAPABILITIES = "imap_capability = IMAP4rev1 LITERAL+ SASL-IR ID ENABLE"


def raw_message(number: int, body: str = "1. Sí\n2. No\n") -> bytes:
    return (f"From: paciente{number}@example.mx\r\n"
            f"To: automonitoreo@umf34.example.mx\r\n"
            f"Subject: Re: Cuestionario de automonitoreo\r\n"
            f"Message-ID: <reply-{number}@example.mx>\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n"
            f"\r\n{body}").encode().replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n")


@pytest.fixture(autouse=True)
def english():
    set_language("en")
    yield
    set_language("es")


@pytest.fixture
def imap_user(dovecot, configure):
    """A fresh IMAP user and a config reading its INBOX over imap://."""
    user = dovecot.new_user()
    return user, configure(mailbox_url=user.url, mailbox_password=user.password)


def read_all(config, limit=None):
    with open_inbox(config) as inbox:
        return list(inbox.new_messages(limit))


# ---------------------------------------------------------------------- IMAP

@pytest.mark.servers
def test_imap_yields_messages_in_uid_order(dovecot, imap_user):
    user, config = imap_user
    arrived = datetime(2026, 12, 4, 15, 30, tzinfo=timezone.utc)
    dovecot.append(user, raw_message(1), msg_time=arrived)
    dovecot.append(user, raw_message(2))

    messages = read_all(config)

    assert [m.uid for m in messages] == ["1", "2"]
    assert messages[0].raw == raw_message(1)
    assert messages[0].size == len(raw_message(1))
    assert messages[0].received_at == arrived
    assert messages[0].received_at.tzinfo == timezone.utc
    assert messages[0].truncated is False


@pytest.mark.servers
def test_imap_moved_messages_not_read_again(dovecot, imap_user):
    user, config = imap_user
    dovecot.append_many(user, [raw_message(1), raw_message(2)])

    with open_inbox(config) as inbox:
        first, second = inbox.new_messages()
        inbox.move(first, config.processed_folder)
        inbox.move(second, config.quarantine_folder)

    assert read_all(config) == []
    assert dovecot.messages(user, "Procesados") == [raw_message(1)]
    assert dovecot.messages(user, "Cuarentena") == [raw_message(2)]
    assert dovecot.count(user, "INBOX") == 0


@pytest.mark.servers
def test_imap_unmoved_message_read_again(dovecot, imap_user):
    user, config = imap_user
    dovecot.append_many(user, [raw_message(1), raw_message(2), raw_message(3)])

    with open_inbox(config) as inbox:
        first, second, third = inbox.new_messages()
        inbox.move(first, config.processed_folder)
        inbox.move(third, config.processed_folder)

    assert [m.uid for m in read_all(config)] == ["2"]
    state = MailboxState.get(MailboxState.mailbox == f"imap://{user.name}@127.0.0.1/INBOX")
    assert state.last_uid == 1


@pytest.mark.servers
def test_imap_watermark_skips_moved_uids(dovecot, imap_user):
    user, config = imap_user
    dovecot.append_many(user, [raw_message(1), raw_message(2)])

    with open_inbox(config) as inbox:
        for message in inbox.new_messages():
            inbox.move(message, config.processed_folder)
    dovecot.append(user, raw_message(3))

    assert [m.uid for m in read_all(config)] == ["3"]
    assert MailboxState.get().last_uid == 2


@pytest.mark.servers
def test_imap_limit_bounds_messages(dovecot, imap_user):
    user, config = imap_user
    dovecot.append_many(user, [raw_message(n) for n in range(1, 6)])

    assert [m.uid for m in read_all(config, limit=2)] == ["1", "2"]


@pytest.mark.servers
def test_imap_batches_cover_every_message(dovecot, imap_user, monkeypatch):
    user, config = imap_user
    monkeypatch.setattr(imapbox, "FETCH_BATCH_MESSAGES", 3)
    monkeypatch.setattr(imapbox, "FETCH_BATCH_BYTES", 400)
    dovecot.append_many(user, [raw_message(n) for n in range(1, 11)])

    messages = read_all(config)

    assert [m.uid for m in messages] == [str(n) for n in range(1, 11)]
    assert [m.raw for m in messages] == [raw_message(n) for n in range(1, 11)]


@pytest.mark.servers
def test_imap_oversize_reads_header_only(dovecot, make_config, configure):
    user = dovecot.new_user()
    config = configure(mailbox_url=user.url, mailbox_password=user.password,
                       mailbox={"max_message_bytes": 1000})
    big = raw_message(1, body="x" * 5000 + "\n")
    dovecot.append_many(user, [raw_message(2), big, raw_message(3)])

    small_before, oversize, small_after = read_all(config)

    assert oversize.truncated is True
    assert oversize.size == len(big)
    assert oversize.raw == big[:big.index(b"\r\n\r\n") + 4]
    assert small_before.truncated is False
    assert small_after.raw == raw_message(3)


@pytest.mark.servers
def test_imap_uidvalidity_change_reported(dovecot, configure):
    user = dovecot.new_user()
    dovecot.append(user, raw_message(1), folder="Respuestas")
    config = configure(mailbox_url=user.url.replace("/INBOX", "/Respuestas"),
                       mailbox_password=user.password)
    with open_inbox(config) as inbox:
        assert inbox.uidvalidity_changed is False
        first_validity = inbox.uidvalidity
        assert len(list(inbox.new_messages())) == 1

    # Deleting and re-creating a folder gives it a new UIDVALIDITY.
    with dovecot.client(user) as imap:
        imap.delete_folder("Respuestas")
    dovecot.append(user, raw_message(1), folder="Respuestas")

    with open_inbox(config) as inbox:
        assert inbox.uidvalidity_changed is True
        assert inbox.uidvalidity != first_validity
        assert [m.raw for m in inbox.new_messages()] == [raw_message(1)]
    assert MailboxState.get().uidvalidity == inbox.uidvalidity


@pytest.mark.servers
def test_imap_wrong_password_names_server(dovecot, configure):
    user = dovecot.new_user()
    config = configure(mailbox_url=user.url, mailbox_password="wrong-secret")

    with pytest.raises(MailboxError) as caught:
        open_inbox(config).__enter__()

    assert f"127.0.0.1:{dovecot.imap_port}" in str(caught.value)
    assert "rejected the login" in str(caught.value)
    assert "wrong-secret" not in str(caught.value)


@pytest.mark.servers
def test_imap_closed_port_names_server(configure):
    from servers import free_port
    port = free_port()
    config = configure(mailbox_url=f"imap://nadie@127.0.0.1:{port}/INBOX", mailbox_password="x")

    with pytest.raises(MailboxError, match=f"127.0.0.1:{port}: failed to connect"):
        open_inbox(config).__enter__()


@pytest.mark.servers
def test_imaps_verifies_with_ca_file(dovecot, configure):
    user = dovecot.new_user()
    dovecot.append(user, raw_message(1))
    config = configure(mailbox_url=user.tls_url, mailbox_password=user.password)

    assert [m.raw for m in read_all(config)] == [raw_message(1)]


@pytest.mark.servers
def test_imaps_unknown_certificate_rejected(dovecot, configure):
    user = dovecot.new_user()
    config = configure(mailbox_url=user.tls_url, mailbox_password=user.password,
                       mailbox={"ca_file": ""})

    with pytest.raises(MailboxError, match="TLS certificate .* failed verification"):
        open_inbox(config).__enter__()


@pytest.mark.servers
def test_imap_idle_wakes_on_append(dovecot, imap_user):
    user, config = imap_user
    delivery = threading.Timer(0.2, dovecot.append, args=(user, raw_message(1)))

    with open_inbox(config) as inbox:
        assert list(inbox.new_messages()) == []
        started = time.monotonic()
        delivery.start()
        woke = inbox.wait_for_new(10)
        elapsed = time.monotonic() - started
    delivery.join()

    assert woke is True
    # Dovecot 2.3 delays IDLE notifications by 0.5 s after an APPEND.
    assert elapsed < 3


@pytest.mark.servers
def test_imap_wait_times_out_without_mail(imap_user):
    _user, config = imap_user

    with open_inbox(config) as inbox:
        list(inbox.new_messages())
        started = time.monotonic()
        woke = inbox.wait_for_new(0.5)

    assert woke is False
    assert 0.4 < time.monotonic() - started < 3


@pytest.mark.servers
def test_imap_wait_returns_at_once_for_unread(dovecot, imap_user):
    user, config = imap_user
    dovecot.append(user, raw_message(1))

    with open_inbox(config) as inbox:
        started = time.monotonic()
        assert inbox.wait_for_new(10) is True
    assert time.monotonic() - started < 1


@pytest.mark.servers
def test_imap_outage_raises_mailbox_error(dovecot, imap_user):
    user, config = imap_user
    dovecot.append(user, raw_message(1))

    with open_inbox(config) as inbox:
        dovecot.stop()
        with pytest.raises(MailboxError, match=f"127.0.0.1:{dovecot.imap_port}"):
            list(inbox.new_messages())
    dovecot.start()

    assert [m.raw for m in read_all(config)] == [raw_message(1)]


@pytest.fixture(scope="module")
def basic_dovecot(test_certificate):
    """A second Dovecot that advertises no IDLE, MOVE or UIDPLUS."""
    server = DovecotServer(cert=test_certificate, extra_config=BASIC_CAPABILITIES)
    server.start()
    yield server
    server.remove()


@pytest.mark.servers
def test_imap_without_move_copies_and_expunges(basic_dovecot, configure):
    user = basic_dovecot.new_user()
    basic_dovecot.append_many(user, [raw_message(1), raw_message(2)])
    config = configure(mailbox_url=user.url, mailbox_password=user.password)

    with open_inbox(config) as inbox:
        first, _second = inbox.new_messages()
        inbox.move(first, config.processed_folder)

    assert basic_dovecot.messages(user, "Procesados") == [raw_message(1)]
    assert basic_dovecot.messages(user, "INBOX") == [raw_message(2)]
    assert [m.uid for m in read_all(config)] == ["2"]


@pytest.mark.servers
def test_imap_without_idle_polls_noop(basic_dovecot, configure, monkeypatch):
    monkeypatch.setattr(imapbox, "NOOP_POLL_SECONDS", 0.1)
    user = basic_dovecot.new_user()
    config = configure(mailbox_url=user.url, mailbox_password=user.password)
    delivery = threading.Timer(0.2, basic_dovecot.append, args=(user, raw_message(1)))

    with open_inbox(config) as inbox:
        delivery.start()
        woke = inbox.wait_for_new(5)
    delivery.join()

    assert woke is True


# ---------------------------------------------------------------------- Maildir

@pytest.fixture
def maildir_config(configure, tmp_path):
    return configure(mailbox_url=f"maildir://{tmp_path / 'Buzon'}", mailbox={"max_message_bytes": 1000})


def deliver(path, raw: bytes, delivered_at: float) -> str:
    box = mailbox.Maildir(path, create=True)
    key = box.add(raw)
    os.utime(path / "new" / key, (delivered_at, delivered_at))
    return key


def test_maildir_yields_oldest_first(maildir_config, tmp_path):
    later = deliver(tmp_path / "Buzon", raw_message(1), 1_800_000_100)
    earlier = deliver(tmp_path / "Buzon", raw_message(2), 1_800_000_000)

    messages = read_all(maildir_config)

    assert [m.uid for m in messages] == [earlier, later]
    assert messages[0].raw == raw_message(2)
    assert messages[0].received_at == datetime.fromtimestamp(1_800_000_000, timezone.utc)


def test_maildir_move_keeps_name_and_time(maildir_config, tmp_path):
    key = deliver(tmp_path / "Buzon", raw_message(1), 1_800_000_000)

    with open_inbox(maildir_config) as inbox:
        [message] = inbox.new_messages()
        inbox.move(message, maildir_config.processed_folder)

    moved = tmp_path / "Buzon" / ".Procesados" / "new" / key
    assert moved.read_bytes() == raw_message(1)
    assert moved.stat().st_mtime == 1_800_000_000
    assert read_all(maildir_config) == []
    assert "Procesados" in mailbox.Maildir(tmp_path / "Buzon").list_folders()


def test_maildir_oversize_reads_header_only(maildir_config, tmp_path):
    big = raw_message(1, body="x" * 5000 + "\n")
    deliver(tmp_path / "Buzon", big, 1_800_000_000)

    [message] = read_all(maildir_config)

    assert message.truncated is True
    assert message.size == len(big)
    assert message.raw == big[:big.index(b"\r\n\r\n") + 4]


def test_maildir_created_when_missing(maildir_config, tmp_path):
    assert read_all(maildir_config) == []
    assert (tmp_path / "Buzon" / "new").is_dir()


def test_maildir_wait_sees_delivery(maildir_config, tmp_path):
    delivery = threading.Timer(0.2, deliver, args=(tmp_path / "Buzon", raw_message(1), time.time()))

    with open_inbox(maildir_config) as inbox:
        assert list(inbox.new_messages()) == []
        delivery.start()
        woke = inbox.wait_for_new(5)
        assert inbox.wait_for_new(0.1) is True  # still not read
    delivery.join()

    assert woke is True


def test_maildir_wait_times_out(maildir_config):
    with open_inbox(maildir_config) as inbox:
        assert inbox.wait_for_new(0.3) is False


def test_maildir_move_of_gone_message_fails(maildir_config, tmp_path):
    key = deliver(tmp_path / "Buzon", raw_message(1), 1_800_000_000)

    with open_inbox(maildir_config) as inbox:
        [message] = inbox.new_messages()
        (tmp_path / "Buzon" / "new" / key).unlink()
        with pytest.raises(MailboxError, match="no longer in the inbox"):
            inbox.move(message, maildir_config.processed_folder)


def test_imap_silent_server_times_out(configure, silent_server, monkeypatch):
    monkeypatch.setattr(imapbox, "TIMEOUT_SECONDS", 0.3)
    config = configure(mailbox_url=f"imap://nadie@127.0.0.1:{silent_server}/INBOX",
                       mailbox_password="x")

    with pytest.raises(MailboxError, match=f"127.0.0.1:{silent_server}: timed out after 0.3 s"):
        open_inbox(config).__enter__()


@pytest.mark.servers
def test_imap_missing_folder_names_it(dovecot, configure):
    user = dovecot.new_user()
    config = configure(mailbox_url=user.url.replace("/INBOX", "/NoExiste"),
                       mailbox_password=user.password)

    with pytest.raises(MailboxError, match="failed to open the folder NoExiste"):
        open_inbox(config).__enter__()
