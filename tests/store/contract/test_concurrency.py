"""``update`` serialises the changes of one record and ``locked`` excludes other holders:
no change is lost, no check is raced; for a shared backend, across servers too."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import msgspec
import pytest

from tests.seeding import seed
from tests.store.conftest import client
from tests.store.contract.conftest import Backend, Store
from tlh.domain.models import Client
from tlh.services.context import SYSTEM
from tlh.store.base import Put, note, record_key

N = 40


@pytest.fixture
async def stores(backend: Backend, store: Store) -> AsyncIterator[list[Store]]:
    """The test's store, and for a shared backend a second server over the same data."""
    if not backend.shared:
        yield [store]
        return
    second = backend.make()
    await second.open()
    try:
        yield [store, second]
    finally:
        await second.close()


def add_clinician(n: int):  # type: ignore[no-untyped-def]
    def change(c: Client | None) -> Client | None:
        assert c is not None
        return msgspec.structs.replace(c, clinician_ids=(*c.clinician_ids, f"stf_{n}"))

    return change


async def test_concurrent_updates_of_one_record_lose_none(stores: list[Store]) -> None:
    await seed(stores[0], [Put(client("cli_1"))])
    audit = [note(SYSTEM, "client.update", "cli_1")]
    async with asyncio.timeout(60):
        await asyncio.gather(
            *(
                stores[n % len(stores)].update(Client, "cli_1", add_clinician(n), audit=audit)
                for n in range(N)
            )
        )
    final = await stores[-1].get(Client, "cli_1")
    assert final is not None
    assert sorted(final.clinician_ids) == sorted(f"stf_{n}" for n in range(N))
    result = await stores[0].verify_audit()
    assert result.ok, result.problems
    assert result.entries == N + 1


async def test_locked_excludes_other_holders_and_shows_their_commits(
    stores: list[Store],
) -> None:
    """Each holder counts the clients and adds the next one: a holder that ran beside
    another, or did not see its commit, would write an id twice."""

    async def next_client(store: Store) -> None:
        async with store.locked("clients:numbering"):
            n = await store.count(Client)
            await store.commit(
                [Put(client(f"cli_{n}"))], audit=[note(SYSTEM, "client.create", f"cli_{n}")]
            )

    async with asyncio.timeout(60):
        await asyncio.gather(*(next_client(stores[n % len(stores)]) for n in range(N)))
    assert await stores[0].count(Client) == N


async def test_a_held_key_keeps_the_next_holder_out_until_released(
    stores: list[Store],
) -> None:
    holder, other = stores[0], stores[-1]
    order: list[str] = []

    async def second() -> None:
        async with other.locked("schedule:stf_1"):
            order.append("second in")

    async with asyncio.timeout(30):
        async with holder.locked("schedule:stf_1", "clients:numbering"):
            waiting = asyncio.ensure_future(second())
            done, _ = await asyncio.wait([waiting], timeout=0.3)
            assert not done  # queued behind the holder
            order.append("first out")
        await waiting
    assert order == ["first out", "second in"]


async def test_locked_on_a_record_key_holds_off_its_update(stores: list[Store]) -> None:
    holder, other = stores[0], stores[-1]
    await seed(holder, [Put(client("cli_1"))])
    audit = [note(SYSTEM, "client.update", "cli_1")]
    async with asyncio.timeout(30):
        async with holder.locked(record_key(Client, "cli_1")):
            update = asyncio.ensure_future(
                other.update(Client, "cli_1", add_clinician(1), audit=audit)
            )
            done, _ = await asyncio.wait([update], timeout=0.3)
            assert not done  # waits for the key
            current = await holder.get(Client, "cli_1")
            assert current is not None
            await holder.commit(
                [Put(msgspec.structs.replace(current, clinician_ids=("stf_0",)))], audit=audit
            )
        final = await update
    # The update read the record after the holder's commit, not before.
    assert final is not None
    assert final.clinician_ids == ("stf_0", "stf_1")


async def test_a_holder_that_gave_up_waiting_leaves_no_lock_behind(stores: list[Store]) -> None:
    """A request that times out while queued for a key (on another server) must neither
    hold it later nor spoil the connection it waited on."""
    holder, other = stores[0], stores[-1]
    async with holder.locked("schedule:stf_1"):
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3), other.locked("schedule:stf_1"):
                pass
    async with asyncio.timeout(10):
        for _ in range(3):
            async with other.locked("schedule:stf_1"):
                pass
            async with holder.locked("schedule:stf_1"):
                pass
