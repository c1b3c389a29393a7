"""TinyStore leaves old appointment months on disk: what it answers from them, how it
writes to them, and how it stays right across crashes and damaged index files."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from tests.seeding import seed
from tests.store.conftest import appt, backup_round_trip
from tlh.domain.models import Appointment, Kind, Status
from tlh.services.context import SYSTEM
from tlh.store.base import Delete, Put, note
from tlh.store.layout import decode_table_file
from tlh.store.lock import LOCK_NAME, PID_NAME
from tlh.store.partitions import PARTITIONED
from tlh.store.tinystore import TinyStore

#: "Now" for these tests: months before 2026-09 are cold with the default 3 hot months.
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
OLD = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
APPOINTMENTS = PARTITIONED["appointments"]


def history() -> list[Appointment]:
    """Two years of weekly visits of two clients, a vacation across a month end, and a
    few future visits."""
    apts = []
    for n in range(100):
        start = OLD + timedelta(days=7 * n)
        apts.append(
            appt(
                f"apt_{n:03d}",
                start=start,
                clinicians=("stf_1",) if n % 2 else ("stf_2",),
                client_ids=(f"cli_{n % 2}",),
                external_id=f"ext-{n}",
                series_id="ser_weekly" if n % 3 == 0 else None,
                status=Status.CANCELLED if n % 10 == 0 else Status.SCHEDULED,
            )
        )
    apts.append(
        appt(
            "apt_vacation",
            start=datetime(2026, 8, 20, tzinfo=UTC),
            duration_min=20 * 1440,
            kind=Kind.VACATION,
        )
    )
    return apts


def crash_copy(src: Path, dest: Path) -> None:
    """The data dir as a kill -9 would leave it now (a temporary file being written
    meanwhile, by the audit log's head, is what such a kill would leave half-done)."""
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(LOCK_NAME, PID_NAME, "*.tmp"))


def opener(data_dir: Path, hot_months: int = 3) -> Callable[[], TinyStore]:
    return lambda: TinyStore(data_dir, hot_months=hot_months, clock=lambda: NOW)


@pytest.fixture
async def seeded(data_dir: Path) -> Path:
    s = opener(data_dir)()
    await s.open()
    await seed(s, [Put(a) for a in history()])
    await s.close()
    return data_dir


async def answers(s: TinyStore) -> list[object]:
    """Everything the read API says about the history."""
    far = (datetime(2020, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC))
    sep = (datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 9, 8, tzinfo=UTC))
    many = [
        {v: [a.id for a in found] for v, found in (await s.find_many(Appointment, f, vs)).items()}
        for f, vs in (
            ("client_ids", ["cli_1", "cli_0", "cli_none"]),
            ("external_id", ["ext-7", "ext-99", "ext-none"]),
            ("series_id", ["ser_weekly"]),
        )
    ]
    return [
        *many,
        await s.get(Appointment, "apt_003"),
        await s.get(Appointment, "apt_099"),
        await s.get(Appointment, "apt_vacation"),
        await s.get(Appointment, "nope"),
        await s.count(Appointment),
        sorted(a.id for a in await s.all(Appointment)),
        [a.id for a in await s.find(Appointment, "client_ids", "cli_1")],
        [a.id for a in await s.find(Appointment, "external_id", "ext-7")],
        [a.id for a in await s.find(Appointment, "series_id", "ser_weekly")],
        [a.id for a in await s.appointments_between(*far)],
        [a.id for a in await s.appointments_between(*far, clinician_id="stf_1")],
        [a.id for a in await s.appointments_between(*sep)],
        await s.busy_between(*far, clinician_id="stf_2"),
        await s.busy_between(*sep, clinician_id="stf_1"),
    ]


async def test_old_months_stay_on_disk_and_answer_the_same(seeded: Path) -> None:
    everything = opener(seeded, hot_months=1000)()
    await everything.open()
    expected = await answers(everything)
    assert everything.cold_months == []
    await everything.close()
    s = opener(seeded)()
    await s.open()
    try:
        assert s.cold_months[0] == "2025-01"
        assert s.cold_months[-1] == "2026-08"
        in_memory = await s.appointments_between(OLD, NOW)
        assert len(in_memory) > 0
        assert await answers(s) == expected
        # The vacation of a cold month reaches into September: the busy index of the
        # hot months does not hold it, the cold read does.
        sep = await s.busy_between(
            datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 9, 2, tzinfo=UTC), "stf_1"
        )
        assert len(sep) == 1
    finally:
        await s.close()


