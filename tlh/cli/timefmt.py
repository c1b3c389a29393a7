"""Times for people: in the practice's zone, to the minute."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def local(moment: datetime | None, zone: str) -> str:
    """``moment`` in ``zone`` as ``YYYY-MM-DD HH:MM`` (empty for None)."""
    if moment is None:
        return ""
    try:
        tz = ZoneInfo(zone)
    except (KeyError, ValueError):
        tz = ZoneInfo("UTC")
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")
