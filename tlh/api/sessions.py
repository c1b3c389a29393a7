"""Session segments, and the one-time links that sign the clinician's call page in."""

from __future__ import annotations

from datetime import datetime

import msgspec

from tlh.domain.models import Role
from tlh.domain.sessions import SessionSegment


class SessionStart(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /api/v1/sessions``: ``{"appointment_id"}`` or ``{"room": true,
    "clinician"?}`` (the room session: guests, quick visits)."""

    appointment_id: str | None = None
    room: bool = False
    clinician: str | None = None


class SessionStarted(msgspec.Struct, frozen=True, kw_only=True):
    """A session segment just opened, and the call-link to the clinician's page."""

    session: SessionSegment
    url: str


class CallLinkRequest(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /api/v1/call-links``: the page opens on this appointment, or the room."""

    appointment_id: str | None = None


class CallLink(msgspec.Struct, frozen=True, kw_only=True):
    """A one-time login link to the clinician's call page (``https://HOST/c#TOKEN``)."""

    url: str
    expires_at: datetime | None = None


class StaffLogin(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """``POST /api/v1/call-links/redeem``: who the call page is signed in as."""

    staff_id: str
    name: str
    role: Role
    idle_logoff_min: int
    appointment_id: str | None = None  # the page opens on it, else the clinician's room