async def test_a_change_to_an_old_month_is_kept(seeded: Path) -> None:
    s = opener(seeded)()
    await s.open()
    old = await s.get(Appointment, "apt_010")
    assert old is not None
    assert "2025-03" in s.cold_months
    moved = msgspec.structs.replace(old, start=NOW + timedelta(days=3), status=Status.CONFIRMED)
    await seed(s, [Put(moved), Delete(Appointment, "apt_011")])
    updated = await s.update(
        Appointment,
        "apt_020",
        lambda a: a and msgspec.structs.replace(a, notes="paid"),
        audit=[note(SYSTEM, "test.update", "apt_020")],
    )
    assert updated is not None
    assert updated.notes == "paid"
    assert "2025-03" not in s.cold_months  # taken into memory by the commit
    await s.close()
    again = opener(seeded)()
    await again.open()
    try:
        assert "2025-03" in again.cold_months  # back on disk after the restart
        assert await again.get(Appointment, "apt_010") == moved
        assert await again.get(Appointment, "apt_011") is None
        got = await again.get(Appointment, "apt_020")
        assert got is not None
        assert got.notes == "paid"
        ids = [a.id for a in await again.find(Appointment, "client_ids", "cli_0")]
        assert ids.count("apt_010") == 1
        assert [a.id for a in await again.appointments_between(OLD, OLD + timedelta(days=400))
                ].count("apt_010") == 0  # fmt: skip
        assert (await again.verify_audit()).ok
    finally:
        await again.close()


async def test_a_crash_after_changing_an_old_month_replays_it(seeded: Path, tmp_path: Path) -> None:
    s = opener(seeded)()
    await s.open()
    old = await s.get(Appointment, "apt_030")
    assert old is not None
    moved = msgspec.structs.replace(old, start=NOW + timedelta(days=1))
    await seed(s, [Put(moved), Delete(Appointment, "apt_031")])
    # kill -9 now: the change is in the journal only, the old month file still holds
    # apt_030 and apt_031 as they were.
    crashed = tmp_path / "crashed"
    crash_copy(seeded, crashed)
    await s.close()
    for _ in range(2):  # the replay, then the checkpoint it wrote
        again = opener(crashed)()
        await again.open()
        try:
            assert await again.get(Appointment, "apt_030") == moved
            assert await again.get(Appointment, "apt_031") is None
            found = await again.find(Appointment, "external_id", "ext-30")
            assert [a.start for a in found] == [moved.start]
            assert await again.count(Appointment) == len(history()) - 1
        finally:
            await again.close()


async def test_a_lost_or_damaged_index_falls_back_to_the_month_file(seeded: Path) -> None:
    (seeded / "db" / APPOINTMENTS.index_file("2025-05")).write_bytes(b"garbage")
    (seeded / "db" / APPOINTMENTS.index_file("2025-06")).unlink()
    s = opener(seeded)()
    await s.open()
    try:
        assert "2025-05" in s.cold_months
        assert "2025-06" not in s.cold_months
        ids = [a.id for a in await s.find(Appointment, "client_ids", "cli_0")]
        assert len(ids) == 50
    finally:
        await s.close()
    assert (
        seeded / "db" / APPOINTMENTS.index_file("2025-06")
    ).exists()  # rebuilt by the checkpoint


async def test_a_dir_without_the_id_filter_loads_every_month_then_indexes(seeded: Path) -> None:
    (seeded / "db" / APPOINTMENTS.id_filter).unlink()
    s = opener(seeded)()
    await s.open()
    assert s.cold_months == []
    await s.close()
    again = opener(seeded)()
    await again.open()
    try:
        assert len(again.cold_months) > 10
        assert await again.get(Appointment, "apt_042") is not None
    finally:
        await again.close()


