"""Config loading: good files load, broken ones stop with one line naming file and key."""

from pathlib import Path

import pytest

from mailtriage.config import load_config
from mailtriage.errors import ConfigError
from mailtriage.i18n import set_language


@pytest.fixture(autouse=True)
def spanish():
    set_language("es")
    yield
    set_language("es")


def write(tmp_path, text):
    path = tmp_path / "mailtriage.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_builtin_default_uses_local_maildir():
    config = load_config(None)

    assert config.mailbox.scheme == "maildir"
    assert config.timezone == "America/Mazatlan"
    assert config.language == "es"


def test_full_file_loads(tmp_path, monkeypatch):
    monkeypatch.setenv("IMAP_SECRET", "s3cret")
    path = write(tmp_path, """
[mailbox]
url = "imaps://automonitoreo@imap.example.mx/INBOX"
password_env = "IMAP_SECRET"

[smtp]
url = "smtp+starttls://automonitoreo@smtp.example.mx"
from = "Automonitoreo <automonitoreo@salud.example.mx>"

[schedule]
questionnaire_time = "8:30"
timezone = "America/Mexico_City"

[[units]]
code = "UMF-34"
name = "UMF No. 34"
emergency_service = "Urgencias del HGZ No. 1"
altitude_m = 2240
""")
    config = load_config(path)

    assert config.mailbox.port == 993
    assert config.mailbox.password == "s3cret"
    assert config.smtp.port == 587
    assert config.questionnaire_time == "08:30"
    assert config.unit("UMF-34").altitude_m == 2240
    assert "s3cret" not in repr(config.mailbox)


@pytest.mark.parametrize("text, key", [
    ('[schedule]\ntimezone = "Mars/Olympus"\n', "[schedule] timezone"),
    ('[schedule]\npoll_seconds = "often"\n', "[schedule] poll_seconds"),
    ('[mailbox]\nurl = "imap://imap.example.mx/INBOX"\n', "[mailbox] url"),
    ('[smtp]\nurl = "ftp://x"\n', "[smtp] url"),
    ('[[units]]\ncode = "A"\nname = "A"\n', "[units #1] emergency_service"),
    ('[general]\nlanguage = "fr"\n', "[general] language"),
])
def test_bad_value_names_file_and_key(tmp_path, text, key):
    path = write(tmp_path, text)

    with pytest.raises(ConfigError) as error:
        load_config(path)

    assert str(path) in str(error.value)
    assert key in str(error.value)
    assert "\n" not in str(error.value)


def test_invalid_toml_is_one_line(tmp_path):
    path = write(tmp_path, "[mailbox\nurl = 1")

    with pytest.raises(ConfigError) as error:
        load_config(path)

    assert "TOML" in str(error.value)


def test_plain_imap_allowed_on_loopback(tmp_path):
    path = write(tmp_path, '[mailbox]\nurl = "imap://u@127.0.0.1:1143/INBOX"\n')

    assert load_config(path).mailbox.port == 1143


@pytest.mark.parametrize("text, key, hint", [
    ('[schedule]\nquestionaire_time = "07:00"\n', "[schedule] questionaire_time", "questionnaire_time"),
    ('[[unit]]\ncode = "A"\n', "[unit]", "units"),
    ('[[units]]\ncode = "A"\nname = "A"\nemergency_service = "U"\nstaff_mail = "a@b.mx"\n',
     "[units #1] staff_mail", "staff_email"),
])
def test_misspelt_name_is_refused_with_suggestion(tmp_path, text, key, hint):
    path = write(tmp_path, text)

    with pytest.raises(ConfigError) as error:
        load_config(path)

    assert key in str(error.value)
    assert hint in str(error.value)


@pytest.mark.parametrize("text, key", [
    ('[[units]]\ncode = "A"\nname = "A"\nemergency_service = "U"\nstaff_email = "no es correo"\n',
     "[units #1] staff_email"),
    ('[smtp]\nfrom = "nadie"\n', "[smtp] from"),
    ('[database]\nurl = "sqlite:///relative.db"\n', "[database] url"),
])
def test_invalid_address_or_path_is_refused(tmp_path, text, key):
    path = write(tmp_path, text)

    with pytest.raises(ConfigError) as error:
        load_config(path)

    assert key in str(error.value)


def password_config(tmp_path, secret_text, mode):
    secret = tmp_path / "imap-password"
    secret.write_text(secret_text, encoding="utf-8")
    secret.chmod(mode)
    return write(tmp_path, f'[mailbox]\nurl = "imap://u@127.0.0.1:1143/INBOX"\n'
                           f'password_file = "{secret}"\n')


def test_password_file_readable_by_others_is_refused(tmp_path):
    path = password_config(tmp_path, "s3cret", 0o644)

    with pytest.raises(ConfigError) as error:
        load_config(path)

    assert "chmod 600" in str(error.value)
    assert "s3cret" not in str(error.value)


def test_empty_password_file_is_refused(tmp_path):
    path = password_config(tmp_path, "\n", 0o600)

    with pytest.raises(ConfigError) as error:
        load_config(path)

    assert "vacío" in str(error.value)


def test_owner_only_password_file_is_read(tmp_path):
    path = password_config(tmp_path, "s3cret\n", 0o600)

    assert load_config(path).mailbox.password == "s3cret"


def test_example_config_is_valid(tmp_path, monkeypatch):
    monkeypatch.setenv("MAILTRIAGE_IMAP_PASSWORD", "s3cret")
    monkeypatch.setenv("MAILTRIAGE_SMTP_PASSWORD", "s3cret")
    example = (Path(__file__).parent.parent / "config.example.toml").read_text(encoding="utf-8")

    config = load_config(write(tmp_path, example))

    assert config.units
    assert config.mailbox.scheme == "imaps"
