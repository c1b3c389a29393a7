"""The live waiting rooms' data: every entry, the call each admitted one is in, and each
clinician's presence.

Kept in memory (a restart empties the rooms; the session segments in the store keep the
history). Plain data operations only: no I/O, no clock, no sockets, no events; the rules
that decide what may change are ``tlh.domain.rooms``, and the collaborators composed in
``tlh.services.waiting.Rooms`` apply them here.
"""

from __future__ import annotations

from tlh.domain import rooms as rules
from tlh.domain.rooms import Presence, RoomEntry
from tlh.errors import NotFound


class RoomState:
    """Every clinician's room and the practice's shared queue (``clinician_id=None``)."""

    def __init__(self) -> None:
        self._entries: dict[str, RoomEntry] = {}
        #: Entry ids by room and by link: a hello or a room's line reads its own
        #: entries, not every entry of the practice (10,000 waiting would cost each
        #: hello several full scans).
        #: (Dicts, not sets: a room keeps its arrival order for equal arrival times.)
        self._rooms: dict[str | None, dict[str, None]] = {}
        self._links: dict[str, dict[str, None]] = {}
        #: The session segment each admitted entry's call is, by entry id.
        self._calls: dict[str, str] = {}
        self._presence: dict[str, Presence] = {}
        #: Clinicians with a dashboard, room watch or call page open.
        self._connected: set[str] = set()
        #: Replicas: entries another server owns (their socket is there), by entry id,
        #: with that server's id. Listed and counted in places like the others; staff
        #: commands on them are forwarded to the owner (``tlh.services.room_link``).
        self._owners: dict[str, str] = {}
        #: Clinicians with a page open on another server: the servers, by clinician.
        self._connected_elsewhere: dict[str, set[str]] = {}

    # --- reading -------------------------------------------------------------------------

    def get(self, entry_id: str) -> RoomEntry | None:
        return self._entries.get(entry_id)

    def entry(self, entry_id: str) -> RoomEntry:
        """The live entry (``NotFound`` when there is none)."""
        found = self._entries.get(entry_id)
        if found is None:
            raise NotFound(f"no live room entry {entry_id}")
        return found

    def current(self, entry: RoomEntry) -> RoomEntry:
        """The entry as it is now, or as given when it has ended meanwhile."""
        return self._entries.get(entry.id, entry)

    def entries(self) -> list[RoomEntry]:
        """Every live entry this server owns, of every room (a copy: the caller may
        change the state); replicas of other servers' entries are not among them."""
        if not self._owners:
            return list(self._entries.values())
        return [e for i, e in self._entries.items() if i not in self._owners]

    def owner_of(self, entry_id: str) -> str | None:
        """The id of the server owning a replica; ``None`` for an entry of this one's
        (or none at all)."""
        return self._owners.get(entry_id)

    def replicas(self, owner: str | None = None) -> list[str]:
        """Ids of the replicas (of one server's entries, if ``owner`` is given)."""
        return [i for i, o in self._owners.items() if owner is None or o == owner]

    def of_link(self, link_id: str) -> list[RoomEntry]:
        """The live entries opened with one link (a reusable link has many)."""
        return [self._entries[i] for i in self._links.get(link_id, ())]

    def live(self, clinician_id: str | None) -> list[RoomEntry]:
        """A room's live entries (``None``: the shared queue), oldest first."""
        found = [self._entries[i] for i in self._rooms.get(clinician_id, ())]
        return sorted(found, key=lambda e: e.arrived_at)

    def clients_in(self, clinician_id: str) -> set[str]:
        """Ids of the clients with a live entry in a clinician's room (for scope)."""
        return {e.client_id for e in self.live(clinician_id) if e.client_id is not None}

    def positions(self, clinician_id: str | None) -> dict[str, int]:
        """Places in line of one room's waiting entries, by entry id."""
        return rules.positions(self.live(clinician_id))

    def presence_of(self, clinician_id: str | None) -> Presence:
        """What the clinician's waiting clients are told: what they chose while they have
        the dashboard or call page open; offline otherwise, unless they said they are
        running late (true whether or not a page is open)."""
        if clinician_id is None:
            return Presence.ONLINE
        chosen = self._presence.get(clinician_id, Presence.ONLINE)
        here = clinician_id in self._connected or clinician_id in self._connected_elsewhere
        if here or chosen is Presence.LATE:
            return chosen
        return Presence.OFFLINE

    def call_of(self, entry_id: str) -> str | None:
        """The session segment whose call the entry is in, if it was admitted."""
        return self._calls.get(entry_id)

    def in_call(self, segment_id: str) -> list[str]:
        """Ids of the entries in one segment's call, on any server (replicas too: a
        session is not empty while someone is in it on another server)."""
        return [e for e, s in self._calls.items() if s == segment_id]

    def own_in_call(self, segment_id: str) -> list[str]:
        """Ids of this server's entries in one segment's call (those it ends)."""
        return [e for e in self.in_call(segment_id) if e not in self._owners]

    # --- changing ------------------------------------------------------------------------

    def put(self, entry: RoomEntry) -> None:
        """Add an entry, or replace it with its new state."""
        old = self._entries.get(entry.id)
        if old is not None and (old.clinician_id, old.link_id) != (
            entry.clinician_id,
            entry.link_id,
        ):
            self._unindex(old)
        self._entries[entry.id] = entry
        self._rooms.setdefault(entry.clinician_id, {})[entry.id] = None
        self._links.setdefault(entry.link_id, {})[entry.id] = None

    def forget(self, entry_id: str) -> None:
        """The entry ended (its call is left with ``leave_call``)."""
        self._owners.pop(entry_id, None)
        old = self._entries.pop(entry_id, None)
        if old is not None:
            self._unindex(old)

    def put_replica(self, entry: RoomEntry, owner: str, segment_id: str | None) -> None:
        """Another server's entry as that server has it now (with its call)."""
        self.put(entry)
        self._owners[entry.id] = owner
        if segment_id is None:
            self._calls.pop(entry.id, None)
        else:
            self._calls[entry.id] = segment_id

    def forget_replica(self, entry_id: str) -> None:
        """Another server's entry ended (or is no longer known to be live)."""
        if entry_id in self._owners:
            self._calls.pop(entry_id, None)
            self.forget(entry_id)

    def adopt(self, entry_id: str) -> None:
        """A replica becomes this server's own entry (its owner died)."""
        self._owners.pop(entry_id, None)

    def _unindex(self, entry: RoomEntry) -> None:
        in_room = self._rooms.get(entry.clinician_id, {})
        in_room.pop(entry.id, None)
        if not in_room:
            self._rooms.pop(entry.clinician_id, None)
        of_link = self._links.get(entry.link_id, {})
        of_link.pop(entry.id, None)
        if not of_link:
            self._links.pop(entry.link_id, None)

    def join_call(self, entry_id: str, segment_id: str) -> None:
        self._calls[entry_id] = segment_id

    def leave_call(self, entry_id: str) -> str | None:
        """Out of its call; returns the segment it was in, if any."""
        return self._calls.pop(entry_id, None)

    def set_presence(self, clinician_id: str, presence: Presence) -> None:
        self._presence[clinician_id] = presence

    def connected_here(self, clinician_id: str) -> bool:
        """Whether the clinician has a page open on this server."""
        return clinician_id in self._connected

    def chosen(self, clinician_id: str) -> Presence | None:
        """What the clinician chose (``None``: nothing yet)."""
        return self._presence.get(clinician_id)

    def staff_here(self) -> set[str]:
        """Clinicians with a page open on this server, or who chose a presence."""
        return self._connected | set(self._presence)

    def set_connected_elsewhere(self, clinician_id: str, server: str, connected: bool) -> None:
        """The clinician opened their first page, or closed their last one, on ``server``."""
        servers = self._connected_elsewhere.setdefault(clinician_id, set())
        if connected:
            servers.add(server)
        else:
            servers.discard(server)
        if not servers:
            del self._connected_elsewhere[clinician_id]

    def server_gone(self, server: str) -> None:
        """A server died: its clinicians' pages are no longer open there."""
        for clinician_id in list(self._connected_elsewhere):
            self.set_connected_elsewhere(clinician_id, server, False)

    def set_connected(self, clinician_id: str, connected: bool) -> None:
        """The clinician opened their first page, or closed their last one."""
        if connected:
            self._connected.add(clinician_id)
        else:
            self._connected.discard(clinician_id)
