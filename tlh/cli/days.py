"""Days as people say them: ``today``, ``tomorrow``, ``yesterday``, in the practice's zone.

Every option that takes a local day (``--date``, ``--from``, ``--to``) or a local time
(``--start``, ``--at``) also takes these words, so a command written down once (in the
README, in a script run every morning) means the same relative day whenever it runs:
``--date tomorrow``, ``--start "tomorrow 09:00"``. Anything else is passed on as typed,
for the server to check.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from tlh.client import TlhClient

#: Day words and their offset from today.
WORDS = {"yesterday": -1, "today": 0, "tomorrow": 1}
_WORD = re.compile(r"^(?P<word>[a-z]+)(?:[ T](?P<time>\d{1,2}:\d{2}(?::\d{2})?))?$", re.I)


def _split(text: str) -> tuple[int, str | None] | None:
    found = _WORD.match(text.strip())
    if found is None or found["word"].lower() not in WORDS:
        return None
    return WORDS[found["word"].lower()], found["time"]


def uses_words(*values: str | None) -> bool:
    """Whether any value is a day word (so the practice's today is needed)."""
    return any(v is not None and _split(v) is not None for v in values)


def resolve(text: str | None, today: date) -> str | None:
    """``text`` with a day word replaced by its date (``YYYY-MM-DD``, or
    ``YYYY-MM-DDTHH:MM`` with a time); other text unchanged."""
    if text is None:
        return None
    split = _split(text)
    if split is None:
        return text
    offset, time = split
    day = (today + timedelta(days=offset)).isoformat()
    if time is None:
        return day
    hours, rest = time.split(":", 1)
    return f"{day}T{int(hours):02d}:{rest}"


def today_in(zone: str, now: datetime | None = None) -> date:
    """Today's date in the practice's zone."""
    try:
        tz = ZoneInfo(zone)
    except (KeyError, ValueError):
        tz = ZoneInfo("UTC")
    return (now or datetime.now(tz)).astimezone(tz).date()


async def resolve_all(client: TlhClient, *values: str | None) -> list[str | None]:
    """Each value resolved against the practice's today (fetched only when needed)."""
    if not uses_words(*values):
        return list(values)
    today = today_in((await client.practice.get()).timezone)
    return [resolve(v, today) for v in values]
