"""Waiting rooms: who is waiting for which clinician, and what may happen to them.

One room per clinician (plus the practice's shared queue, ``clinician_id=None``).
An entry moves waiting → admitted → in_session → left, or ends denied / expired.
Waiting clients never see each other; the rules here are pure (``now`` is passed in)
and the live state is kept by ``tlh.services.waiting``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import msgspec
from msgspec.structs import replace

from tlh.domain.links import Channel, ParticipantKind
from tlh.domain.locations import ClientLocation
from tlh.domain.models import Policy, Staff
from tlh.errors import Conflict, InvalidInput, InvalidTransition


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
#: States of an entry let into the call (its media may still be connecting).
IN_CALL: frozenset[EntryState] = frozenset({EntryState.ADMITTED, EntryState.IN_SESSION})


class Presence(StrEnum):
    """What a clinician shows waiting clients."""

    ONLINE = "online"
    LATE = "late"  # running late
    BUSY = "busy"  # on another call
    OFFLINE = "offline"


#: What staff may set their presence to (``offline`` is not theirs to claim).
CHOSEN_PRESENCES = (Presence.ONLINE, Presence.LATE, Presence.BUSY)


def chosen_presence(value: object) -> Presence:
    """The presence a clinician sets (``InvalidInput`` for any other value)."""
    if value not in CHOSEN_PRESENCES:
        raise InvalidInput("presence is online, late or busy")
    return Presence(str(value))


#: What the page's device check may say of each device.
DEVICE_RESULTS = frozenset({"ok", "denied", "missing", "skipped"})


class DeviceCheck(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The client page's device check: ``ok``, ``denied``, ``missing`` or ``skipped``."""

    camera: str
    microphone: str
    speaker: str = "skipped"
    at: datetime


def device_check(reported: Mapping[str, object], now: datetime) -> DeviceCheck:
    """The device check a page reported (a device it leaves out was ``skipped``;
    ``InvalidInput`` for any other value)."""
    values = {k: reported.get(k, "skipped") for k in ("camera", "microphone", "speaker")}
    if not all(isinstance(v, str) and v in DEVICE_RESULTS for v in values.values()):
        raise InvalidInput("device check values are ok, denied, missing or skipped")
    return DeviceCheck(**{k: str(v) for k, v in values.items()}, at=now)


