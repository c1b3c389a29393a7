"""Messaging settings: which transport carries email and SMS, and how to reach it.

Read from the server's TOML file (sections ``[messaging]``, ``[smtp]``, ``[twilio]``,
``[webhook]``) by ``messaging_from_toml`` the way every config file is read
(``tlh.configfile``): every mistake is a one-line ``InvalidInput`` naming the section and key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import msgspec

from tlh.configfile import checking, decode, invalid
from tlh.messaging.secret_sources import resolve
from tlh.net import is_loopback

#: The sections this module owns in the server's config file.
SECTIONS = ("messaging", "smtp", "twilio", "webhook")


class SmtpConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How to reach the practice's mail server."""

    #: Host name of the SMTP server (certificates are checked against it).
    host: str
    #: 587 for STARTTLS (submission), 465 for implicit TLS.
    port: int = 587
    #: ``starttls`` or ``tls``; ``none`` (plain text) only for a loopback host.
    security: Literal["starttls", "tls", "none"] = "starttls"
    #: Login user; empty means no login.
    username: str = ""
    #: The login password in clear; better ``password_file`` or ``password_env``.
    password: str = ""
    #: A file holding the password (relative: to the config file's folder).
    password_file: str | None = None
    #: An environment variable holding the password.
    password_env: str | None = None
    #: The From address of every email.
    from_address: str
    #: PEM file of a private CA to trust besides the system's; verification is never off.
    ca_file: str | None = None
    #: Seconds for connecting and each SMTP command.
    timeout_s: float = 30.0


class TwilioConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Twilio's Messages API (the base URL is configurable for tests and proxies)."""

    account_sid: str
    #: The auth token in clear; better ``auth_token_file`` or ``auth_token_env``.
    auth_token: str = ""
    #: A file holding the auth token (relative: to the config file's folder).
    auth_token_file: str | None = None
    #: An environment variable holding the auth token.
    auth_token_env: str | None = None
    #: The sending number (E.164) or messaging service's number.
    from_number: str
    base_url: str = "https://api.twilio.com"


class WebhookConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An SMS gateway of the practice's own: a signed JSON POST per text."""

    url: str
    #: HMAC-SHA256 key; the body's signature is sent as ``X-Tlh-Signature: sha256=<hex>``.
    #: In clear here, or better ``secret_file`` / ``secret_env``.
    secret: str = ""
    #: A file holding the secret (relative: to the config file's folder).
    secret_file: str | None = None
    #: An environment variable holding the secret.
    secret_env: str | None = None


class MessagingConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Which transports the outbox uses and where links point."""

    #: ``file`` writes ``.eml`` files into the mail drop (``mail_dir``); ``smtp`` sends them.
    email: Literal["file", "smtp"] = "file"
    #: ``file`` writes ``.txt`` files into the mail drop; ``twilio`` or ``webhook`` sends them.
    sms: Literal["file", "twilio", "webhook"] = "file"
    #: Where the ``file`` transports write the messages they deliver (live links in them):
    #: default ``<data dir>-mail`` beside the data dir, never inside it, so a copy or a
    #: backup of the data dir holds no delivered message.
    mail_dir: str | None = None
    smtp: SmtpConfig | None = None
    twilio: TwilioConfig | None = None
    webhook: WebhookConfig | None = None
    #: A directory of the practice's own templates (else the ones shipped in the package;
    #: ``tlh templates export DIR`` starts a copy). Checked when the server starts.
    templates_dir: str | None = None
    #: The server's public address used in links (``https://tele.example.org``).
    public_url: str | None = None


class MessagingFile(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The sections of the server's config file that this module owns, as written there."""

    messaging: MessagingConfig = MessagingConfig()
    smtp: SmtpConfig | None = None
    twilio: TwilioConfig | None = None
    webhook: WebhookConfig | None = None

    def config(self) -> MessagingConfig:
        """The one settings value: ``[messaging]`` with its transports' sections in it."""
        return msgspec.structs.replace(
            self.messaging, smtp=self.smtp, twilio=self.twilio, webhook=self.webhook
        )


def validate(config: MessagingConfig) -> None:
    """The rules types cannot say (``ValueError`` naming the section and key): the chosen
    transports have their section, plain-text SMTP stays on loopback, URLs are http(s)."""
    if config.email == "smtp" and config.smtp is None:
        raise ValueError("[messaging] email = 'smtp' needs an [smtp] section")
    if config.sms == "twilio" and config.twilio is None:
        raise ValueError("[messaging] sms = 'twilio' needs a [twilio] section")
    if config.sms == "webhook" and config.webhook is None:
        raise ValueError("[messaging] sms = 'webhook' needs a [webhook] section")
    if config.twilio is not None and not config.twilio.auth_token:
        raise ValueError("[twilio] needs auth_token_file, auth_token_env or auth_token")
    if config.webhook is not None and not config.webhook.secret:
        raise ValueError("[webhook] needs secret_file, secret_env or secret")
    if config.smtp is not None:
        smtp = config.smtp
        if smtp.security == "none" and not is_loopback(smtp.host):
            raise ValueError("[smtp] security = 'none' is allowed only for a loopback host")
        if not 0 < smtp.port < 65536:
            raise ValueError("[smtp] port must be between 1 and 65535")
        if smtp.timeout_s <= 0:
            raise ValueError("[smtp] timeout_s must be positive")
        if "@" not in smtp.from_address:
            raise ValueError("[smtp] from_address is not an email address")
    for where, url in (
        ("[twilio] base_url", config.twilio.base_url if config.twilio else None),
        ("[webhook] url", config.webhook.url if config.webhook else None),
        ("[messaging] public_url", config.public_url),
    ):
        if url is not None and not url.startswith(("https://", "http://")):
            raise ValueError(f"{where} must start with https:// or http://")


def messaging_from_toml(doc: dict[str, Any], file: Path | None = None) -> MessagingConfig:
    """The messaging settings from a parsed TOML document (other sections are ignored);
    a mistake is ``InvalidInput``, one line naming ``file`` (when given), section and key."""
    top = doc.get("messaging")
    for name in ("smtp", "twilio", "webhook"):
        if isinstance(top, dict) and name in top:
            raise invalid(file, f"[messaging] {name} belongs in its own [{name}] section")
    ours = {name: doc[name] for name in SECTIONS if name in doc}
    config = decode(ours, MessagingFile, file=file).config()
    with checking(file):
        config = with_secrets(config, ours, file.parent if file is not None else None)
        validate(config)
    return config


def with_secrets(
    config: MessagingConfig, doc: dict[str, Any], base: Path | None
) -> MessagingConfig:
    """``config`` with each transport's secret read from where its section says (in
    clear, ``<key>_file`` or ``<key>_env``; ``tlh.messaging.secret_sources``)."""
    smtp, twilio, webhook = config.smtp, config.twilio, config.webhook
    if smtp is not None:
        smtp = msgspec.structs.replace(smtp, password=resolve("smtp", doc["smtp"], base))
    if twilio is not None:
        token = resolve("twilio", doc["twilio"], base)
        twilio = msgspec.structs.replace(twilio, auth_token=token)
    if webhook is not None:
        secret = resolve("webhook", doc["webhook"], base)
        webhook = msgspec.structs.replace(webhook, secret=secret)
    return msgspec.structs.replace(config, smtp=smtp, twilio=twilio, webhook=webhook)
