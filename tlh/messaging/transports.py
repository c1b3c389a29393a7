"""Transports deliver one rendered message. Contract (implementations fill it in).

``send`` returns the provider's id for the message, raises ``TransientError`` when a
retry may succeed (connection refused, timeout, SMTP 4xx, HTTP 429/5xx) and
``PermanentError`` when it will not (SMTP 5xx, HTTP 400, a certificate that does not
verify), both from ``tlh.messaging.errors``. Errors carry a one-line reason without the
recipient's address.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from tlh.domain.messages import Message, MessageChannel
from tlh.errors import InvalidInput
from tlh.messaging.config import MessagingConfig


class Transport(Protocol):
    channel: MessageChannel

    async def send(self, message: Message) -> str:
        """Deliver ``message``; return the provider's id (or a file name)."""
        ...

    async def close(self) -> None:
        """Release connections; ``send`` is not called afterwards."""
        ...


def build_transports(config: MessagingConfig, data_dir: Path) -> dict[MessageChannel, Transport]:
    """One transport per channel, as the messaging config chooses (file by default)."""
    # Imported here: the SMTP and HTTP stacks load only when they are configured.
    from tlh.messaging.file_transport import DEFAULT_FROM, FileTransport, mail_drop_dir

    drop = mail_drop_dir(data_dir, config.mail_dir)
    from_address = config.smtp.from_address if config.smtp is not None else DEFAULT_FROM
    email: Transport
    sms: Transport
    if config.email == "smtp":
        from tlh.messaging.smtp import SmtpTransport

        if config.smtp is None:
            raise InvalidInput("email = 'smtp' needs an [smtp] section")
        email = SmtpTransport(config.smtp)
    else:
        email = FileTransport(MessageChannel.EMAIL, drop, from_address)
    if config.sms == "twilio":
        from tlh.messaging.sms import TwilioTransport

        if config.twilio is None:
            raise InvalidInput("sms = 'twilio' needs a [twilio] section")
        sms = TwilioTransport(config.twilio)
    elif config.sms == "webhook":
        from tlh.messaging.sms import WebhookTransport

        if config.webhook is None:
            raise InvalidInput("sms = 'webhook' needs a [webhook] section")
        sms = WebhookTransport(config.webhook)
    else:
        sms = FileTransport(MessageChannel.SMS, drop)
    return {MessageChannel.EMAIL: email, MessageChannel.SMS: sms}
