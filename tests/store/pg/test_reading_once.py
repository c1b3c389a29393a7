"""``PgStore.reading_once``: within the block a task asks the database for each record
and each find once; a commit on this server is read at once; another writer's change
(here: a row changed in the database behind the store, as another server would) is
seen once the block ends; a task started in the block reads the database as ever."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import msgspec
import psycopg
import pytest

from tests.seeding import seed
from tests.store.conftest import client
from tlh.domain.models import Client
from tlh.store.base import Put
from tlh.store.pg.store import PgStore

EMAIL = "robin.once@example.org"


@pytest.fixture
async def pg(pg_url: str) -> AsyncIterator[PgStore]:
    store = PgStore(pg_url, wait_s=2.0)  # documents in clear: changed below as SQL
    await store.open()
    try:
        await seed(store, [Put(client("cli_1", EMAIL))])
        yield store
    finally:
        await store.close()


async def renamed_elsewhere(url: str, name: str) -> None:
    """The client's name changed in the database, not through this store."""
    changed = msgspec.structs.replace(client("cli_1", EMAIL), name=name)
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(
            "UPDATE tlh_records SET doc = %s WHERE kind = 'clients' AND id = 'cli_1'",
            (msgspec.json.encode(changed),),
        )


async def names(store: PgStore) -> tuple[str | None, list[str]]:
    got = await store.get(Client, "cli_1")
    return (got.name if got else None), [c.name for c in await store.find(Client, "email", EMAIL)]


async def test_a_task_reads_each_record_once_in_the_block(pg: PgStore, pg_url: str) -> None:
    with pg.reading_once():
        assert await names(pg) == ("Test Person", ["Test Person"])
        await renamed_elsewhere(pg_url, "Elsewhere")
        assert await names(pg) == ("Test Person", ["Test Person"])  # asked once
        # A task started here reads the database.
        assert await asyncio.create_task(names(pg)) == ("Elsewhere", ["Elsewhere"])
    assert await names(pg) == ("Elsewhere", ["Elsewhere"])


async def test_a_commit_on_this_server_is_read_at_once(pg: PgStore) -> None:
    with pg.reading_once():
        assert await names(pg) == ("Test Person", ["Test Person"])
        # Written by another task (the rooms write in one of their own).
        renamed = msgspec.structs.replace(client("cli_1", EMAIL), name="Here")
        await asyncio.create_task(seed(pg, [Put(renamed)]))
        assert await names(pg) == ("Here", ["Here"])
