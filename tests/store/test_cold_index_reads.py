"""A read of what is current among months on disk (``find(..., ending_after=...)``, as
the reminder clock asks about a visit due tomorrow) opens the key indexes of the months
that reach that far, not of every month of the practice's history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.seeding import seed
from tests.store.conftest import appt
from tlh.domain.models import Appointment
from tlh.store.base import Put
from tlh.store.tinystore import TinyStore

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


async def test_a_read_of_what_is_current_opens_only_recent_months(data_dir: Path) -> None:
    start = datetime(2024, 1, 8, 9, 0, tzinfo=UTC)
    visits = [
        appt(f"apt_{n:03d}", start + timedelta(days=7 * n), client_ids=("cli_1",))
        for n in range(150)  # weekly to late 2026
    ]
    s = TinyStore(data_dir, hot_months=0, clock=lambda: NOW)
    await s.open()
    await seed(s, [Put(v) for v in visits])
    await s.close()

    s = TinyStore(data_dir, hot_months=0, clock=lambda: NOW)
    await s.open()
    try:
        since = NOW - timedelta(days=45)
        found = await s.find(Appointment, "client_ids", "cli_1", ending_after=since)
        # Every visit ending after it, and (a month read whole) no older month's.
        ending = {v.id for v in visits if v.start + timedelta(minutes=50) > since}
        assert ending <= {a.id for a in found}
        assert min(a.start for a in found) >= datetime(2026, 10, 1, tzinfo=UTC)
        opened = s.months_indexed("appointments")
        assert opened, "the recent months were looked up"
        assert min(opened) >= "2026-10", f"opened the key indexes of {sorted(opened)}"
    finally:
        await s.close()
