"""Records of live visits that outlive a restart of the server.

A restart (a deploy, a crash, kill -9) must lose nobody: the client pages' link sessions,
the clinicians' call-page sessions and the waiting-room entries are kept in the store, so
pages that reconnect find their cookie, their entry and their place again. They hold ids,
times and hashes only: a cookie's value is never stored, only its SHA-256 (as tokens are).
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from tlh.domain.models import Role
from tlh.domain.rooms import RoomEntry


class LinkSession(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A redeemed link's cookie session (``__Host-tlh_link``)."""

    id: str  # "lss_..."
    #: SHA-256 hex of the cookie's value (256 random bits).
    hash: str
    link_id: str
    created_at: datetime
    expires_at: datetime
    #: When this session passed the identity check (when the practice asks for one).
    verified_at: datetime | None = None


class StaffPageSession(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A clinician's call-page cookie session (``__Host-tlh_staff``).

    Its idle clock is kept in memory only (a write per request would be too many); a
    restored session counts its idle time from the restart.
    """

    id: str  # "sps_..."
    #: SHA-256 hex of the cookie's value (256 random bits).
    hash: str
    staff_id: str
    #: SHA-256 of the staff API token that asked for the sign-in (it ends with it).
    token_hash: str
    #: The role the staff member had then (a role change ends the sign-in).
    role: Role
    appointment_id: str | None = None
    created_at: datetime


class KeptMessage(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A staff message to a waiting page, replayed when the page reconnects."""

    text: str
    at: datetime


class RoomRecord(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A live waiting-room entry as kept: what must survive a restart.

    Presence (online, when the socket dropped, reconnect counts) is not written on every
    blip: a restored entry is offline from the restart and keeps its place for the
    reconnect grace counted from then.
    """

    id: str  # the entry's id
    entry: RoomEntry
    #: The session segment whose call the entry was let into, if any.
    segment_id: str | None = None
    messages: tuple[KeptMessage, ...] = ()
    #: The server whose page socket the entry was on (several servers on one store;
    #: ``None``: one server): a server starting while that one lives leaves it there.
    server_id: str | None = None


class PortalSession(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A client portal cookie session (``__Host-tlh_portal``, issue 13).

    It names who signed in (ids only): the client whose address it was, and the portal
    contacts (caregivers) with that address. What they may act for is worked out again
    on each request, so revoking access takes effect at once.
    """

    id: str  # "pts_..."
    #: SHA-256 hex of the cookie's value (256 random bits).
    hash: str
    client_id: str | None = None
    contact_ids: tuple[str, ...] = ()
    #: The client of each of ``contact_ids`` (same order).
    contact_client_ids: tuple[str, ...] = ()
    #: Other clients whose own address it is too (a family sharing one address).
    also_client_ids: tuple[str, ...] = ()
    created_at: datetime


class PortalSeen(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """When a person (a client id or a contact id) last signed in to the portal."""

    id: str  # the client's or the contact's id
    at: datetime
