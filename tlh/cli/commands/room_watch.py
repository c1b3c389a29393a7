"""``tlh room watch``: the staff event stream as readable lines, reconnecting by itself.

Room events carry the entry's view (its label) for the rooms this user sees; other
names are resolved through the API (staff once, room entries when an unknown one
appears) and shown only on this staff member's terminal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tlh.cli.output import Output, clean
from tlh.client.events import Backoff, Connected, Reconnecting, SignedOut, StaffEvent
from tlh.errors import Unavailable

if TYPE_CHECKING:
    from tlh.api.events import StaffEvent
    from tlh.client import TlhClient

#: Reconnect delays, doubling: a terminal tail can wait longer than a dashboard.
BACKOFF = Backoff(first_s=0.5, max_s=30.0)
SHOWN = ("room.", "session.")


#: How an event reads in the terminal (others are shown by their type).
VERBS = {
    "room.joined": "arrived",
    "room.admitted": "admitted",
    "room.denied": "turned away",
    "room.returned": "sent back to wait",
    "room.transferred": "moved",
    "room.left": "left",
    "room.reconnected": "reconnected",
    "room.updated": "updated",
    "room.message": "message sent",
    "session.started": "session started",
    "session.ended": "session ended",
}


class Names:
    """Staff, room entries and appointments as people know them, fetched lazily and
    cached (clients' names through ``tlh.cli.names``, one audited read each)."""

    def __init__(self, client: TlhClient) -> None:
        from tlh.cli.names import Names as People

        self.client = client
        self.people = People(client)
        self.entries: dict[str, str] = {}
        self.appointments: dict[str, str] = {}

    @property
    def zone(self) -> str:
        """The practice's zone (after ``load``)."""
        return self.people.zone

    async def load(self) -> None:
        """The practice's zone and the staff list (once per connection)."""
        self.people = type(self.people)(self.client)
        await self.people.load()

    async def entry(self, entry_id: str) -> str:
        """Who an entry is (as staff see it), refreshing the rooms once when unknown."""
        if entry_id not in self.entries:
            rooms = await self.client.rooms.list()
            for entry in [e for room in rooms.items for e in room.entries] + rooms.queue:
                self.entries[entry.id] = entry.label or entry.participant.value
        return self.entries.get(entry_id, "")

    async def appointment(self, appointment_id: str, with_clients: bool) -> str:
        """``09:00`` (``09:00 Jordan Rivera`` with its clients) in the practice's zone;
        the id when it cannot be read."""
        key = f"{appointment_id} {with_clients}"
        if key not in self.appointments:
            from tlh.errors import Forbidden, NotFound

            try:
                appt = await self.client.appointments.get(appointment_id)
            except (NotFound, Forbidden):
                self.appointments[key] = appointment_id
            else:
                shown = self.people.time(appt.start)[11:]
                if with_clients:
                    await self.people.load(appt.client_ids)
                    shown = f"{shown} {self.people.clients(appt.client_ids)}"
                self.appointments[key] = shown
        return self.appointments[key]

    async def describe(self, event: StaffEvent) -> str:
        """``HH:MM:SS  arrived  Ana Client  for 09:00  (Dr Lee)  by ...  to ...  ent_x``."""
        from zoneinfo import ZoneInfo

        data = event.data
        at = event.at.astimezone(ZoneInfo(self.zone)).strftime("%H:%M:%S") if event.at else ""
        parts = [at, f"{VERBS.get(event.type, event.type):<17}"]
        entry_id = data.get("entry_id")
        ids: list[str] = []
        appointment = data.get("appointment_id")
        if isinstance(entry_id, str):
            shown = data.get("entry")  # the entry's view, when this user sees its room
            if isinstance(shown, dict) and isinstance(shown.get("label"), str):
                self.entries[entry_id] = shown["label"] or str(shown.get("participant", ""))
                if appointment is None:
                    appointment = shown.get("appointment_id")
            parts.append(clean(await self.entry(entry_id)))
            ids.append(entry_id)
            if isinstance(appointment, str):
                parts.append(f"for {clean(await self.appointment(appointment, False))}")
        else:
            if isinstance(appointment, str):
                parts.append(clean(await self.appointment(appointment, True)))
            if isinstance(data.get("session_id"), str):
                ids.append(str(data["session_id"]))
        clinician = data.get("clinician_id")
        if isinstance(clinician, str):
            parts.append(f"({clean(self.people.staff(clinician))})")
        for key in ("by", "to"):
            who = data.get(key)
            if isinstance(who, str):
                parts.append(f"{key} {clean(self.people.staff(who))}")
        return "  ".join(p for p in [*parts, *ids] if p)


async def watch_events(
    client: TlhClient, out: Output, *, bell: bool = True, count: int | None = None
) -> None:
    """Print room and session events until interrupted (or ``count`` events)."""
    names = Names(client)
    seen, connected_before = 0, False
    async with client.events(backoff=BACKOFF) as stream:
        async for item in stream:
            if isinstance(item, SignedOut):
                raise item.error
            if isinstance(item, Reconnecting):
                out.note(f"connection lost; retrying in {item.retry_in:g} s")
                continue
            try:
                if isinstance(item, Connected):
                    if not out.as_json:
                        await names.load()
                    out.note("reconnected" if connected_before else "watching (Ctrl-C stops)")
                    connected_before = True
                elif isinstance(item, StaffEvent) and await _show(item, names, out, bell):
                    seen += 1
                    if count is not None and seen >= count:
                        return
            except Unavailable as exc:
                stream.drop(exc.message)  # a name could not be fetched: as a lost stream


async def _show(event: StaffEvent, names: Names, out: Output, bell: bool) -> bool:
    """Print one room or session event (and ring for an arrival); whether it was one."""
    if event.type == "events.overflow":
        names.entries.clear()
        out.warn("some events were missed; run `tlh room list` to catch up")
        return False
    if not event.type.startswith(SHOWN):
        return False
    if out.as_json:
        out.json(event)
    else:
        out.line(await names.describe(event))
        out.flush()
    if bell and event.type == "room.joined":
        out.bell()
    return True