class ConnectionTest(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The connection test's result (media issue): good / fair / poor with figures."""

    verdict: str
    rtt_ms: float | None = None
    jitter_ms: float | None = None
    loss_pct: float | None = None
    bitrate_kbps: float | None = None
    at: datetime


class Reply(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A waiting person's answer to the clinician's message (at most 300 characters)."""

    text: str
    at: datetime


class RoomEntry(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One person in a waiting room (kept in the store while live: see
    ``tlh.domain.live_records.RoomRecord``; sessions keep the history)."""

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
    #: When staff let the entry in (kept while its media connects: the call's clock).
    admitted_at: datetime | None = None
    device_check: DeviceCheck | None = None
    connection_test: ConnectionTest | None = None
    #: When staff sent the entry back from the call: returned entries wait first in line.
    returned_at: datetime | None = None
    #: What staff said when they sent the person away (shown on their page with it).
    parting_message: str | None = None
    #: When the appointment the entry is for starts (``None`` for a room link): the line
    #: is ordered by who is due, and someone early is told so.
    due_at: datetime | None = None
    #: The person's answers to the clinician's messages (the latest few).
    replies: tuple[Reply, ...] = ()
    #: Where the person said they are (policy ``ask_location``): staff only.
    location: ClientLocation | None = None


# --- Rules (pure: the live state in tlh.services.waiting applies them) -------------------


class AlreadyAdmitted(Conflict):
    """Someone admitted the entry first; ``by`` is their staff id (the service names
    them in the message)."""

    code = "already_admitted"

    def __init__(self, message: str, by: str | None = None) -> None:
        super().__init__(message)
        self.by = by


class SecondDevice(Conflict):
    code = "second_device"


class ArrivalKind(StrEnum):
    NEW = "new"
    RECONNECT = "reconnect"  # same link and device within the grace period
    #: Same link from another device while the one before is offline (a phone that lost
    #: its network, then the laptop): the newer device takes its place.
    TAKEOVER = "takeover"
    SECOND_DEVICE = "second_device"  # same link from another device while one is online


class Arrival(msgspec.Struct, frozen=True, kw_only=True):
    kind: ArrivalKind
    #: The entry to resume (reconnect).
    entry: RoomEntry | None = None


def within_grace(entry: RoomEntry, now: datetime, grace_s: float) -> bool:
    """Whether a live entry still holds its place (online, or offline for < grace)."""
    if entry.state not in LIVE_STATES:
        return False
    if entry.online or entry.disconnected_at is None:
        return True
    return now - entry.disconnected_at < timedelta(seconds=grace_s)


def arrival(
    of_link: Iterable[RoomEntry],
    device_id: str,
    now: datetime,
    grace_s: float,
    *,
    reusable: bool = False,
) -> Arrival:
    """What a ``hello`` on a link means, given that link's entries.

    A reusable link (the practice website) is many visitors, so another device is simply
    another person, never a second device.
    """
    held = sorted(
        (e for e in of_link if within_grace(e, now, grace_s)),
        key=lambda e: e.arrived_at,
        reverse=True,
    )
    for entry in held:
        if entry.device_id == device_id:
            return Arrival(kind=ArrivalKind.RECONNECT, entry=entry)
    if held and not reusable:
        if not any(e.online for e in held):
            return Arrival(kind=ArrivalKind.TAKEOVER, entry=held[0])
        return Arrival(kind=ArrivalKind.SECOND_DEVICE)
    return Arrival(kind=ArrivalKind.NEW)


def take_over(entry: RoomEntry, device_id: str, now: datetime) -> RoomEntry:
    """The entry, now on the device that took its place (online, in its old place)."""
    return replace(
        entry,
        device_id=device_id,
        online=True,
        disconnected_at=None,
        reconnects=entry.reconnects + 1,
        second_device=False,
    )


def successor(entry: RoomEntry, of_link: Iterable[RoomEntry]) -> RoomEntry | None:
    """The second device waiting on ``entry``'s link that takes its place now that
    ``entry``'s own device is gone: in its place in line, no longer needing approval."""
    waiting = [
        e
        for e in of_link
        if e.id != entry.id and e.second_device and e.online and e.state is EntryState.WAITING
    ]
    if not waiting:
        return None
    newest = max(waiting, key=lambda e: e.arrived_at)
    return replace(
        newest, second_device=False, arrived_at=entry.arrived_at, returned_at=entry.returned_at
    )


def reconnect(entry: RoomEntry, now: datetime) -> RoomEntry:
    """The entry back online in its old place."""
    return replace(entry, online=True, disconnected_at=None, reconnects=entry.reconnects + 1)


def disconnect(entry: RoomEntry, now: datetime) -> RoomEntry:
    """The socket dropped: the entry keeps its place for the grace period."""
    if not entry.online:
        return entry
    return replace(entry, online=False, disconnected_at=now)


def is_expired(entry: RoomEntry, now: datetime, grace_s: float) -> bool:
    """A live, offline entry whose grace period has run out."""
    return entry.state in LIVE_STATES and not within_grace(entry, now, grace_s)


def grace_left(entry: RoomEntry, now: datetime, grace_s: float) -> float:
    """Seconds an offline entry still holds its place (all of them while online)."""
    if entry.online or entry.disconnected_at is None:
        return grace_s
    return grace_s - (now - entry.disconnected_at).total_seconds()


def _live(entry: RoomEntry, action: str) -> None:
    if entry.state not in LIVE_STATES:
        raise InvalidTransition(f"entry {entry.id} cannot be {action}: it is {entry.state}")


def _moved(entry: RoomEntry, state: EntryState, now: datetime, **changes: Any) -> RoomEntry:
    return replace(entry, state=state, state_since=now, **changes)


def admit(
    entry: RoomEntry, by: str, now: datetime, *, approve_second_device: bool = False
) -> RoomEntry:
    """Let a waiting entry in; a second admit fails naming the first admitter."""
    if entry.state in IN_CALL:
        raise AlreadyAdmitted(f"entry {entry.id} is already admitted", by=entry.admitted_by)
    _live(entry, "admitted")
    if entry.second_device and not approve_second_device:
        raise SecondDevice(f"entry {entry.id} is a second device; approve it to admit")
    return _moved(
        entry, EntryState.ADMITTED, now, admitted_by=by, admitted_at=now, second_device=False
    )


def deny(entry: RoomEntry, now: datetime, message: str | None = None) -> RoomEntry:
    """Sent away by staff (from the line or the call), with their words if any."""
    _live(entry, "denied")
    return _moved(entry, EntryState.DENIED, now, parting_message=message or None)


def send_back(entry: RoomEntry, now: datetime) -> RoomEntry:
    """Back to waiting from the call, first in line."""
    if entry.state in IN_CALL:
        return _moved(
            entry, EntryState.WAITING, now, admitted_by=None, admitted_at=None, returned_at=now
        )
    raise InvalidTransition(f"entry {entry.id} is not in a call")


def leave(entry: RoomEntry, now: datetime) -> RoomEntry:
    """Gone: the page left, its link was revoked, or its session ended."""
    _live(entry, "left")
    return _moved(entry, EntryState.LEFT, now, online=False)


def expire(entry: RoomEntry, now: datetime) -> RoomEntry:
    """Offline past the grace period."""
    _live(entry, "expired")
    return _moved(entry, EntryState.EXPIRED, now, online=False)


def transfer(entry: RoomEntry, to_clinician: str, now: datetime) -> RoomEntry:
    """Waiting in another clinician's room: from the line keeping its arrival time; from
    the call (it leaves it), first in the new room's line."""
    if entry.clinician_id == to_clinician:
        raise InvalidTransition(f"entry {entry.id} is already in that room")
    if entry.state in IN_CALL:
        return _moved(
            entry,
            EntryState.WAITING,
            now,
            clinician_id=to_clinician,
            admitted_by=None,
            admitted_at=None,
            returned_at=now,
        )
    if entry.state is not EntryState.WAITING:
        raise InvalidTransition(
            f"entry {entry.id} can only be transferred while waiting or in the call"
        )
    return replace(entry, clinician_id=to_clinician, state_since=now, returned_at=None)


def media_connected(entry: RoomEntry, now: datetime) -> RoomEntry:
    """The page reports its media connected: admitted → in session."""
    if entry.state is EntryState.ADMITTED:
        return _moved(entry, EntryState.IN_SESSION, now)
    return entry


def line_order(entry: RoomEntry) -> tuple[int, datetime, datetime]:
    """Sort key of the line: entries sent back first, then by who is due: an arrival
    counts from its appointment's start when it came early (50 minutes early for a later
    visit does not stand before the person due now), else from when it came."""
    if entry.returned_at is not None:
        return (0, entry.returned_at, entry.arrived_at)
    due = entry.due_at
    turn = max(entry.arrived_at, due) if due is not None else entry.arrived_at
    return (1, turn, entry.arrived_at)


#: Someone this much before their own start is early (told so, flagged for staff).
EARLY_BY = timedelta(minutes=10)


def is_early(entry: RoomEntry, now: datetime) -> bool:
    """Waiting more than ``EARLY_BY`` before the start of their own appointment."""
    return (
        entry.state is EntryState.WAITING
        and entry.due_at is not None
        and now < entry.due_at - EARLY_BY
    )


def in_line(entries: Iterable[RoomEntry]) -> list[RoomEntry]:
    """The waiting entries of one room in the order they will be seen."""
    return sorted((e for e in entries if e.state is EntryState.WAITING), key=line_order)


def admissible(entries: Iterable[RoomEntry]) -> list[RoomEntry]:
    """The line staff admit from in order: second devices wait for their own approval."""
    return [e for e in in_line(entries) if not e.second_device]


def position(entries: Iterable[RoomEntry], entry_id: str) -> int | None:
    """1-based place in line, or ``None`` when the entry is not waiting."""
    return positions(entries).get(entry_id)


def positions(entries: Iterable[RoomEntry]) -> dict[str, int]:
    """Every waiting entry's 1-based place in line, by entry id (one sort for a room)."""
    return {entry.id: n for n, entry in enumerate(in_line(entries), start=1)}


def expected_wait_min(
    place: int | None, average_visit_min: float | None, *, clinician_busy: bool
) -> int | None:
    """Minutes until seen: everyone ahead takes an average visit, and a visit under way
    is taken as half done. ``None`` when the room has no visit history yet."""
    if place is None or average_visit_min is None or average_visit_min <= 0:
        return None
    ahead = place - 1 + (0.5 if clinician_busy else 0.0)
    return math.ceil(ahead * average_visit_min)


def waiting_room_on(staff: Staff | None, policy: Policy) -> bool:
    """The clinician's own setting, else the practice's default."""
    if staff is not None and staff.waiting_room is not None:
        return staff.waiting_room
    return policy.waiting_room_default


def auto_admits(entry: RoomEntry, *, waiting_room: bool, session_open: bool) -> bool:
    """Whether an entry goes straight in: waiting room off and a session open.
    Second-device entries always wait for approval."""
    return (
        not waiting_room
        and session_open
        and entry.state is EntryState.WAITING
        and not entry.second_device
    )
