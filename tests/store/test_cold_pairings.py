"""Whose client a client is, from appointment months left on disk: each month's key
index holds every client-clinician pairing of its appointments, so a year of them is
answered without reading the months (``ColdMonths.paired``); an index written before
pairings existed is read around, then replaced at the next checkpoint."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.seeding import seed
from tests.store.conftest import appt
from tlh.domain.models import Appointment, Role, Staff
from tlh.domain.scope import RECENT
from tlh.errors import StoreError
from tlh.files import write_atomic
from tlh.store.base import Put
from tlh.store.coldmonths import INDEX_MAGIC, INDEX_MAGIC_V1
from tlh.store.monthindex import build_index
from tlh.store.partitions import PARTITIONED
from tlh.store.seal import PLAIN
from tlh.store.tinystore import TinyStore

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
SINCE = NOW - RECENT
SPLIT = PARTITIONED["appointments"]
#: A month wholly inside the last 12 months, left on disk (3 hot months).
APRIL = "2026-04"


def opener(data_dir: Path) -> TinyStore:
    return TinyStore(data_dir, hot_months=3, clock=lambda: NOW)


@pytest.fixture
async def seeded(data_dir: Path) -> Path:
    """cli_1 sees stf_1 every week of 2026 until June, and stf_2 once in April; a visit
    of another client with stf_3 in April."""
    staff = [
        Staff(id=s, email=f"{s}@example.org", name=s, role=Role.CLINICIAN, created_at=NOW,
              updated_at=NOW)
        for s in ("stf_1", "stf_2", "stf_3", "stf_4")
    ]  # fmt: skip
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    visits = [
        appt(f"apt_{n:02d}", start + timedelta(days=7 * n), client_ids=("cli_1",))
        for n in range(24)
    ]
    visits += [
        appt("apt_april", datetime(2026, 4, 14, 9, tzinfo=UTC), clinicians=("stf_2",),
             client_ids=("cli_1",)),
        appt("apt_other", datetime(2026, 4, 15, 9, tzinfo=UTC), clinicians=("stf_3",),
             client_ids=("cli_2",)),
    ]  # fmt: skip
    s = opener(data_dir)
    await s.open()
    await seed(s, [Put(r) for r in (*staff, *visits)])
    await s.close()
    return data_dir


def spoil_month(data_dir: Path, month: str) -> None:
    """Make the month's file unreadable: any read of it fails from now on."""
    (data_dir / "db" / SPLIT.file(month)).write_bytes(b"not a table file")


async def test_a_month_on_disk_answers_from_its_pairings(seeded: Path) -> None:
    spoil_month(seeded, APRIL)
    s = opener(seeded)
    await s.open()
    try:
        assert APRIL in s.cold_months
        assert await s.clinicians_seen("cli_1", SINCE) == {"stf_1", "stf_2"}
        assert await s.clinicians_seen("cli_2", SINCE) == {"stf_3"}
        # ... without reading April, whose file no longer reads:
        with pytest.raises(StoreError):
            await s.get(Appointment, "apt_april")
    finally:
        await s.close()


async def test_an_index_from_before_pairings_is_read_around_then_replaced(
    seeded: Path,
) -> None:
    db = seeded / "db"
    months = TinyStore(seeded)  # every month loaded, to write April an old-style index
    await months.open()
    april = [a for a in await months.all(Appointment) if a.start.strftime("%Y-%m") == APRIL]
    await months.close()
    without = dataclasses.replace(SPLIT, pairs=None)
    write_atomic(db / SPLIT.index_file(APRIL), INDEX_MAGIC_V1 + build_index(april, without))

    s = opener(seeded)
    await s.open()
    try:
        assert await s.clinicians_seen("cli_1", SINCE) == {"stf_1", "stf_2"}
        await s.checkpoint()  # finds April's index stale and writes it anew
    finally:
        await s.close()
    index = PLAIN.open((db / SPLIT.index_file(APRIL)).read_bytes(), b"", "idx")
    assert index.startswith(INDEX_MAGIC)

    spoil_month(seeded, APRIL)
    again = opener(seeded)
    await again.open()
    try:
        assert await again.clinicians_seen("cli_1", SINCE) == {"stf_1", "stf_2"}
    finally:
        await again.close()
