"""What the store guarantees about every change: its audit entries in the same commit,
numbered commits that ``verify`` checks against the log, and a data dir that refuses to
start when a file it must hold is gone."""

from __future__ import annotations

import asyncio
import errno
import json
from pathlib import Path

import pytest

from tests.seeding import seed
from tlh.domain.models import Client
from tlh.errors import InvalidInput, StoreError, StoreFull
from tlh.services.bootstrap import init_practice
from tlh.services.context import SYSTEM
from tlh.store import auditlog
from tlh.store.base import AuditNote, Delete, Op, Put, note
from tlh.store.tinystore import TinyStore

from .conftest import T0, appt, client


async def test_a_commit_must_audit_every_record_it_writes(store: TinyStore) -> None:
    ops = [Put(client("c1")), Put(client("c2"))]
    with pytest.raises(InvalidInput, match="no audit note names c2"):
        await store.commit(ops, audit=[note(SYSTEM, "client.create", "c1")])
    with pytest.raises(InvalidInput, match="no audit note names c1"):
        await store.commit([Delete(Client, "c1")], audit=[])
    assert await store.count(Client) == 0
    assert store.seq == 0


async def test_entries_carry_their_commit_and_commit_numbers_survive_restarts(
    data_dir: Path,
) -> None:
    s = TinyStore(data_dir)
    await s.open()
    await seed(s, [Put(client("c1"))])
    await s.commit([Put(client("c2"))], audit=[note(SYSTEM, "client.create", "c2")])
    await s.close()  # folds the journal away: the number must come from the manifest
    s = TinyStore(data_dir)
    await s.open()
    assert s.seq == 2
    await seed(s, [Put(client("c3"))])
    entries = [(e["action"], e["target"], e.get("commit")) for e in (await s.audit.read())]
    assert entries == [("test.seed", "c1", 1), ("client.create", "c2", 2), ("test.seed", "c3", 3)]
    result = await s.verify_audit()
    await s.close()
    assert result.ok, result.problems


def _crash(store: TinyStore) -> None:
    """Stop using ``store`` as a kill -9 would: nothing flushed, nothing folded."""
    store._journal.close()
    store._dir_lock.release()


async def _journaled_not_audited(
    data_dir: Path, ops: list[Op], notes: list[AuditNote]
) -> TinyStore:
    """A store whose commit 2 (``ops``) is journaled and applied while the audit writer
    never gets its entries (as if killed before its write); the caller crashes it."""
    s = TinyStore(data_dir)
    await s.open()
    await seed(s, [Put(client("c1"))])
    s.audit.enqueue_commit = lambda *_: asyncio.get_running_loop().create_future()  # type: ignore[method-assign]
    task = asyncio.create_task(s.commit(ops, audit=notes))
    async with asyncio.timeout(5):
        while s.seq < 2:
            await asyncio.sleep(0.001)
    assert not task.done()
    task.cancel()
    return s


async def test_a_crash_between_the_commit_and_its_audit_write_is_mended_at_open(
    data_dir: Path,
) -> None:
    s = await _journaled_not_audited(
        data_dir,
        [Put(appt("a1")), Put(appt("a2", start=T0))],
        [note(SYSTEM, "appointment.create", "a1", "a2")],
    )
    await s.audit.close()
    _crash(s)

    again = TinyStore(data_dir)
    await again.open()
    try:
        assert again.recovered_entries == 2
        entries = [(e["action"], e["target"], e.get("commit")) for e in (await again.audit.read())]
        assert entries[-2:] == [("appointment.create", "a1", 2), ("appointment.create", "a2", 2)]
        result = await again.verify_audit()
        assert result.ok, result.problems
    finally:
        await again.close()


async def test_verify_names_stored_changes_the_log_does_not_record(data_dir: Path) -> None:
    """What used to happen: the commit is folded into the files, its audit write lost."""
    s = await _journaled_not_audited(
        data_dir, [Put(client("c2"))], [note(SYSTEM, "client.create", "c2")]
    )
    await s._checkpoint()  # the journal that could have mended it is gone
    await s.audit.close()
    _crash(s)
    again = TinyStore(data_dir)
    await again.open()
    try:
        assert again.recovered_entries == 0
        result = await again.verify_audit()
    finally:
        await again.close()
    assert not result.ok
    assert [p.reason for p in result.problems] == [
        "commit 2 is stored but has no audit entry",
        "clients record c2 is stored but no audit entry names it",
    ]