@pytest.mark.parametrize("written", ["month", "month+index"])
async def test_a_crash_inside_the_checkpoint_of_an_old_month(
    seeded: Path, tmp_path: Path, written: str
) -> None:
    """A checkpoint writes the month file, then its key index, then the manifest; a
    kill -9 between any two keeps the journal, and no record comes back or goes missing."""
    s = opener(seeded)()
    await s.open()
    old = await s.get(Appointment, "apt_040")
    assert old is not None
    month = old.start.strftime("%Y-%m")
    moved_in = msgspec.structs.replace(old, id="apt_new", start=old.start + timedelta(days=1))
    await seed(s, [Delete(Appointment, "apt_040"), Put(moved_in)])
    crashed = tmp_path / "crashed"
    crash_copy(seeded, crashed)
    await s.close()
    # What the checkpoint had written when the kill came.
    files = [f"{month}.json"] + ([f"{month}.idx"] if written == "month+index" else [])
    for name in files:
        shutil.copy(seeded / "db" / "appointments" / name, crashed / "db" / "appointments" / name)
    for _ in range(2):
        again = opener(crashed)()
        await again.open()
        try:
            assert await again.get(Appointment, "apt_040") is None
            assert await again.get(Appointment, "apt_new") == moved_in
            ids = [a.id for a in await again.find(Appointment, "external_id", "ext-40")]
            assert ids == ["apt_new"]
            assert await again.count(Appointment) == len(history())
        finally:
            await again.close()


async def test_a_backup_holds_the_months_on_disk(seeded: Path, tmp_path: Path) -> None:
    restored = await backup_round_trip(lambda d: opener(d)(), seeded, tmp_path, answers)
    assert restored.cold_months


async def test_a_backup_reads_old_months_as_they_were_when_it_was_taken(
    seeded: Path, tmp_path: Path
) -> None:
    """The months on disk are read in the backup's thread, after the copy of the rest:
    a commit that takes one in and a checkpoint that rewrites its file meanwhile must
    not show in the backup (it would hold a change whose audit line it lacks)."""
    s = opener(seeded)()
    await s.open()
    try:
        assert "2025-03" in s.cold_months
        files = s.export_files()  # what ``backup.snapshot`` copies on the loop
        old = await s.get(Appointment, "apt_010")
        assert old is not None
        await seed(s, [Put(msgspec.structs.replace(old, notes="changed after"))])
        await s.checkpoint()  # the month's file is written anew (and left on disk again)
        rewritten = decode_table_file(
            (seeded / "db/appointments/2025-03.json").read_bytes(), "appointments"
        )
        assert rewritten["apt_010"].notes == "changed after"
        month = files["db/appointments/2025-03.json"]
        assert callable(month)  # left on disk until the backup's thread reads it
        backed_up = decode_table_file(await asyncio.to_thread(month), "appointments")
        assert backed_up["apt_010"] == old
    finally:
        await s.close()


async def test_reads_racing_a_commit_that_takes_a_month_in(seeded: Path) -> None:
    """Reads of old months run in a thread; a commit may load one of those months
    meanwhile. Each read sees every record once, either as it was or as changed."""
    s = opener(seeded)()
    await s.open()
    try:
        span = (OLD, OLD + timedelta(days=400))
        expected = [a.id for a in await s.appointments_between(*span)]
        months = [m for m in s.cold_months if m < "2026-01"]
        changes = []
        for apt in await s.appointments_between(*span):
            changes.append(Put(msgspec.structs.replace(apt, notes="changed")))
        reads = [s.appointments_between(*span) for _ in range(4)]
        finds = [s.find(Appointment, "client_ids", "cli_0") for _ in range(4)]
        results = await asyncio.gather(*reads, seed(s, changes), *finds)
        for found in results[:4]:
            assert [a.id for a in found] == expected
        for found in results[5:]:
            ids = [a.id for a in found]
            assert len(ids) == len(set(ids)) == 50
        assert not set(months) & set(s.cold_months)  # all taken in by the commit
    finally:
        await s.close()


async def test_a_find_for_recent_visits_leaves_old_months_on_disk(seeded: Path) -> None:
    """A clinician's scope and the portal look back 12 months at most: with
    ``ending_after`` the months on disk that end before it are not read, and what they
    would have added is only what ends before it."""
    s = opener(seeded)()
    await s.open()
    try:
        since = NOW - timedelta(days=120)
        everything = await s.find(Appointment, "client_ids", "cli_1")
        recent = await s.find(Appointment, "client_ids", "cli_1", ending_after=since)
        assert {a.id for a in everything if a.end > since} <= {a.id for a in recent}
        assert len(recent) < len(everything)  # the old months were left unread
    finally:
        await s.close()
