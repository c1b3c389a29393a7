"""Join and consent links: who a token admits, to what, and when.

Only the SHA-256 of a token is stored. A join link is valid from the join window's
opening to the appointment's end plus a grace period (room links: from creation for
``room_link_hours``); a consent link from creation for ``consent_link_days``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import msgspec


class LinkPurpose(StrEnum):
    JOIN = "join"  # enter an appointment's (or a room's) waiting room
    CONSENT = "consent"  # read and sign the consent form


class ParticipantKind(StrEnum):
    CLIENT = "client"
    CONTACT = "contact"  # a caregiver of the client
    GUEST = "guest"  # an invite-others / website / quick guest


class Channel(StrEnum):
    """How a link reached its holder (kept for reports)."""

    EMAIL = "email"
    SMS = "sms"
    COPY = "copy"
    QUICK = "quick"
    GUEST = "guest"
    WEBSITE = "website"


class JoinLink(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    token_hash: str
    purpose: LinkPurpose
    participant: ParticipantKind
    client_id: str | None = None
    contact_id: str | None = None
    #: The appointment it joins, or None for a clinician's room (guest/website/quick).
    appointment_id: str | None = None
    #: The clinician whose room it enters (room links), else the appointment's first.
    clinician_id: str | None = None
    channel: Channel
    created_at: datetime
    created_by: str  # staff id or "system"
    valid_from: datetime
    valid_until: datetime
    revoked_at: datetime | None = None
    #: Reusable links (website snippet) admit many guests; others one participant.
    reusable: bool = False


class RedeemState(StrEnum):
    OK = "ok"
    EARLY = "early"  # genuine, but its window has not opened: say when
    INVALID = "invalid"  # unknown, expired, revoked, cancelled: one answer for all


class Redeemable(msgspec.Struct, frozen=True, kw_only=True):
    state: RedeemState
    opens_at: datetime | None = None


def join_link_validity(
    appt_start: datetime, appt_end: datetime, policy: object
) -> tuple[datetime, datetime]:
    """[valid_from, valid_until) of a join link: the join window's opening to the end
    plus ``policy.link_grace_min``."""
    raise NotImplementedError


def check_redeemable(link: JoinLink, appt: object | None, now: datetime) -> Redeemable:
    """Whether ``link`` admits its holder at ``now``: INVALID if revoked, expired, or its
    appointment is cancelled/late-cancelled/missing; EARLY (with ``opens_at``) before
    ``valid_from``; else OK."""
    raise NotImplementedError
