"""The messaging sections of the config file: a full one loads, mistakes are named."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tlh.errors import InvalidInput
from tlh.messaging.config import (
    MessagingConfig,
    SmtpConfig,
    TwilioConfig,
    WebhookConfig,
    messaging_from_toml,
)
from tlh.server.settings import load_settings

FULL = """
[messaging]
email = "smtp"
sms = "twilio"
public_url = "https://tele.example.org"

[smtp]
host = "smtp.example.org"
port = 465
security = "tls"
username = "u"
password = "p"
from_address = "Practice <practice@example.org>"
ca_file = "/etc/ca.pem"

[twilio]
account_sid = "AC1"
auth_token = "t"
from_number = "+15555550123"

[webhook]
url = "https://gw.example.org/send"
secret = "s"
"""


def test_a_full_config_loads() -> None:
    config = messaging_from_toml(tomllib.loads(FULL))
    assert config == MessagingConfig(
        email="smtp",
        sms="twilio",
        public_url="https://tele.example.org",
        smtp=SmtpConfig(
            host="smtp.example.org",
            port=465,
            security="tls",
            username="u",
            password="p",
            from_address="Practice <practice@example.org>",
            ca_file="/etc/ca.pem",
        ),
        twilio=TwilioConfig(account_sid="AC1", auth_token="t", from_number="+15555550123"),
        webhook=WebhookConfig(url="https://gw.example.org/send", secret="s"),
    )


def test_no_sections_means_files() -> None:
    assert messaging_from_toml({"server": {"port": 1}}) == MessagingConfig()


SMTP = '[smtp]\nhost = "mail.example.org"\nfrom_address = "p@example.org"\n'


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('[messaging]\nemail = "smtp"\n', "needs an [smtp] section"),
        ('[messaging]\nsms = "twilio"\n', "needs a [twilio] section"),
        ('[messaging]\nsms = "webhook"\n', "needs a [webhook] section"),
        (
            '[messaging]\nemail = "pigeon"\n',
            "[messaging] email must be 'file' or 'smtp', not 'pigeon'",
        ),
        ("[messaging]\nfoo = 1\n", "unknown key 'foo' in [messaging]"),
        (SMTP + "hots = 1\n", "unknown key 'hots' in [smtp]"),
        (SMTP + 'port = "25"\n', "[smtp] port must be a whole number"),
        (SMTP + 'security = "none"\n', "only for a loopback host"),
        (SMTP + 'security = "ssl"\n', "security"),
        (SMTP + "port = 0\n", "[smtp] port must be"),
        ('[smtp]\nhost = "x"\n', "[smtp] from_address is required"),
        ('[smtp]\nhost = "x"\nfrom_address = "nobody"\n', "not an email address"),
        ('[webhook]\nurl = "ftp://x"\nsecret = "s"\n', "[webhook] url must start"),
        ('[messaging]\npublic_url = "tele.example.org"\n', "[messaging] public_url"),
        ('[messaging]\nsmtp = {host = "x"}\n', "belongs in its own [smtp] section"),
        ("smtp = 1\n", "[smtp] must be a section"),
    ],
)
def test_mistakes_are_named(text: str, fragment: str) -> None:
    with pytest.raises(InvalidInput) as err:
        messaging_from_toml(tomllib.loads(text))
    assert fragment in err.value.message
    assert "\n" not in err.value.message


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "[::1]"])
def test_plain_smtp_is_allowed_on_loopback(host: str) -> None:
    doc = {"smtp": {"host": host, "security": "none", "from_address": "p@example.org"}}
    config = messaging_from_toml(doc)
    assert config.smtp is not None
    assert config.smtp.security == "none"


def test_settings_carry_messaging_and_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "tlh.toml"
    path.write_text(FULL)
    assert load_settings(tmp_path, path).messaging.email == "smtp"
    path.write_text(
        '[server]\nport = 9000\n[twilio]\naccount_sid = "A"\nfrom_number = "+15555550123"\n'
    )
    with pytest.raises(InvalidInput) as err:
        load_settings(tmp_path, path)
    assert err.value.message.startswith(f"{path}: [twilio]")
    assert "auth_token" in err.value.message


# -- secrets from a file or the environment (issue 12, item 6) -------------------------

SMTP = '[smtp]\nhost = "smtp.example.org"\nusername = "u"\nfrom_address = "p@example.org"\n'


def test_a_secret_comes_from_a_file_beside_the_config_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "tlh.toml"
    (tmp_path / "smtp-password").write_text("from-the-file\n")  # echo's newline is not in it
    path.write_text(SMTP + 'password_file = "smtp-password"\n')
    smtp = load_settings(tmp_path, path).messaging.smtp
    assert smtp is not None
    assert smtp.password == "from-the-file"
    monkeypatch.setenv("TLH_HOOK", "from-the-environment")
    path.write_text(
        '[messaging]\nsms = "webhook"\n[webhook]\nurl = "https://gw.example.org"\n'
        'secret_env = "TLH_HOOK"\n'
        '[twilio]\naccount_sid = "AC1"\nfrom_number = "+15555550123"\n'
        f'auth_token_file = "{tmp_path / "smtp-password"}"\n'
    )
    config = load_settings(tmp_path, path).messaging
    assert config.webhook is not None
    assert config.webhook.secret == "from-the-environment"
    assert config.twilio is not None
    assert config.twilio.auth_token == "from-the-file"


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (
            'password = "p"\npassword_env = "TLH_X"\n',
            "[smtp] give only one of password, password_env",
        ),
        ('password_file = "nowhere"\n', "[smtp] password_file: cannot read {dir}/nowhere: No such"),
        ('password_file = "empty"\n', "[smtp] password_file: {dir}/empty is empty"),
        (
            'password_env = "TLH_UNSET_FOR_TEST"\n',
            "environment variable TLH_UNSET_FOR_TEST is not set",
        ),
        ("password_file = 3\n", "[smtp] password_file must be"),
    ],
)
def test_a_secret_that_cannot_be_had_stops_the_load_in_one_line(
    tmp_path: Path, extra: str, said: str
) -> None:
    path = tmp_path / "tlh.toml"
    (tmp_path / "empty").write_text("\n")
    path.write_text(SMTP + extra)
    with pytest.raises(InvalidInput) as err:
        load_settings(tmp_path, path)
    assert said.format(dir=tmp_path) in err.value.message
    assert "\n" not in err.value.message


def test_a_webhook_or_twilio_without_its_secret_is_named(tmp_path: Path) -> None:
    path = tmp_path / "tlh.toml"
    path.write_text('[webhook]\nurl = "https://gw.example.org"\n')
    with pytest.raises(InvalidInput) as err:
        load_settings(tmp_path, path)
    assert err.value.message == f"{path}: [webhook] needs secret_file, secret_env or secret"
