"""The staff event stream (``/api/v1/events``): one frame shape, ids only.

Every event is ``{"type", "at", "data"}``; ``data`` holds the ids and states the event
names (never a name, an address or a note). The stream opens with ``events.ready``; a
replaced dashboard gets ``dashboard.superseded`` before it is closed; a subscriber that
fell behind gets ``events.overflow`` and should reload.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec


class StaffEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One event as staff sockets receive it."""

    type: str
    at: datetime | None = None
    data: dict[str, Any] = msgspec.field(default_factory=dict)
