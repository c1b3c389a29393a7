"""A waiting-room entry as staff see it (``EntryView``): the entry, who it is, its place
in line and its client's consent. ``GET /rooms`` answers with these and the ``room.*``
events carry one; the label holds a client's name, so whoever shows a view audits the
read of its client.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import msgspec

from tlh.api.rooms import EntryView
from tlh.domain.models import Client
from tlh.domain.rooms import RoomEntry, is_early
from tlh.services import consent
from tlh.services.context import Context

#: A room's places in line by entry id (``RoomState.positions``).
Positions = Callable[[str | None], dict[str, int]]


async def entry_views(
    ctx: Context, positions: Positions, entries: Sequence[RoomEntry]
) -> tuple[list[EntryView], list[str]]:
    """The EntryViews and the ids of the clients they show (the caller audits the read)."""
    client_ids = sorted({e.client_id for e in entries if e.client_id})
    clients = {cid: await ctx.store.get(Client, cid) for cid in client_ids}
    places = {room: positions(room) for room in {e.clinician_id for e in entries}}
    now = ctx.clock()
    views = []
    for entry in entries:
        client = clients.get(entry.client_id) if entry.client_id else None
        views.append(
            EntryView(
                **msgspec.structs.asdict(entry),
                label=label(entry, client),
                position=places[entry.clinician_id].get(entry.id),
                consent=await consent.state_of(ctx, entry.client_id) if entry.client_id else None,
                early=is_early(entry, now),
            )
        )
    return views, client_ids


def label(entry: RoomEntry, client: Client | None) -> str:
    """Who an entry is: the client's name, a caregiver of them, or the guest's name."""
    if client is None:
        return entry.display_name or "Guest"
    if entry.contact_id:
        return f"Caregiver of {client.name}"
    return client.name
