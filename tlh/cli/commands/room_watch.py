"""``tlh room watch``: the staff event stream as readable lines, reconnecting by itself.

Room events carry the entry's view (its label) for the rooms this user sees; other
names are resolved through the API (staff once, room entries when an unknown one
appears) and shown only on this staff member's terminal.
"""

from __future__ import annotations

import sys
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


class Names:
    """Staff and room-entry names by id, fetched lazily and cached."""

    def __init__(self, client: TlhClient) -> None:
        self.client = client
        self.zone = "UTC"
        self.staff: dict[str, str] = {}
        self.entries: dict[str, str] = {}

    async def load(self) -> None:
        """The practice's zone and the staff list (once per connection)."""
        self.zone = (await self.client.practice.get()).timezone
        self.staff = {s.id: s.name for s in await self.client.staff.list()}

    async def entry(self, entry_id: str) -> str:
        """Who an entry is (as staff see it), refreshing the rooms once when unknown."""
        if entry_id not in self.entries:
            rooms = await self.client.rooms.list()
            for entry in [e for room in rooms.items for e in room.entries] + rooms.queue:
                self.entries[entry.id] = entry.label or entry.participant.value
        return self.entries.get(entry_id, "")

    async def describe(self, event: StaffEvent) -> str:
        """``HH:MM:SS  room.joined  ent_x  Ana Client  (Dr Lee)  by ...  to ...``."""
        from zoneinfo import ZoneInfo

        data = event.data
        at = event.at.astimezone(ZoneInfo(self.zone)).strftime("%H:%M:%S") if event.at else ""
        parts = [at, f"{event.type:<17}"]
        entry_id = data.get("entry_id")
        if isinstance(entry_id, str):
            shown = data.get("entry")  # the entry's view, when this user sees its room
            if isinstance(shown, dict) and isinstance(shown.get("label"), str):
                self.entries[entry_id] = shown["label"] or str(shown.get("participant", ""))
            parts += [entry_id, clean(await self.entry(entry_id))]
        elif isinstance(data.get("session_id"), str):
            parts.append(str(data["session_id"]))
        clinician = data.get("clinician_id")
        if isinstance(clinician, str):
            parts.append(f"({clean(self.staff.get(clinician, clinician))})")
        if isinstance(data.get("appointment_id"), str):
            parts.append(str(data["appointment_id"]))
        for key in ("by", "to"):
            who = data.get(key)
            if isinstance(who, str):
                parts.append(f"{key} {clean(self.staff.get(who, who))}")
        return "  ".join(p for p in parts if p)


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
        sys.stdout.flush()
    if bell and event.type == "room.joined":
        sys.stderr.write("\a")
        sys.stderr.flush()
    return True
