"""A waiting-room entry as staff see it (``EntryView``): the entry, who it is, its place
in line and its client's consent. ``GET /rooms`` answers with these and the ``room.*``
events carry one; the label holds a client's name, so whoever shows a view audits the
read of its client.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from tlh.domain.models import Client
from tlh.domain.rooms import RoomEntry
from tlh.services import consent
from tlh.services.context import Context

#: A room's places in line by entry id (``RoomState.positions``).
Positions = Callable[[str | None], dict[str, int]]


def entry_views(
    ctx: Context, positions: Positions, entries: Sequence[RoomEntry]
) -> tuple[list[dict[str, Any]], list[str]]:
    """The EntryViews and the ids of the clients they show (the caller audits the read)."""
    client_ids = sorted({e.client_id for e in entries if e.client_id})
    clients = {cid: ctx.store.get("clients", cid) for cid in client_ids}
    places = {room: positions(room) for room in {e.clinician_id for e in entries}}
    views = []
    for entry in entries:
        view = msgspec.to_builtins(entry)
        client = clients.get(entry.client_id) if entry.client_id else None
        view["label"] = label(entry, client if isinstance(client, Client) else None)
        view["position"] = places[entry.clinician_id].get(entry.id)
        view["consent"] = consent.state_of(ctx, entry.client_id).value if entry.client_id else None
        views.append(view)
    return views, client_ids


def label(entry: RoomEntry, client: Client | None) -> str:
    """Who an entry is: the client's name, a caregiver of them, or the guest's name."""
    if client is None:
        return entry.display_name or "Guest"
    if entry.contact_id:
        return f"Caregiver of {client.name}"
    return client.name
