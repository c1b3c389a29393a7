"""The client portal (``/p``, issue 13): sign-in by code, who is signed in, their
upcoming appointments and joining one. The page holds a cookie, never a token in a URL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from tlh.domain.messages import MessageChannel
from tlh.domain.models import Modality, Status

#: Longest address a person types (an email address is at most 254 characters).
Address = Annotated[str, msgspec.Meta(min_length=1, max_length=320)]


class CodeRequest(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /api/v1/portal/code``: send a sign-in code to this email or mobile number."""

    address: Address


class CodeRequested(msgspec.Struct, frozen=True, kw_only=True):
    """The one answer to every code request (it never says whether the address is known)."""

    message: str
    #: Minutes a code works.
    valid_min: int


class SignIn(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /api/v1/portal/sign-in``: the address and the code sent to it."""

    address: Address
    code: Annotated[str, msgspec.Meta(max_length=20)]


class SignOut(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /api/v1/portal/sign-out``; ``everywhere`` ends every session of the person."""

    everywhere: bool = False


class PortalClient(msgspec.Struct, frozen=True, kw_only=True):
    """A client the signed-in person acts for (themselves, or someone they care for)."""

    id: str
    name: str
    #: ``self``: the signed-in client; ``contact``: they are this client's contact.
    relation: Literal["self", "contact"]


class PortalMe(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /api/v1/portal/me``: who is signed in and what the page needs to know."""

    kind: Literal["client", "contact"]
    clients: list[PortalClient]
    practice_name: str
    #: The practice's IANA zone (the page names it when the browser's differs).
    timezone: str
    #: Minutes before a start that the page shows its banner (0: none).
    notice_min: int
    contact_phone: str = ""
    contact_email: str = ""
    #: The language the page speaks ("es"): the signed-in client's, as the practice
    #: recorded it; for a caregiver, their clients' when those that have one agree (the
    #: language their messages come in). ``None``: the browser's preference.
    language: str | None = None


class PortalAppointment(msgspec.Struct, frozen=True, kw_only=True):
    """One upcoming appointment as the portal shows it (no notes, no other clients)."""

    id: str
    client_id: str
    start: datetime
    end: datetime
    clinician_name: str
    modality: Modality
    status: Status
    #: When Join becomes live, and until when (``None``: this visit cannot be joined).
    join_opens_at: datetime | None = None
    join_closes_at: datetime | None = None
    #: Why it cannot be joined by video, in a line, when it cannot.
    join_blocked: str | None = None
    # -- confirm and cancel from the portal (p-buttons) --
    #: Whether the page offers Confirm (scheduled, not started) and Cancel (scheduled
    #: or confirmed, not started).
    can_confirm: bool = False
    can_cancel: bool = False
    #: From when a cancellation counts as late (policy ``late_cancel_hours``), when it
    #: can be cancelled.
    late_cancel_from: datetime | None = None
    # -- self-scheduling on the portal (p-buttons) --
    #: The (first) clinician's id: a move is asked among their open slots.
    clinician_id: str | None = None
    #: Whether the page offers "Ask to move" (policy ``self_scheduling``, an upcoming
    #: scheduled or confirmed visit, no request waiting), and the start asked for when
    #: a request waits for staff.
    can_move: bool = False
    move_asked: datetime | None = None


class PortalJoin(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /api/v1/portal/join``: join this appointment."""

    appointment_id: Annotated[str, msgspec.Meta(max_length=100)]


class PortalJoinLink(msgspec.Struct, frozen=True, kw_only=True):
    """A fresh join link's token for the page to open as ``/j#TOKEN`` (in a body, never
    in a URL the server sees)."""

    token: str


# -- staff: who has portal access (``tlh portal invite|list|revoke``) ----------------


class PortalInvite(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /api/v1/portal/invite``: turn portal access on for a client (or one of their
    contacts) and send them a sign-in invitation; ``channel`` defaults to email, else text."""

    client_id: Annotated[str, msgspec.Meta(max_length=100)]
    contact_id: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    channel: MessageChannel | None = None


class PortalInvited(msgspec.Struct, frozen=True, kw_only=True):
    """The invitation queued: its message id and channel (never the address)."""

    message_id: str
    channel: MessageChannel


class PortalRevoke(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /api/v1/portal/revoke``: turn portal access off (a client, or one contact)
    and end their portal sessions."""

    client_id: Annotated[str, msgspec.Meta(max_length=100)]
    contact_id: Annotated[str, msgspec.Meta(max_length=100)] | None = None


class PortalRevoked(msgspec.Struct, frozen=True, kw_only=True):
    """Access is off; how many portal sessions ended."""

    sessions_ended: int


class PortalAccess(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """``GET /api/v1/portal/access``: one person who may sign in to the portal."""

    client_id: str
    name: str
    #: Set for a contact (caregiver) of ``client_id``.
    contact_id: str | None = None
    #: Which addresses are on file (the addresses themselves are not listed).
    email: bool = False
    sms: bool = False
    last_sign_in: datetime | None = None
    sessions: int = 0