async def test_two_holders_of_a_key_run_one_after_the_other(store: TinyStore) -> None:
    order: list[str] = []

    async def hold(name: str, keys: tuple[str, ...]) -> None:
        async with store.locked(*keys):
            order.append(f"{name}+")
            await asyncio.sleep(0.01)
            order.append(f"{name}-")

    await asyncio.gather(hold("a", ("k1", "k2")), hold("b", ("k2", "k1")), hold("c", ("k3",)))
    assert order.index("a-") < order.index("b+") or order.index("b-") < order.index("a+")
    assert store._record_locks == {}


@pytest.mark.parametrize("victim", ["db/clients.json", "db/appointments/2026-03.json"])
async def test_a_missing_table_file_stops_start_up(data_dir: Path, victim: str) -> None:
    s = TinyStore(data_dir)
    await s.open()
    await seed(s, [Put(client("c1")), Put(appt("a1"))])
    await s.close()
    (data_dir / victim).unlink()
    with pytest.raises(StoreError, match="is missing from the data dir") as caught:
        await TinyStore(data_dir).open()
    assert victim in str(caught.value)
    assert "tlh restore BACKUP" in str(caught.value)


async def test_a_missing_manifest_stops_start_up(data_dir: Path) -> None:
    (data_dir / "db" / "manifest.json").unlink()
    with pytest.raises(StoreError, match=r"manifest\.json is missing.*tlh restore BACKUP"):
        await TinyStore(data_dir).open()


async def test_a_missing_meta_file_gets_one_recovery_message_from_serve_and_init(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "practice"
    await init_practice(data_dir, "P", "UTC", "admin@example.org")
    (data_dir / "meta.json").unlink()
    with pytest.raises(StoreError) as at_start:
        await TinyStore(data_dir).open()
    with pytest.raises(StoreError) as at_init:
        await init_practice(data_dir, "P", "UTC", "admin@example.org")
    for caught in (at_start, at_init):
        message = str(caught.value)
        assert "meta.json is missing" in message
        assert "tlh restore BACKUP" in message
        assert "tlh init" not in message


async def test_a_data_dir_from_before_manifests_is_migrated(data_dir: Path) -> None:
    s = TinyStore(data_dir)
    await s.open()
    await seed(s, [Put(client("c1")), Put(appt("a1"))])
    await s.close()
    (data_dir / "db" / "manifest.json").unlink()
    (data_dir / "meta.json").write_text('{"schema_version": 1}')
    s = TinyStore(data_dir)
    await s.open()
    assert await s.get(Client, "c1") == client("c1")
    assert not s.audit_complete  # its records predate numbered entries
    await s.close()
    manifest = json.loads((data_dir / "db" / "manifest.json").read_text())
    assert {"clients.json", "appointments/2026-03.json"} <= set(manifest["files"])


async def test_a_full_disk_under_the_audit_log_delays_entries_but_loses_none(
    store: TinyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The journal took the change (and its notes); the log could not: the commit stands,
    a read that cannot be logged is refused, and the entries follow once there is room."""
    monkeypatch.setattr(auditlog, "RETRY_S", 0.05)
    real = store.audit._write_sync
    full = True

    def write(data: bytes) -> None:
        if full:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(data)

    store.audit._write_sync = write  # type: ignore[method-assign]
    await store.commit([Put(client("c1"))], audit=[note(SYSTEM, "client.create", "c1")])
    assert await store.get(Client, "c1") == client("c1")
    with pytest.raises(StoreFull, match="disk is full"):
        await store.audit.append(SYSTEM, "client.read", "c1")
    full = False
    async with asyncio.timeout(5):
        while not any(e["target"] == "c1" for e in (await store.audit.read())):
            await asyncio.sleep(0.01)
    [entry] = await store.audit.read()
    assert (entry["action"], entry["commit"]) == ("client.create", 1)
    result = await store.verify_audit()
    assert result.ok, result.problems
