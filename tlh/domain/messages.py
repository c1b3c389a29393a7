"""Outgoing messages: the durable outbox record and its retry schedule."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import StrEnum

import msgspec


class MessageKind(StrEnum):
    INVITATION = "invitation"
    CONSENT_REQUEST = "consent_request"
    REMINDER_24H = "reminder_24h"
    REMINDER_SOON = "reminder_soon"
    CANCELLATION = "cancellation"
    RESCHEDULE = "reschedule"
    #: The one-time code of the identity check (issue 4).
    IDENTITY_CODE = "identity_code"
    #: A video appointment turned into an in-person one: the join link no longer works.
    IN_PERSON = "in_person"
    #: The client portal's sign-in code, and an invitation to sign in (issue 13).
    PORTAL_CODE = "portal_code"
    PORTAL_INVITE = "portal_invite"


class MessageChannel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


class MessageStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"  # handed to a transport; a crash here is never retried blindly
    SENT = "sent"
    FAILED = "failed"
    #: Recorded, never sent: held back on purpose (an import with ``--no-notify`` of a
    #: visit whose reminder was already due), so the reminder clock counts it as done.
    SKIPPED = "skipped"


class Message(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: str
    #: One logical message, one key: the outbox refuses a second message with it.
    idempotency_key: str
    kind: MessageKind
    channel: MessageChannel
    to: str  # email address or E.164 number (PHI: never logged)
    subject: str = ""
    text: str
    html: str | None = None
    ics: str | None = None
    status: MessageStatus = MessageStatus.QUEUED
    attempts: int = 0
    next_attempt_at: datetime
    last_error: str = ""
    provider_id: str = ""
    created_at: datetime
    sent_at: datetime | None = None
    appointment_id: str | None = None
    client_id: str | None = None
    link_id: str | None = None
    #: One-tap confirm/cancel links it carries (``tlh.domain.action_links``): their
    #: tokens too are made when it is sent.
    action_link_ids: tuple[str, ...] = ()
    #: The one-time code entry (``tlh.services.one_time_codes``) whose code goes where
    #: ``CODE_PLACEHOLDER`` stands: the code is made when the message is sent.
    code_id: str | None = None


#: After this many failed attempts a message is marked failed (about 2 hours of retries).
MAX_ATTEMPTS = 12


#: The first retry waits this long; each further failure doubles it ... Short, because
#: most outages are a mail server restarting: a 10 s outage cost 23 s of delay at 30 s.
RETRY_BASE = timedelta(seconds=5)
#: ... up to this ceiling, so a long outage is still probed twice an hour.
RETRY_CAP = timedelta(minutes=30)


def next_attempt_at(attempts: int, now: datetime) -> datetime:
    """When to try again after ``attempts`` failures: 5 s doubling, capped at 30 min.

    1 failure → now + 5 s, 2 → 10 s, 3 → 20 s, … never more than 30 min; ``attempts``
    below 1 is treated as 1.
    """
    exponent = max(attempts, 1) - 1
    # Cap the exponent first: 2**attempts for a huge count would overflow timedelta.
    if exponent >= 16:
        return now + RETRY_CAP
    delay: timedelta = min(RETRY_BASE * (1 << exponent), RETRY_CAP)
    return now + delay


#: Stands in a stored message where its link's token goes. The token is made when the
#: message is handed to a transport (its hash stored then, the token never), so neither
#: the outbox, the journal, a backup nor ``GET /outbox`` holds a live link. Exactly as
#: long as a token (43 URL-safe characters), so an .ics line folds at the same places.
TOKEN_PLACEHOLDER = "the-link-token-is-made-when-sent-not-stored"

# The placeholder as it may stand in an .ics: folded (CRLF + one space or tab) anywhere.
_FOLDED = re.compile("(?:\r\n[ \t])?".join(re.escape(ch) for ch in TOKEN_PLACEHOLDER))


def carries_token(message: Message) -> bool:
    """Whether ``message`` has a link whose token is made when it is sent."""
    return message.link_id is not None and any(
        TOKEN_PLACEHOLDER in part
        for part in (message.text, message.html or "", _unfold(message.ics or ""))
    )


def fill_token(message: Message, token: str) -> Message:
    """``message`` as it leaves: ``token`` where the placeholder stands (never stored)."""
    if len(token) != len(TOKEN_PLACEHOLDER):
        raise ValueError("a link token is 43 characters")
    ics = message.ics
    if ics is not None:
        ics = _FOLDED.sub(lambda found: _refill(found.group(0), token), ics)
    return msgspec.structs.replace(
        message,
        text=message.text.replace(TOKEN_PLACEHOLDER, token),
        html=message.html.replace(TOKEN_PLACEHOLDER, token) if message.html else message.html,
        ics=ics,
    )


def _unfold(ics: str) -> str:
    return ics.replace("\r\n ", "").replace("\r\n\t", "")


def _refill(folded: str, token: str) -> str:
    # Same length, same ASCII: each placeholder character gives way to the token's, and
    # the folds stay where they were.
    chars = iter(token)
    out = []
    i = 0
    while i < len(folded):
        if folded.startswith("\r\n", i):
            out.append(folded[i : i + 3])
            i += 3
        else:
            out.append(next(chars))
            i += 1
    return "".join(out)


#: Stands in a stored message where its one-time code goes (``Message.code_id``). The code
#: is made when the message is handed to a transport and never stored; as long as a code.
CODE_PLACEHOLDER = "{code}"


def fill_code(message: Message, code: str) -> Message:
    """``message`` as it leaves: ``code`` where the placeholder stands (never stored)."""
    if len(code) != len(CODE_PLACEHOLDER) or not code.isdigit():
        raise ValueError("a one-time code is 6 digits")
    html = message.html
    return msgspec.structs.replace(
        message,
        subject=message.subject.replace(CODE_PLACEHOLDER, code),
        text=message.text.replace(CODE_PLACEHOLDER, code),
        html=html.replace(CODE_PLACEHOLDER, code) if html else html,
    )
