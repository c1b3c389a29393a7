"""Invitations and the links staff make: sent, a day's, copied, quick, guest, website."""

from __future__ import annotations

from typing import Literal

import msgspec

from tlh.domain.links import JoinLink
from tlh.domain.messages import Message, MessageChannel
from tlh.domain.models import Appointment


class Invite(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /api/v1/invites``: ``to`` adds a missing address to the record first."""

    appointment_id: str
    channel: MessageChannel = MessageChannel.EMAIL
    to: str | None = None
    contact_id: str | None = None


class DayInvite(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /api/v1/invites/day``: every telehealth appointment of a local day."""

    date: str  # YYYY-MM-DD
    channel: MessageChannel = MessageChannel.EMAIL


class CopyLink(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /api/v1/invites/link``: a join link to copy (the first client's, or a
    contact's)."""

    appointment_id: str
    contact_id: str | None = None


class QuickSession(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /api/v1/invites/quick``: an unscheduled session now, its link sent or copied."""

    client_id: str
    clinician: str | None = None
    channel: Literal["copy", "email", "sms"] = "copy"
    to: str | None = None


class GuestLink(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /api/v1/invites/guest``: an invite-others link into a clinician's room."""

    clinician: str | None = None


class Sent(msgspec.Struct, frozen=True, kw_only=True):
    """Links made and messages queued by an invitation or a link resend."""

    links: list[JoinLink] = msgspec.field(default_factory=list)
    messages: list[Message] = msgspec.field(default_factory=list)


class Skipped(msgspec.Struct, frozen=True, kw_only=True):
    """An appointment a day's invitations left out, and why (ids only)."""

    appointment_id: str
    reason: str


class DayInvites(msgspec.Struct, frozen=True, kw_only=True):
    """What ``POST /api/v1/invites/day`` did: appointments invited, skipped, messages queued."""

    sent: int
    skipped: list[Skipped] = msgspec.field(default_factory=list)
    messages: int = 0


class LinkUrl(msgspec.Struct, frozen=True, kw_only=True):
    """A new link and its URL (``https://HOST/j#TOKEN``, shown once)."""

    link: JoinLink
    url: str


class QuickInvite(msgspec.Struct, frozen=True, kw_only=True):
    """An unscheduled session made now, its link and the link's URL (to copy; empty when
    the link was sent by email or SMS: its token is made when the message leaves and is
    shown to no one)."""

    appointment: Appointment
    link: JoinLink
    url: str


class WebsiteSnippet(msgspec.Struct, frozen=True, kw_only=True):
    """HTML for the practice's website that opens a clinician's waiting room."""

    html: str
