"""The one MIME builder: what the file transport writes is exactly what SMTP sends."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from tlh.domain.messages import Message


def message_id_header(message: Message, from_address: str) -> str:
    """A ``Message-ID`` derived from the outbox id, so a receiver can drop a duplicate."""
    domain = parseaddr(from_address)[1].rpartition("@")[2] or "localhost"
    return f"<{message.id}@{domain}>"


def build_email(message: Message, from_address: str) -> EmailMessage:
    """An RFC 5322 email: the text, the HTML as an alternative, and the ``.ics`` (if any)
    as a ``text/calendar; method=REQUEST`` attachment named ``invite.ics``.
    """
    mail = EmailMessage()
    mail["From"] = from_address
    mail["To"] = message.to
    mail["Subject"] = message.subject
    mail["Date"] = format_datetime(message.created_at)
    mail["Message-ID"] = message_id_header(message, from_address)
    mail.set_content(message.text)
    if message.html is not None:
        mail.add_alternative(message.html, subtype="html")
    if message.ics is not None:
        # Calendar clients act on an invitation only with method=REQUEST on the part.
        mail.add_attachment(
            message.ics, subtype="calendar", filename="invite.ics", params={"method": "REQUEST"}
        )
    return mail


def build_sms_file(message: Message) -> str:
    """The text of an SMS as the file transport stores it."""
    return f"To: {message.to}\n\n{message.text}"


def email_bytes(message: Message, from_address: str) -> bytes:
    """``build_email`` flattened once, in SMTP's canonical form (CRLF line ends).

    Both transports use these bytes: the ``.eml`` file is byte for byte what SMTP sends,
    and SMTP sends it without flattening and re-parsing the message a second time.
    """
    return build_email(message, from_address).as_bytes(policy=policy.SMTP)


def envelope_sender(from_address: str) -> str:
    """The bare address of a From header such as ``Practice <p@example.org>``."""
    return parseaddr(from_address)[1] or from_address
