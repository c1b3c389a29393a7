"""What the waiting rooms' collaborators work with, handed to each in one piece."""

from __future__ import annotations

from typing import NamedTuple

from tlh.services.callhub import CallHub
from tlh.services.context import Context
from tlh.services.waiting_events import RoomEvents
from tlh.services.waiting_pages import RoomPages
from tlh.services.waiting_state import RoomState


class RoomParts(NamedTuple):
    """The context, the call hub, the rooms' data, the participants' pages and the staff
    events: what admission, the exits, both sides and the hooks act through."""

    ctx: Context
    hub: CallHub
    state: RoomState
    pages: RoomPages
    events: RoomEvents
