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
    password: str = ""
    #: The From address of every email.
    from_address: str
    #: PEM file of a private CA to trust besides the system's; verification is never off.
    ca_file: str | None = None
    #: Seconds for connecting and each SMTP command.
    timeout_s: float = 30.0


class TwilioConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Twilio's Messages API (the base URL is configurable for tests and proxies)."""

    account_sid: str
    auth_token: str
    #: The sending number (E.164) or messaging service's number.
    from_number: str
    base_url: str = "https://api.twilio.com"


class WebhookConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An SMS gateway of the practice's own: a signed JSON POST per text."""

    url: str
    #: HMAC-SHA256 key; the body's signature is sent as ``X-Tlh-Signature: sha256=<hex>``.
    secret: str


class MessagingConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Which transports the outbox uses and where links point."""

    #: ``file`` writes ``.eml`` files under ``<data_dir>/outbox``; ``smtp`` sends them.
    email: Literal["file", "smtp"] = "file"
    #: ``file`` writes ``.txt`` files; ``twilio`` or ``webhook`` sends them.
    sms: Literal["file", "twilio", "webhook"] = "file"
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
        validate(config)
    return config
