"""Commits are all or nothing, the change and its audit entries alike, and every record
they write is named by an audit note."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.seeding import seed
from tests.store.conftest import T0, appt, client
from tests.store.contract.conftest import Backend, Store
from tlh.domain.models import Appointment, Client, Policy
from tlh.errors import InvalidInput
from tlh.services.context import SYSTEM
from tlh.store.base import Put, note


async def test_a_commit_missing_a_note_writes_nothing(store: Store) -> None:
    ops = [Put(client("cli_1")), Put(client("cli_2"))]
    with pytest.raises(InvalidInput, match="no audit note names cli_2"):
        await store.commit(ops, audit=[note(SYSTEM, "client.create", "cli_1")])
    assert await store.count(Client) == 0
    assert await store.audit.read() == []
    assert (await store.verify_audit()).ok


async def test_a_bad_op_anywhere_rolls_back_the_whole_commit(store: Store) -> None:
    naive = appt("apt_2", start=datetime(2026, 3, 10, 9, 0))
    ops = [Put(client("cli_1")), Put(appt("apt_1")), Put(naive)]
    with pytest.raises(InvalidInput):
        await store.commit(ops, audit=[note(SYSTEM, "x.y", "cli_1", "apt_1", "apt_2")])
    assert await store.count(Client) == 0
    assert await store.count(Appointment) == 0
    assert await store.audit.read() == []


async def test_a_record_of_the_wrong_shape_is_refused(store: Store) -> None:
    bad = Client(id="cli_1", name=12, created_at=T0, updated_at=T0)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        await seed(store, [Put(bad)])
    assert await store.get(Client, "cli_1") is None


async def test_commits_write_numbered_audit_entries(store: Store) -> None:
    await store.commit(
        [Put(client("cli_1")), Put(appt("apt_1", client_ids=("cli_1",)))],
        audit=[note(SYSTEM, "appointment.create", "apt_1"), note(SYSTEM, "client.create", "cli_1")],
    )
    await store.commit([Put(client("cli_2"))], audit=[note(SYSTEM, "client.create", "cli_2")])
    await store.audit.append(SYSTEM, "client.read", "cli_2")
    await store.audit.barrier()
    entries = await store.audit.read()
    assert [(e["action"], e["target"], e.get("commit")) for e in entries] == [
        ("appointment.create", "apt_1", 1),
        ("client.create", "cli_1", 1),
        ("client.create", "cli_2", 2),
        ("client.read", "cli_2", None),
    ]
    assert [e["seq"] for e in entries] == [1, 2, 3, 4]
    assert entries[0]["actor"] == {"kind": "system", "id": "system", "role": None}
    assert entries[1]["prev"] == entries[0]["hash"]
    result = await store.verify_audit()
    assert result.ok, result.problems
    assert result.entries == 4


async def test_read_pages_and_export(store: Store) -> None:
    for n in range(5):
        await seed(store, [Put(client(f"cli_{n}"))])
    assert [e["target"] for e in await store.audit.read(limit=2)] == ["cli_3", "cli_4"]
    assert [e["target"] for e in await store.audit.read(since=T0.replace(year=2000), limit=2)] == [
        "cli_0",
        "cli_1",
    ]
    exported = b"".join([chunk async for chunk in store.audit.export()])
    lines = exported.splitlines()
    assert len(lines) == 5
    assert exported.endswith(b"\n")
    import msgspec

    assert [msgspec.json.decode(line) for line in lines] == await store.audit.read()


async def test_policy_is_served_from_memory_after_a_commit(backend: Backend) -> None:
    store = backend.make()
    await store.open()
    try:
        assert store.policy() is None
        policy = Policy(practice_name="Harbour Practice")
        await seed(store, [Put(policy)])
        assert store.policy() == policy
    finally:
        await store.close()
    again = backend.make()
    await again.open()
    try:
        assert again.policy() == policy
    finally:
        await again.close()


async def test_update_writes_nothing_when_the_change_keeps_the_record(store: Store) -> None:
    await seed(store, [Put(client("cli_1"))])
    before = len(await store.audit.read())
    kept = await store.update(
        Client, "cli_1", lambda c: c, audit=[note(SYSTEM, "client.update", "cli_1")]
    )
    assert kept == client("cli_1")
    none = await store.update(
        Client, "cli_9", lambda c: None, audit=[note(SYSTEM, "client.update", "cli_9")]
    )
    assert none is None
    assert len(await store.audit.read()) == before
