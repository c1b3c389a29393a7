"""A live entry's record is kept as given (the rooms' own object), never a record that
would read back differently after a restart (``tlh.store.given``)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from msgspec.structs import replace

from tests.seeding import seed
from tests.store.conftest import client
from tlh.domain.links import Channel, ParticipantKind
from tlh.domain.live_records import RoomRecord
from tlh.domain.models import Client
from tlh.domain.rooms import EntryState, RoomEntry
from tlh.store.base import Put
from tlh.store.given import identical
from tlh.store.tinystore import TinyStore

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def _record(at: datetime = T0, **changes: object) -> RoomRecord:
    entry = RoomEntry(
        id="ent_1", clinician_id="stf_a", link_id="lnk_1", participant=ParticipantKind.CLIENT,
        client_id="cli_1", appointment_id="apt_1", channel=Channel.EMAIL, arrived_at=at,
        state_since=at, device_id="dev_1",
    )  # fmt: skip
    return RoomRecord(id=entry.id, entry=replace(entry, **changes))


async def test_memory_keeps_a_live_entry_as_given(store: TinyStore, data_dir: Path) -> None:
    given = _record()
    await seed(store, [Put(given)])
    assert await store.get(RoomRecord, "ent_1") is given
    await store.close()
    again = TinyStore(data_dir)
    await again.open()
    assert await again.get(RoomRecord, "ent_1") == given  # what a restart reads back
    await again.close()


async def test_a_record_that_would_read_back_otherwise_is_the_decoded_copy(
    store: TinyStore,
) -> None:
    # The same instant in New York's zone: equal, but a restart reads it back in a fixed
    # offset, so memory must hold that, not the given zone.
    local = T0.astimezone(ZoneInfo("America/New_York"))
    given = _record(at=local)
    await seed(store, [Put(given)])
    kept = await store.get(RoomRecord, "ent_1")
    assert kept == given
    assert kept is not given
    assert kept is not None
    assert not isinstance(kept.entry.arrived_at.tzinfo, ZoneInfo)


async def test_other_tables_keep_the_decoded_copy(store: TinyStore) -> None:
    given = client("c1")
    await seed(store, [Put(given)])
    kept = await store.get(Client, "c1")
    assert kept == given
    assert kept is not given


def test_identical_means_equal_and_of_the_same_types() -> None:
    record = _record()
    assert identical(record, _record())
    assert not identical(record, _record(device_id="dev_2"))
    # Equal values of other types: a plain string for an enum, a list for a tuple, the
    # same instant in another zone.
    assert str(EntryState.WAITING) == EntryState.WAITING
    assert not identical(record, _record(state="waiting"))
    assert not identical(_record(replies=()), _record(replies=[]))
    assert not identical(record, _record(at=T0.astimezone(ZoneInfo("Europe/Paris"))))
