"""What only the PostgreSQL backend has to show: clear errors when the database cannot
be reached, an outage survived without reopening and with nothing half-written, sealed
documents and digested personal index values, a second server, and migrations."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import timedelta

import msgspec
import pytest

from tests.pgserver import PgServer
from tests.seeding import seed
from tests.store.conftest import T0, client, message
from tlh.domain.messages import Message
from tlh.domain.models import Client
from tlh.domain.sessions import SessionSegment
from tlh.errors import StoreError
from tlh.services.context import SYSTEM
from tlh.store.base import Put, note
from tlh.store.pg.schema import CURRENT_VERSION
from tlh.store.pg.store import ADDED_INDEXES, PgStore
from tlh.store.seal import Sealer

NAME = "Zebulon Quixotic"
EMAIL = "zebulon.quixotic@example.org"


def dbname(url: str) -> str:
    return url.rsplit("/", 1)[1]


@pytest.fixture
async def pg(pg_url: str) -> AsyncIterator[PgStore]:
    store = PgStore(pg_url, wait_s=2.0)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def test_an_unreachable_database_is_one_clear_line(pg_cluster: PgServer) -> None:
    store = PgStore("postgresql://tlh:s3cretpw@127.0.0.1:1/practice")
    with pytest.raises(StoreError) as caught:
        await store.open()
    message = caught.value.message
    assert message.startswith("cannot reach the database at 127.0.0.1:1/practice")
    assert "\n" not in message
    assert "s3cretpw" not in message
    assert not store.is_open


async def test_a_bad_url_is_one_clear_line() -> None:
    with pytest.raises(StoreError, match="the database URL is not valid") as caught:
        await PgStore("postgresql://tlh:s3cretpw@host:notaport/x?bogus==").open()
    assert "s3cretpw" not in caught.value.message


async def test_a_database_lost_while_running_comes_back_by_itself(
    pg_cluster: PgServer, pg_url: str
) -> None:
    store = PgStore(pg_url, wait_s=2.0)
    await store.open()
    try:
        await seed(store, [Put(client("cli_1"))])
        pg_cluster.kill()
        try:
            with pytest.raises(StoreError, match="unreachable") as caught:
                await store.get(Client, "cli_1")
            assert "\n" not in caught.value.message
            with pytest.raises(StoreError):
                await seed(store, [Put(client("cli_2")), Put(client("cli_3"))])
        finally:
            pg_cluster.restart()
        async with asyncio.timeout(30):
            while True:  # the pool reconnects in the background; the store is not reopened
                try:
                    got = await store.get(Client, "cli_1")
                    break
                except StoreError:
                    await asyncio.sleep(0.2)
        assert got == client("cli_1")
        # The commit the outage cut off left nothing: no record, no audit entry.
        assert await store.get(Client, "cli_2") is None
        assert await store.count(Client) == 1
        result = await store.verify_audit()
        assert result.ok, result.problems
        assert result.entries == 1
        await seed(store, [Put(client("cli_4"))])
        assert (await store.verify_audit()).ok
    finally:
        await store.close()


async def test_a_failure_inside_the_transaction_rolls_everything_back(
    pg: PgStore,
) -> None:
    """PostgreSQL refuses a NUL in text: the index row of the second record fails after
    the records were written, and the whole commit goes, its audit entries with it."""
    await seed(pg, [Put(client("cli_0"))])
    ops = [Put(client("cli_1")), Put(client("cli_2", email="bad\x00@example.org"))]
    with pytest.raises(StoreError, match="refused to commit") as caught:
        await pg.commit(ops, audit=[note(SYSTEM, "client.create", "cli_1", "cli_2")])
    assert "bad" not in caught.value.message  # never the data it refused
    assert await pg.get(Client, "cli_1") is None
    assert await pg.count(Client) == 1
    assert [e["target"] for e in await pg.audit.read()] == ["cli_0"]
    assert (await pg.verify_audit()).ok


async def test_sealed_documents_and_index_values_give_nothing_away(
    pg_cluster: PgServer, pg_url: str
) -> None:
    kid = os.urandom(8)
    codec = Sealer({kid: os.urandom(32)}, kid)
    store = PgStore(pg_url, codec=codec)
    await store.open()
    try:
        person = Client(
            id="cli_1", name=NAME, email=EMAIL, external_id="CHART-991", created_at=T0,
            updated_at=T0,
        )  # fmt: skip
        await seed(store, [Put(person)])
        assert await store.get(Client, "cli_1") == person
        assert await store.find(Client, "email", EMAIL) == [person]
        assert await store.find(Client, "external_id", "CHART-991") == [person]
        assert (await store.verify_audit()).ok
    finally:
        await store.close()
    dump = pg_cluster.sql(
        "SELECT encode(doc, 'escape') FROM tlh_records; SELECT value FROM tlh_index; "
        "SELECT * FROM tlh_audit",
        dbname(pg_url),
    )
    for secret in ("Zebulon", "Quixotic", "zebulon", "CHART-991", "example.org"):
        assert secret not in dump
    # Without the key, the documents do not open.
    other = os.urandom(8)
    stranger = PgStore(pg_url, codec=Sealer({other: os.urandom(32)}, other))
    await stranger.open()
    try:
        with pytest.raises(StoreError, match="corrupt"):
            await stranger.get(Client, "cli_1")
        problems = (await stranger.verify_audit()).problems
        assert any("signed with a key" in p.reason for p in problems)
    finally:
        await stranger.close()


async def test_an_edited_or_deleted_audit_row_is_found(pg_cluster: PgServer, pg: PgStore) -> None:
    for n in range(3):
        await seed(pg, [Put(client(f"cli_{n}"))])
    db = dbname(pg._db.url)
    pg_cluster.sql("UPDATE tlh_audit SET action = 'test.other' WHERE seq = 2", db)
    result = await pg.verify_audit()
    assert not result.ok
    assert [p.line for p in result.problems] == [2]
    pg_cluster.sql("DELETE FROM tlh_audit WHERE seq >= 2", db)
    reasons = [p.reason for p in (await pg.verify_audit()).problems]
    assert any("the head says 3" in r for r in reasons)
    assert any("commit 2 is stored but has no audit entry" in r for r in reasons)
    assert any("clients record cli_2 is stored but no audit entry names it" in r for r in reasons)


async def test_a_second_server_sees_commits_and_policy_changes(pg_url: str) -> None:
    from tlh.domain.models import Policy

    one, two = PgStore(pg_url), PgStore(pg_url)
    await asyncio.gather(one.open(), two.open())  # migrate once, together
    try:
        await seed(one, [Put(client("cli_1"))])
        assert await two.get(Client, "cli_1") == client("cli_1")
        await seed(one, [Put(Policy(practice_name="Harbour"))])
        assert two.policy() is None  # until it hears of the change
        two.policy_changed()
        await two.reload_policy()
        assert two.policy() == Policy(practice_name="Harbour")
    finally:
        await asyncio.gather(one.close(), two.close())


async def test_migrations_run_once_and_refuse_a_newer_schema(
    pg_cluster: PgServer, pg_url: str
) -> None:
    stores = [PgStore(pg_url) for _ in range(3)]
    await asyncio.gather(*(s.open() for s in stores))
    await asyncio.gather(*(s.close() for s in stores))
    db = dbname(pg_url)
    version = pg_cluster.sql("SELECT value FROM tlh_meta WHERE key = 'schema_version'", db)
    assert version.strip() == str(CURRENT_VERSION)
    pg_cluster.sql("UPDATE tlh_meta SET value = '99' WHERE key = 'schema_version'", db)
    with pytest.raises(StoreError, match="schema version 99, newer than this tlh"):
        await PgStore(pg_url).open()


async def test_a_policy_commit_notifies_the_other_servers(pg_url: str, pg: PgStore) -> None:
    """What a second server's listener (``tlh.store.pg.notify``) hears, to call
    ``policy_changed``: ``NOTIFY tlh_policy``, sent when the commit is."""
    import psycopg

    from tlh.domain.models import Policy
    from tlh.store.pg.store import POLICY_CHANNEL

    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as listener:
        await listener.execute(f"LISTEN {POLICY_CHANNEL}")
        await seed(pg, [Put(Policy(practice_name="Harbour"))])
        async with asyncio.timeout(10):
            heard = [n.channel async for n in listener.notifies(stop_after=1)]
    assert heard == [POLICY_CHANNEL]


async def test_a_field_indexed_since_the_first_schema_is_indexed_at_the_next_open(
    pg_cluster: PgServer, pg_url: str, pg: PgStore
) -> None:
    """A database whose sessions and messages were stored before ``open_clinician_id``
    and ``link_id`` were indexed (their rows and ``tlh_meta``'s word removed here) gets
    the rows at the next open."""
    start = client("cli_1").created_at
    open_one = SessionSegment(id="ses_1", clinician_id="stf_1", started_at=start, started_by="x")
    ended = msgspec.structs.replace(open_one, id="ses_2", ended_at=start)
    invitation = message("msg_1", link_id="lnk_1")
    await seed(pg, [Put(open_one), Put(ended), Put(invitation), Put(message("msg_2"))])
    db = dbname(pg_url)
    pg_cluster.sql("DELETE FROM tlh_index WHERE field IN ('open_clinician_id', 'link_id')", db)
    pg_cluster.sql("DELETE FROM tlh_meta WHERE key LIKE 'indexed:%'", db)
    assert await pg.find(SessionSegment, "open_clinician_id", "stf_1") == []
    assert await pg.find(Message, "link_id", "lnk_1") == []

    again = PgStore(pg_url, wait_s=2.0)
    await again.open()
    try:
        found = await again.find(SessionSegment, "open_clinician_id", "stf_1")
        sent = await again.find(Message, "link_id", "lnk_1")
    finally:
        await again.close()
    assert [s.id for s in found] == ["ses_1"]
    assert sent == [invitation]
    assert pg_cluster.sql(
        "SELECT count(*) FROM tlh_meta WHERE key LIKE 'indexed:%'", db
    ).strip() == str(len(ADDED_INDEXES))


async def test_a_find_for_what_is_current_reads_no_older_record(
    pg_cluster: PgServer, pg_url: str, pg: PgStore
) -> None:
    """Index rows carry when their record ends: ``ending_after`` passes over the rows of
    records ended before it without reading them; rows written before the schema knew
    ends (``ends`` NULL) are read, as every row was."""
    old = SessionSegment(id="ses_old", clinician_id="stf_1", started_at=T0, started_by="x",
                         ended_at=T0)  # fmt: skip
    later = msgspec.structs.replace(old, id="ses_new", started_at=T0 + timedelta(days=60),
                                    ended_at=T0 + timedelta(days=60))  # fmt: skip
    still_open = msgspec.structs.replace(old, id="ses_open", ended_at=None)
    await seed(pg, [Put(old), Put(later), Put(still_open)])
    since = T0 + timedelta(days=30)
    found = await pg.find(SessionSegment, "clinician_id", "stf_1", ending_after=since)
    assert [s.id for s in found] == ["ses_new", "ses_open"]
    everything = await pg.find(SessionSegment, "clinician_id", "stf_1")
    assert [s.id for s in everything] == ["ses_new", "ses_old", "ses_open"]
    pg_cluster.sql("UPDATE tlh_index SET ends = NULL WHERE id = 'ses_old'", dbname(pg_url))
    found = await pg.find(SessionSegment, "clinician_id", "stf_1", ending_after=since)
    assert [s.id for s in found] == ["ses_new", "ses_old", "ses_open"]
