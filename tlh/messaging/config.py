"""Messaging settings: which transport carries email and SMS, and how to reach it.

Read from the server's TOML file (sections ``[messaging]``, ``[smtp]``, ``[twilio]``,
``[webhook]``) by ``messaging_from_toml``; every mistake is a one-line ``InvalidInput``
naming the section and key.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from tlh.errors import InvalidInput
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
    #: A directory of the practice's own templates (else the bundled ``config/templates``).
    templates_dir: str | None = None
    #: The server's public address used in links (``https://tele.example.org``).
    public_url: str | None = None


def _section(doc: dict[str, Any], name: str) -> dict[str, Any] | None:
    value = doc.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidInput(f"[{name}] must be a section")
    return value


def _convert(name: str, table: dict[str, Any], cls: type[msgspec.Struct]) -> Any:
    fields = set(cls.__struct_fields__)
    for key in table:
        if key not in fields:
            raise InvalidInput(f"unknown key {key!r} in [{name}]")
    try:
        return msgspec.convert(table, cls)
    except msgspec.ValidationError as exc:
        # msgspec says e.g. "Expected `int`, got `str` - at `$.port`": lead with the key.
        detail, _, where = str(exc).replace("`", "").partition(" - at $.")
        key = f"{where}: " if where else ""
        raise InvalidInput(f"[{name}] {key}{detail[:1].lower()}{detail[1:]}") from None


def messaging_from_toml(doc: dict[str, Any]) -> MessagingConfig:
    """The messaging settings from a parsed TOML document (other sections are ignored).

    Checks that the chosen transports have their section, that plain-text SMTP points at
    loopback, and that URLs are http(s).
    """
    top = _section(doc, "messaging") or {}
    parts: dict[str, Any] = {}
    for name, cls in (("smtp", SmtpConfig), ("twilio", TwilioConfig), ("webhook", WebhookConfig)):
        if name in top:
            raise InvalidInput(f"[messaging] {name} belongs in its own [{name}] section")
        table = _section(doc, name)
        if table is not None:
            parts[name] = _convert(name, table, cls)
    config: MessagingConfig = _convert("messaging", {**top, **parts}, MessagingConfig)
    if config.email == "smtp" and config.smtp is None:
        raise InvalidInput("[messaging] email = 'smtp' needs an [smtp] section")
    if config.sms == "twilio" and config.twilio is None:
        raise InvalidInput("[messaging] sms = 'twilio' needs a [twilio] section")
    if config.sms == "webhook" and config.webhook is None:
        raise InvalidInput("[messaging] sms = 'webhook' needs a [webhook] section")
    if config.smtp is not None:
        smtp = config.smtp
        if smtp.security == "none" and not is_loopback(smtp.host):
            raise InvalidInput("[smtp] security = 'none' is allowed only for a loopback host")
        if not 0 < smtp.port < 65536:
            raise InvalidInput("[smtp] port must be between 1 and 65535")
        if smtp.timeout_s <= 0:
            raise InvalidInput("[smtp] timeout_s must be positive")
        if "@" not in smtp.from_address:
            raise InvalidInput("[smtp] from_address is not an email address")
    for name, url in (
        ("twilio", config.twilio.base_url if config.twilio else None),
        ("webhook", config.webhook.url if config.webhook else None),
        ("messaging", config.public_url),
    ):
        if url is not None and not url.startswith(("https://", "http://")):
            key = {"twilio": "base_url", "webhook": "url", "messaging": "public_url"}[name]
            raise InvalidInput(f"[{name}] {key} must start with https:// or http://")
    return config
