"""Join and consent links: who a token admits, to what, and when.

Only the SHA-256 of a token is stored. A join link is valid from the join window's
opening to the appointment's end plus a grace period (room links: from creation for
``room_link_hours``); a consent link from creation for ``consent_link_days``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

import msgspec

from tlh.domain.models import Appointment, Modality, Policy, Status


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
    #: Minted when a signed-in client or caregiver presses Join on the portal (issue 13).
    PORTAL = "portal"


class JoinLink(msgspec.Struct, frozen=True, kw_only=True, gc=False):
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


#: Appointment statuses whose links no longer admit anyone.
DEAD_STATUSES: frozenset[Status] = frozenset(
    {Status.CANCELLED, Status.LATE_CANCELLED, Status.MISSED}
)


def join_link_validity(
    appt_start: datetime, appt_end: datetime, policy: Policy
) -> tuple[datetime, datetime]:
    """[valid_from, valid_until) of a join link: the join window's opening to the end
    plus ``policy.link_grace_min``."""
    opens = appt_start - timedelta(minutes=policy.window_opens_before_min)
    return opens, appt_end + timedelta(minutes=policy.link_grace_min)


#: How long "until revoked" is: a website join code outlives any practice's website.
UNTIL_REVOKED = timedelta(days=100 * 366)


def website_link_validity(created: datetime, policy: Policy) -> tuple[datetime, datetime]:
    """[valid_from, valid_until) of a practice-website join code: from its creation for
    ``policy.website_link_days``, or (0) until it is revoked."""
    days = policy.website_link_days
    return created, created + (timedelta(days=days) if days else UNTIL_REVOKED)


def room_link_validity(created: datetime, policy: Policy) -> tuple[datetime, datetime]:
    """[valid_from, valid_until) of a room link (guest, quick, website): from its creation
    for ``policy.room_link_hours``."""
    return created, created + timedelta(hours=policy.room_link_hours)


def consent_link_validity(created: datetime, policy: Policy) -> tuple[datetime, datetime]:
    """[valid_from, valid_until) of a consent-request link: from its creation for
    ``policy.consent_link_days``."""
    return created, created + timedelta(days=policy.consent_link_days)


def check_redeemable(link: JoinLink, appt: Appointment | None, now: datetime) -> Redeemable:
    """Whether ``link`` admits its holder at ``now``: INVALID if revoked, expired, or its
    appointment is cancelled/late-cancelled/missed/missing or no longer by video (turned
    into an in-person visit: the call could never start); EARLY (with ``opens_at``)
    before ``valid_from``; else OK.

    ``appt`` is the appointment the link names (``None`` when the store has none); it is
    ignored for room and consent links, which name no appointment.
    """
    invalid = Redeemable(state=RedeemState.INVALID)
    if link.revoked_at is not None:
        return invalid
    if now >= link.valid_until:
        return invalid
    # A link for a vanished or dead appointment answers exactly like an unknown one.
    if link.appointment_id is not None and (
        appt is None
        or appt.id != link.appointment_id
        or appt.status in DEAD_STATUSES
        or appt.modality is not Modality.TELEHEALTH
    ):
        return invalid
    if now < link.valid_from:
        return Redeemable(state=RedeemState.EARLY, opens_at=link.valid_from)
    return Redeemable(state=RedeemState.OK)


#: Why a genuine link no longer admits its holder, as the page says it.
InvalidReason = Literal["cancelled", "moved", "revoked", "expired"]


def invalid_reason(
    link: JoinLink, appt: Appointment | None, now: datetime, policy: Policy
) -> InvalidReason | None:
    """Why a genuine link is INVALID (``None`` when it is not): its appointment was
    cancelled (or is gone), moved (the link was revoked and the appointment's join window
    is not the link's any more), the link was revoked otherwise (replaced by a newer one,
    or withdrawn), or it is simply old. Only for a holder of the real token: an unknown
    token is told nothing."""
    if check_redeemable(link, appt, now).state is not RedeemState.INVALID:
        return None
    if link.appointment_id is not None:
        if appt is None or appt.id != link.appointment_id or appt.status in DEAD_STATUSES:
            return "expired" if appt is not None and appt.status is Status.MISSED else "cancelled"
        if link.revoked_at is not None:
            opens, _ = join_link_validity(appt.start, appt.end, policy)
            return "moved" if opens != link.valid_from else "revoked"
    return "revoked" if link.revoked_at is not None else "expired"
