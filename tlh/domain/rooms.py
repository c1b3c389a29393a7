"""Waiting rooms: who is waiting for which clinician, and what may happen to them.

One room per clinician (plus the practice's shared queue, ``clinician_id=None``).
An entry moves waiting → admitted → in_session → left, or ends denied / expired.
Waiting clients never see each other; the rules here are pure (``now`` is passed in)
and the live state is kept by ``tlh.services.waiting``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import msgspec

from tlh.domain.links import Channel, ParticipantKind


class EntryState(StrEnum):
    WAITING = "waiting"
    ADMITTED = "admitted"  # let in; the page is setting up the call
    IN_SESSION = "in_session"  # the page reports its media connected
    LEFT = "left"
    DENIED = "denied"
    EXPIRED = "expired"  # disconnected longer than the grace period


#: States an entry can still leave; the others are final.
LIVE_STATES: frozenset[EntryState] = frozenset(
    {EntryState.WAITING, EntryState.ADMITTED, EntryState.IN_SESSION}
)


class Presence(StrEnum):
    """What a clinician shows waiting clients."""

    ONLINE = "online"
    LATE = "late"  # running late
    BUSY = "busy"  # on another call
    OFFLINE = "offline"


class DeviceCheck(msgspec.Struct, frozen=True, kw_only=True):
    """The client page's device check: ``ok``, ``denied``, ``missing`` or ``skipped``."""

    camera: str
    microphone: str
    speaker: str = "skipped"
    at: datetime


class ConnectionTest(msgspec.Struct, frozen=True, kw_only=True):
    """The connection test's result (media issue): good / fair / poor with figures."""

    verdict: str
    rtt_ms: float | None = None
    jitter_ms: float | None = None
    loss_pct: float | None = None
    bitrate_kbps: float | None = None
    at: datetime


class RoomEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One person in a waiting room (kept in memory; sessions keep the history)."""

    id: str  # "ent_..."; also the person's peer id in the call
    #: The room: a clinician's staff id, or ``None`` for the practice's shared queue.
    clinician_id: str | None
    link_id: str
    participant: ParticipantKind
    client_id: str | None = None
    contact_id: str | None = None
    appointment_id: str | None = None
    #: A guest's typed name (clients are named by staff from their record).
    display_name: str = ""
    channel: Channel
    state: EntryState = EntryState.WAITING
    arrived_at: datetime
    state_since: datetime
    #: Random id the page keeps per browser (localStorage): tells reconnects from a
    #: second device.
    device_id: str
    online: bool = True
    disconnected_at: datetime | None = None
    #: The same link opened on another device while this one is live: needs approval.
    second_device: bool = False
    reconnects: int = 0
    admitted_by: str | None = None  # staff id
    device_check: DeviceCheck | None = None
    connection_test: ConnectionTest | None = None
