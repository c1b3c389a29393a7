"""``TinyStore.update``: read-modify-write of one record, queued per record.

Reads see a commit only once it is durable, so two "get, change, commit" sequences on
one record could each miss the other's write. Updates of one record queue instead."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from tests.seeding import seed
from tlh.domain.sessions import Participation, SessionSegment
from tlh.services.context import SYSTEM
from tlh.store.base import Put, note
from tlh.store.tinystore import TinyStore

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
AUDIT = {sid: [note(SYSTEM, "test.update", sid)] for sid in ("ses_1", "ses_nope")}


def _segment() -> SessionSegment:
    return SessionSegment(id="ses_1", clinician_id="stf_1", started_at=NOW, started_by="stf_1")


def _joined(peer: str) -> Participation:
    return Participation(peer_id=peer, kind="guest", joined_at=NOW)


async def test_concurrent_updates_of_one_record_keep_every_change(store: TinyStore) -> None:
    await seed(store, [Put(_segment())])

    def add(peer: str) -> object:
        def change(found: object) -> SessionSegment:
            assert isinstance(found, SessionSegment)
            return msgspec.structs.replace(found, participants=(*found.participants, _joined(peer)))

        return change

    await asyncio.gather(
        *(
            store.update(SessionSegment, "ses_1", add(f"p{n}"), audit=AUDIT["ses_1"])
            for n in range(20)
        )
    )
    stored = await store.get(SessionSegment, "ses_1")
    assert stored is not None
    assert sorted(p.peer_id for p in stored.participants) == sorted(f"p{n}" for n in range(20))
    assert store._record_locks == {}  # nothing kept once every update is done


async def test_get_then_commit_would_lose_one_of_them(store: TinyStore) -> None:
    """The race ``update`` exists for: shown with two plain read-then-commit writers."""
    await seed(store, [Put(_segment())])

    async def add(peer: str) -> None:
        found = await store.get(SessionSegment, "ses_1")
        assert found is not None
        await seed(store, [Put(msgspec.structs.replace(found, participants=(_joined(peer),)))])

    await asyncio.gather(add("a"), add("b"))
    stored = await store.get(SessionSegment, "ses_1")
    assert stored is not None
    assert len(stored.participants) == 1  # one write undid the other


async def test_no_change_writes_nothing_and_a_failed_change_unlocks(store: TinyStore) -> None:
    await seed(store, [Put(_segment())])
    before = store._seq
    assert (
        await store.update(SessionSegment, "ses_1", lambda found: found, audit=AUDIT["ses_1"])
        == _segment()
    )
    assert (
        await store.update(SessionSegment, "ses_nope", lambda found: None, audit=AUDIT["ses_nope"])
        is None
    )
    assert store._seq == before

    def boom(found: object) -> SessionSegment:
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        await store.update(SessionSegment, "ses_1", boom, audit=AUDIT["ses_1"])
    assert store._record_locks == {}
    await asyncio.wait_for(
        store.update(
            SessionSegment,
            "ses_1",
            lambda f: msgspec.structs.replace(f, relayed=True),
            audit=AUDIT["ses_1"],
        ),
        5,
    )
    stored = await store.get(SessionSegment, "ses_1")
    assert stored is not None
    assert stored.relayed


async def test_an_update_cancelled_during_its_commit_holds_the_record_until_it_lands(
    store: TinyStore,
) -> None:
    """A socket handler cancelled mid-leave (shutdown): its write still lands, and the
    update queued behind it must read it, not the record from before."""
    await seed(store, [Put(_segment())])

    def add(peer: str) -> Any:
        def change(found: Any) -> SessionSegment:
            return msgspec.structs.replace(found, participants=(*found.participants, _joined(peer)))

        return change

    first = asyncio.ensure_future(
        store.update(SessionSegment, "ses_1", add("a"), audit=AUDIT["ses_1"])
    )
    await asyncio.sleep(0)
    await asyncio.sleep(0)  # the first holds the record and is committing
    second = asyncio.ensure_future(
        store.update(SessionSegment, "ses_1", add("b"), audit=AUDIT["ses_1"])
    )
    await asyncio.sleep(0)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    await asyncio.wait_for(second, 5)
    stored = await store.get(SessionSegment, "ses_1")
    assert stored is not None
    assert {p.peer_id for p in stored.participants} == {"a", "b"}
