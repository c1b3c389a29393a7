"""One-tap confirm and cancel links: single-purpose tokens in the day-before reminder.

Each link does one thing (confirm or cancel) to one appointment for one recipient (the
client, or a contact reminded for them). Only the SHA-256 of its token is stored, and
only once the message carrying it is handed to a transport (as join links: the stored
message holds a placeholder). It expires at the appointment's start as it was when the
link was made: a link for a visit moved since is dead, like one past its time.

A GET of the page a link opens changes nothing (mail scanners and link previewers open
links); only the page's button, a POST, acts. What a genuine link refuses to do, and
why, is ``refusal``'s answer; an unknown token is told nothing.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import msgspec

from tlh.domain.messages import Message
from tlh.domain.models import Appointment, Status


class LinkAction(StrEnum):
    CONFIRM = "confirm"
    CANCEL = "cancel"


class ActionLink(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: str
    #: SHA-256 hex of the token; "" until the message carrying it is sent.
    token_hash: str
    action: LinkAction
    appointment_id: str
    client_id: str
    #: The contact (caregiver) it was sent to, else the client.
    contact_id: str | None = None
    created_at: datetime
    #: The appointment's start when the link was made: it expires then.
    valid_until: datetime
    #: When its button was pressed (a link acts once).
    used_at: datetime | None = None


class Refusal(StrEnum):
    """Why a genuine link does nothing now (each has its page message and status)."""

    USED = "used"  # pressed before: a replay
    CANCELLED = "cancelled"  # the appointment was cancelled (or is gone)
    CONFIRMED = "confirmed"  # confirm: it is confirmed already
    MOVED = "moved"  # the appointment was moved since the link was made
    STARTED = "started"  # its start has come: the link expired
    CLOSED = "closed"  # checked in, marked missed or occurred: nothing to confirm or cancel


#: Statuses an appointment is called off with.
CALLED_OFF = frozenset({Status.CANCELLED, Status.LATE_CANCELLED})
#: Statuses a client may still confirm or cancel from.
OPEN = frozenset({Status.SCHEDULED, Status.CONFIRMED})


def appointment_refusal(
    appt: Appointment | None, action: LinkAction, now: datetime
) -> Refusal | None:
    """Why a client may not ``action`` the appointment at ``now`` (``None``: they may).
    Cancelled wins over started: a client is told what happened to their visit."""
    if appt is None or appt.status in CALLED_OFF:
        return Refusal.CANCELLED
    if now >= appt.start:
        return Refusal.STARTED
    if appt.status not in OPEN:
        return Refusal.CLOSED
    if action is LinkAction.CONFIRM and appt.status is Status.CONFIRMED:
        return Refusal.CONFIRMED
    return None


def refusal(link: ActionLink, appt: Appointment | None, now: datetime) -> Refusal | None:
    """Why ``link`` does nothing at ``now`` (``None``: its button acts). ``appt`` is the
    appointment it names, as stored (``None`` when there is none)."""
    if link.used_at is not None:
        return Refusal.USED
    if appt is None or appt.id != link.appointment_id:
        return Refusal.CANCELLED
    if appt.status not in CALLED_OFF and now < appt.start and appt.start != link.valid_until:
        return Refusal.MOVED
    if now >= link.valid_until and appt.status not in CALLED_OFF:
        return Refusal.STARTED
    return appointment_refusal(appt, link.action, now)


#: Stand in a stored message where each action link's token goes (made when it is sent,
#: like ``tlh.domain.messages.TOKEN_PLACEHOLDER``); 43 URL-safe characters, as a token.
PLACEHOLDERS: dict[LinkAction, str] = {
    LinkAction.CONFIRM: "the-confirm-token-is-made-when-it-is-sent-0",
    LinkAction.CANCEL: "the-cancel-token-is-made-when-it-is-sent-00",
}


def fill_action_tokens(message: Message, tokens: dict[LinkAction, str]) -> Message:
    """``message`` as it leaves: each action's token where its placeholder stands (never
    stored)."""
    text, html = message.text, message.html
    for action, token in tokens.items():
        text = text.replace(PLACEHOLDERS[action], token)
        html = html.replace(PLACEHOLDERS[action], token) if html else html
    return msgspec.structs.replace(message, text=text, html=html)


def action_url(base_url: str, token: str) -> str:
    """The link as its holder gets it: the token in the fragment, never in the path."""
    return f"{base_url.rstrip('/')}/a#{token}"
