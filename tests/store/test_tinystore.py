"""TinyStore: durability across reopen and crash, corruption, partitions, indexes."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest
from tinydb import TinyDB

from tests.seeding import seed
from tests.store.conftest import T0, appt, client
from tlh.domain.models import Appointment, Client, Policy, Staff, Status
from tlh.errors import InvalidInput, StoreCorrupt, StoreError
from tlh.store.atomic import AtomicJSONStorage, StoreTinyDB
from tlh.store.base import Delete, Put
from tlh.store.lock import LOCK_NAME, PID_NAME
from tlh.store.tinystore import TinyStore, init_data_dir


def crash_copy(src: Path, dest: Path) -> Path:
    """The data dir as a kill -9 would leave it now (no close, no checkpoint)."""
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(LOCK_NAME, PID_NAME))
    return dest


async def reopen(path: Path) -> TinyStore:
    s = TinyStore(path)
    await s.open()
    return s


async def test_round_trip_across_reopen(data_dir: Path) -> None:
    s = await reopen(data_dir)
    policy = Policy(practice_name="Test Practice")
    await seed(s, [Put(policy), Put(client("c1")), Put(appt("a1"))])
    await s.close()
    s2 = await reopen(data_dir)
    assert await s2.get(Policy, "practice") == policy
    assert await s2.get(Client, "c1") == client("c1")
    assert await s2.get(Appointment, "a1") == appt("a1")
    assert await s2.count(Appointment) == 1
    await s2.close()
    with TinyDB(data_dir / "db" / "clients.json") as plain:  # TinyDB's own storage
        assert plain.storage.read() == {
            "clients": {"c1": msgspec.json.decode(msgspec.json.encode(client("c1")))}
        }
    with StoreTinyDB(
        data_dir / "db" / "appointments" / "2026-03.json", storage=AtomicJSONStorage
    ) as db:
        doc = db.table("appointments").get(doc_id="a1")
        assert doc is not None
        assert doc["status"] == "scheduled"


async def test_journal_replay_after_crash_without_checkpoint(
    store: TinyStore, tmp_path: Path
) -> None:
    await seed(store, [Put(appt("a1"))])
    await seed(store, [Put(appt("a1", status=Status.CONFIRMED))])
    await seed(store, [Put(client("c1")), Delete(Client, "nobody")])
    assert not (store.data_dir / "db" / "clients.json").exists()
    crashed = await reopen(crash_copy(store.data_dir, tmp_path / "crashed"))
    apt = await crashed.get(Appointment, "a1")
    assert isinstance(apt, msgspec.Struct)
    assert apt == appt("a1", status=Status.CONFIRMED)
    assert await crashed.get(Client, "c1") == client("c1")
    await crashed.close()


async def test_checkpoint_folds_journal_and_keeps_bak(data_dir: Path) -> None:
    s = TinyStore(data_dir, checkpoint_ops=2)
    await s.open()
    await seed(s, [Put(client("c1"))])
    await seed(s, [Put(client("c2"))])  # reaches the threshold
    await s.checkpoint()
    await seed(s, [Put(client("c3"))])
    await s.checkpoint()
    await s.close()
    db = data_dir / "db"
    assert (db / "clients.json.bak").exists()
    assert "c3" not in (db / "clients.json.bak").read_text()
    assert "c3" in (db / "clients.json").read_text()
    assert [p.stat().st_size for p in (data_dir / "journal").glob("*.wal")] == [0]


async def test_corrupt_table_file_stops_open_and_is_untouched(data_dir: Path) -> None:
    s = await reopen(data_dir)
    await seed(s, [Put(client("c1"))])
    await s.close()
    path = data_dir / "db" / "clients.json"
    path.write_bytes(path.read_bytes()[:-7])
    before = path.read_bytes()
    with pytest.raises(StoreCorrupt) as info:
        await reopen(data_dir)
    assert str(path) in info.value.message
    assert "tlh restore" in info.value.message
    assert path.read_bytes() == before
    init = TinyStore(data_dir)  # the failed open released the lock
    with pytest.raises(StoreCorrupt):
        await init.open()


@pytest.mark.parametrize("content", [b"", b"{", b'{"schema_version": "one"}'])
async def test_corrupt_meta_stops_open(data_dir: Path, content: bytes) -> None:
    (data_dir / "meta.json").write_bytes(content)
    with pytest.raises(StoreCorrupt, match=r"meta\.json"):
        await reopen(data_dir)


async def test_corrupt_middle_journal_record_stops_open(store: TinyStore, tmp_path: Path) -> None:
    for i in range(3):
        await seed(store, [Put(client(f"c{i}"))])
    crashed = crash_copy(store.data_dir, tmp_path / "crashed")
    wal = next((crashed / "journal").glob("*.wal"))
    data = bytearray(wal.read_bytes())
    data[data.index(b"\n") + 30] ^= 0x04
    wal.write_bytes(bytes(data))
    with pytest.raises(StoreCorrupt, match=r"\.wal.*line 2") as info:
        await reopen(crashed)
    assert "tlh restore" in info.value.message


async def test_missing_meta_is_not_a_data_dir(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not a tlh data dir"):
        await reopen(tmp_path)


async def test_init_refuses_existing_practice(data_dir: Path) -> None:
    with pytest.raises(StoreError, match="already holds"):
        init_data_dir(data_dir)


async def test_newer_schema_is_refused(data_dir: Path) -> None:
    (data_dir / "meta.json").write_bytes(b'{"schema_version": 99}')
    with pytest.raises(StoreError, match="newer"):
        await reopen(data_dir)


async def test_appointment_moves_partition_when_month_changes(data_dir: Path) -> None:
    s = await reopen(data_dir)
    await seed(s, [Put(appt("a1"))])
    await seed(s, [Put(appt("a1", start=T0 + timedelta(days=40)))])
    await s.close()
    parts = data_dir / "db" / "appointments"
    assert "a1" not in (parts / "2026-03.json").read_text()
    assert "a1" in (parts / "2026-04.json").read_text()
    s2 = await reopen(data_dir)
    assert await s2.count(Appointment) == 1
    await s2.close()


async def test_indexes_follow_update_and_delete(store: TinyStore) -> None:
    await seed(store, [Put(client("c1", email="a@x.test", external_id="E1"))])
    assert [c.id for c in await store.find(Client, "email", "a@x.test")] == ["c1"]  # type: ignore[attr-defined]
    await seed(store, [Put(client("c1", email="b@x.test"))])
    assert await store.find(Client, "email", "a@x.test") == []
    assert len(await store.find(Client, "email", "b@x.test")) == 1
    assert await store.find(Client, "external_id", "E1") == []
    assert len(await store.find(Client, "external_id", None)) == 1
    await seed(store, [Delete(Client, "c1")])
    assert await store.find(Client, "email", "b@x.test") == []
    with pytest.raises(InvalidInput):
        await store.find(Client, "name", "x")


async def test_appointments_between_edges(store: TinyStore) -> None:
    midnight = datetime(2026, 3, 11, tzinfo=UTC)
    late = appt("late", start=midnight - timedelta(minutes=30), duration_min=60)
    other = appt("other", start=midnight + timedelta(hours=9), clinicians=("stf_2",))
    ends_at = appt("ends", start=midnight - timedelta(hours=2), duration_min=60)
    await seed(store, [Put(a) for a in (late, other, ends_at)])
    day1 = await store.appointments_between(midnight - timedelta(days=1), midnight)
    day2 = await store.appointments_between(midnight, midnight + timedelta(days=1))
    assert [a.id for a in day1] == ["ends", "late"]
    assert [a.id for a in day2] == ["late", "other"]
    assert [
        a.id
        for a in await store.appointments_between(midnight, midnight + timedelta(days=1), "stf_1")
    ] == ["late"]
    # half-open: an appointment ending exactly at the range start is outside
    assert (
        await store.appointments_between(
            midnight - timedelta(hours=1), midnight - timedelta(minutes=30)
        )
        == []
    )
    everything = await store.appointments_between(
        datetime(1900, 1, 1, tzinfo=UTC), datetime(2999, 1, 1, tzinfo=UTC)
    )
    assert [a.id for a in everything] == ["ends", "late", "other"]
    assert await store.appointments_between(midnight, midnight) == []
    with pytest.raises(InvalidInput):
        await store.appointments_between(datetime(2026, 3, 11), datetime(2026, 3, 12))
    await seed(store, [Delete(Appointment, "late")])
    assert [
        a.id for a in await store.appointments_between(midnight, midnight + timedelta(days=1))
    ] == ["other"]


class Thing(msgspec.Struct):
    """A record type no table holds."""

    id: str


async def test_commit_validates_ops(store: TinyStore) -> None:
    with pytest.raises(InvalidInput, match="no table holds Thing"):
        await seed(store, [Put(Thing(id="t1"))])
    with pytest.raises(InvalidInput, match="no table holds Thing"):
        await seed(store, [Delete(Thing, "t1")])
    with pytest.raises(InvalidInput, match="naive"):
        await seed(store, [Put(appt("a1", start=datetime(2026, 1, 1)))])
    bad = appt("a2", duration_min="long")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="does not match"):
        await seed(store, [Put(client("c1")), Put(bad)])
    assert await store.count(Client) == 0  # all or nothing
    staff = Staff(
        id="s1", email="s@x.test", name="S", role="clinician", created_at=T0, updated_at=T0
    )  # type: ignore[arg-type]
    await seed(store, [Put(staff)])
    assert (await store.find(Staff, "email", "s@x.test"))[0] == staff


async def test_closed_store_refuses_commits(data_dir: Path) -> None:
    s = await reopen(data_dir)
    await s.close()
    with pytest.raises(StoreError, match="not open"):
        await seed(s, [Put(client("c1"))])


async def test_close_folds_even_a_no_op_journal(data_dir: Path) -> None:
    s = await reopen(data_dir)
    await seed(s, [Delete(Appointment, "missing")])
    await s.close()
    assert [p.stat().st_size for p in (data_dir / "journal").glob("*.wal")] == [0]


async def test_a_tuple_field_is_indexed_by_each_element(store: TinyStore) -> None:
    both = appt("a1", client_ids=("c1", "c2"))
    await seed(store, [Put(both), Put(appt("a2", client_ids=("c2",)))])
    assert [a.id for a in await store.find(Appointment, "client_ids", "c2")] == ["a1", "a2"]  # type: ignore[attr-defined]
    moved = msgspec.structs.replace(both, client_ids=("c3",))
    await seed(store, [Put(moved)])
    assert [a.id for a in await store.find(Appointment, "client_ids", "c1")] == []  # type: ignore[attr-defined]
    assert [a.id for a in await store.find(Appointment, "client_ids", "c3")] == ["a1"]  # type: ignore[attr-defined]
