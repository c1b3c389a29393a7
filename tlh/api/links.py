"""The client's side of a link: redeeming it, what comes next, the identity check.

No staff token here: the page holds the link token (from the URL fragment) and the
cookie it is traded for. Optional answer fields are left out when unset.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from tlh.domain.links import LinkPurpose, ParticipantKind, RedeemState
from tlh.domain.messages import MessageChannel
from tlh.domain.models import IdentityCheck

#: Where the page goes next.
#: ``portal``: the practice requires portal sign-in first (``portal_required``, issue 13).
NextStep = Literal["identity", "consent", "waiting", "portal"]


class Redeem(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /api/v1/link/redeem`` and ``/api/v1/call-links/redeem``: a one-time token."""

    token: str


class LinkRedeemed(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What the page needs to show for a redeemed link (no names, no notes)."""

    purpose: LinkPurpose
    state: RedeemState
    practice_name: str
    timezone: str
    next: NextStep
    opens_at: datetime | None = None  # an early link: when its window opens
    starts_at: datetime | None = None
    starts_local: str | None = None  # "Monday 02 March, 14:00" in the practice's zone
    #: The client's language ("es"), when the practice recorded one: the page speaks it.
    language: str | None = None
    #: With ``next: "portal"``: the appointment the portal joins once signed in.
    appointment_id: str | None = None


class LinkState(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """``GET /api/v1/link/state``: the next step and what the call needs."""

    next: NextStep
    identity: IdentityCheck
    participant: ParticipantKind
    practice_name: str
    clinician_name: str
    ice_servers: list[dict[str, Any]]
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    opens_at: datetime | None = None
    #: How to reach the practice (the policy's; left out when unset).
    contact_phone: str = ""
    contact_email: str = ""
    #: The page asks where the person is before the waiting room (policy
    #: ``ask_location``; true until they have said, for this visit).
    ask_location: bool = False


class IdentityAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /api/v1/link/identity``: a date of birth or the code that was sent."""

    dob: date | UnsetType = UNSET
    code: str = ""


class CodeRequest(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /api/v1/link/identity/code``: where to send a fresh one-time code."""

    channel: MessageChannel


# --- the client's location at session start (policy ``ask_location``) -----------------


class LocationGiven(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /api/v1/link/location``: where the person is now, and a phone number to
    reach them there (the server trims, checks and normalises both)."""

    place: Annotated[str, msgspec.Meta(max_length=1000)]
    phone: Annotated[str, msgspec.Meta(max_length=100)]


class LocationShown(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /api/v1/link/location``: the last location this person gave (to fill the
    form), and whether this visit still needs one."""

    required: bool
    place: str = ""
    phone: str = ""
