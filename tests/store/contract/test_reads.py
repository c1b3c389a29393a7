"""get, all, count and find: typed records back, indexes kept through replaces and
deletes (scalar and tuple fields, ``None``), and a reopen keeps it all."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest

from tests.seeding import seed
from tests.store.conftest import T0, appt, client
from tests.store.contract.conftest import Backend, Store
from tlh.domain.models import Appointment, Client, Role, Staff
from tlh.domain.sessions import SessionSegment
from tlh.errors import InvalidInput
from tlh.store.base import Delete, Put


def staff(id: str, email: str) -> Staff:
    return Staff(id=id, email=email, name="Staff Person", role=Role.CLINICIAN,
                 created_at=T0, updated_at=T0)  # fmt: skip


async def seed_sample(store: Store) -> None:
    await seed(
        store,
        [
            Put(client("cli_1", email="a@example.org", external_id="EXT-1")),
            Put(client("cli_2", email="b@example.org")),
            Put(client("cli_3")),
            Put(staff("stf_1", "doc@example.org")),
            Put(appt("apt_1", client_ids=("cli_1", "cli_2"), external_id="E1")),
            Put(appt("apt_2", start=T0 + timedelta(hours=2), client_ids=("cli_2",))),
            Put(appt("apt_3", start=T0 + timedelta(days=1))),
        ],
    )


async def test_get_all_count_give_typed_records(store: Store) -> None:
    await seed_sample(store)
    got = await store.get(Client, "cli_1")
    assert got == client("cli_1", email="a@example.org", external_id="EXT-1")
    assert isinstance(got, Client)
    assert await store.get(Client, "cli_9") is None
    assert await store.get(Appointment, "cli_1") is None  # ids are per table
    assert sorted(c.id for c in await store.all(Client)) == ["cli_1", "cli_2", "cli_3"]
    assert await store.count(Client) == 3
    assert await store.count(Appointment) == 3
    assert await store.count(Staff) == 1


async def test_find_by_scalar_tuple_and_none(store: Store) -> None:
    await seed_sample(store)
    assert [c.id for c in await store.find(Client, "email", "b@example.org")] == ["cli_2"]
    assert [c.id for c in await store.find(Client, "external_id", "EXT-1")] == ["cli_1"]
    assert [s.id for s in await store.find(Staff, "email", "doc@example.org")] == ["stf_1"]
    assert [a.id for a in await store.find(Appointment, "external_id", "E1")] == ["apt_1"]
    # A tuple field: the records whose tuple holds the value, by id.
    assert [a.id for a in await store.find(Appointment, "client_ids", "cli_2")] == [
        "apt_1",
        "apt_2",
    ]
    assert await store.find(Appointment, "client_ids", "cli_3") == []
    # None: the records whose field is None.
    assert sorted(c.id for c in await store.find(Client, "external_id", None)) == [
        "cli_2",
        "cli_3",
    ]
    assert sorted(a.id for a in await store.find(Appointment, "series_id", None)) == [
        "apt_1",
        "apt_2",
        "apt_3",
    ]
    with pytest.raises(InvalidInput, match=r"clients\.name is not indexed"):
        await store.find(Client, "name", "Test Person")


async def test_find_many_and_get_many_answer_as_find_and_get_do(store: Store) -> None:
    await seed_sample(store)
    emails = ["b@example.org", "nobody@example.org"]
    found = await store.find_many(Client, "email", emails)
    assert {v: [c.id for c in cs] for v, cs in found.items()} == {
        "b@example.org": ["cli_2"],
        "nobody@example.org": [],
    }
    found_ext = await store.find_many(Client, "external_id", ["EXT-1"])
    assert {v: [c.id for c in cs] for v, cs in found_ext.items()} == {"EXT-1": ["cli_1"]}
    by_client = await store.find_many(Appointment, "client_ids", ["cli_2", "cli_3"])
    assert {v: [a.id for a in cs] for v, cs in by_client.items()} == {
        "cli_2": ["apt_1", "apt_2"],
        "cli_3": [],
    }
    assert await store.find_many(Client, "email", []) == {}
    with pytest.raises(InvalidInput, match=r"clients\.name is not indexed"):
        await store.find_many(Client, "name", ["Test Person"])
    got = await store.get_many(Appointment, ["apt_2", "apt_nope", "apt_1"])
    assert got == {
        "apt_1": await store.get(Appointment, "apt_1"),
        "apt_2": await store.get(Appointment, "apt_2"),
    }
    assert await store.get_many(Client, []) == {}


async def test_replace_and_delete_move_the_index(store: Store) -> None:
    await seed_sample(store)
    old = await store.get(Client, "cli_1")
    assert old is not None
    moved = msgspec.structs.replace(old, email="new@example.org", external_id=None)
    apt = await store.get(Appointment, "apt_1")
    assert apt is not None
    await seed(
        store,
        [
            Put(moved),
            Put(msgspec.structs.replace(apt, client_ids=("cli_3",))),
            Delete(Appointment, "apt_2"),
        ],
    )
    assert await store.find(Client, "email", "a@example.org") == []
    assert [c.id for c in await store.find(Client, "email", "new@example.org")] == ["cli_1"]
    assert await store.find(Client, "external_id", "EXT-1") == []
    assert "cli_1" in {c.id for c in await store.find(Client, "external_id", None)}
    assert await store.find(Appointment, "client_ids", "cli_2") == []
    assert [a.id for a in await store.find(Appointment, "client_ids", "cli_3")] == ["apt_1"]
    assert await store.get(Appointment, "apt_2") is None
    assert await store.count(Appointment) == 2


async def test_a_later_op_on_the_same_record_wins(store: Store) -> None:
    await seed(
        store,
        [Put(client("cli_1", email="x@example.org")), Delete(Client, "cli_1"),
         Put(client("cli_2")), Put(client("cli_2", email="y@example.org"))],
    )  # fmt: skip
    assert await store.get(Client, "cli_1") is None
    assert await store.find(Client, "email", "x@example.org") == []
    assert [c.id for c in await store.find(Client, "email", "y@example.org")] == ["cli_2"]


async def test_reopen_keeps_records_and_indexes(backend: Backend) -> None:
    first = backend.make()
    await first.open()
    await seed_sample(first)
    await first.close()
    again = backend.make()
    await again.open()
    try:
        assert await again.count(Client) == 3
        assert [c.id for c in await again.find(Client, "email", "b@example.org")] == ["cli_2"]
        assert [a.id for a in await again.find(Appointment, "client_ids", "cli_1")] == ["apt_1"]
        assert [a.id for a in await again.appointments_between(T0, T0 + timedelta(days=2))] == [
            "apt_1",
            "apt_2",
            "apt_3",
        ]
        assert (await again.verify_audit()).ok
    finally:
        await again.close()


def segment(id: str, clinician_id: str, *, ended: bool = False) -> SessionSegment:
    return SessionSegment(id=id, clinician_id=clinician_id, started_at=T0, started_by="stf_1",
                          ended_at=T0 + timedelta(hours=1) if ended else None)  # fmt: skip


async def test_a_clinicians_open_segments_are_found_without_their_history(
    store: Store,
) -> None:
    """``open_clinician_id`` holds the clinician only while the segment is open: a
    segment that ends leaves that index, and ended ones are never in it."""
    await seed(
        store,
        [Put(segment(f"ses_{i}", "stf_1", ended=True)) for i in range(5)]
        + [Put(segment("ses_open", "stf_1")), Put(segment("ses_other", "stf_2"))],
    )
    assert [s.id for s in await store.find(SessionSegment, "open_clinician_id", "stf_1")] == [
        "ses_open"
    ]
    await seed(store, [Put(segment("ses_open", "stf_1", ended=True))])
    assert await store.find(SessionSegment, "open_clinician_id", "stf_1") == []
    assert len(await store.find(SessionSegment, "clinician_id", "stf_1")) == 6
