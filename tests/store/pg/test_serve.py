"""``tlh init --store`` and ``tlh serve`` on PostgreSQL, as a practice runs them: the CLI
and the server as child processes, a real PostgreSQL (its own cluster where a test
stops it), and what a database outage looks like from the outside."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.ops.running import serving, tlh_run
from tests.pgserver import PgServer, running
from tests.serving import free_port
from tests.store.pg.practice import call, init_on, readiness, second_server_dir


def test_init_puts_the_practice_in_the_database_and_two_servers_share_it(
    tmp_path: Path, pg_url: str, pg_cluster: PgServer
) -> None:
    data_dir, token, key_file = init_on(tmp_path, pg_url)
    toml = (data_dir / "tlh.toml").read_text()
    assert "[store]" in toml
    assert not (data_dir / "meta.json").exists()  # no embedded store was made
    other = second_server_dir(tmp_path, data_dir)
    with (
        serving(data_dir, "--key-file", str(key_file)) as (_, a_url, _),
        serving(other, "--key-file", str(key_file)) as (_, b_url, _),
    ):
        status, made = asyncio.run(
            call(a_url, token, "POST", "/api/v1/clients", {"name": "Ada Example"})
        )
        assert status == 201, made
        status, listed = asyncio.run(call(b_url, token, "GET", "/api/v1/clients"))
        assert status == 200
        assert [c["id"] for c in listed["items"]] == [made["id"]]
        # Both serve the live rooms (the balancer sends pages to either).
        ready = asyncio.run(readiness(token, a_url, b_url))
        everyone = {"ok": True, "store": True, "outbox": True, "rooms": True}
        assert ready == [(200, everyone), (200, everyone)]
    # Sealed: the database holds no name in clear.
    dbname = pg_url.rsplit("/", 1)[1]
    dumped = pg_cluster.sql("SELECT encode(doc, 'escape') FROM tlh_records", dbname)
    assert "Ada Example" not in dumped


def test_a_server_without_the_key_cannot_open_the_database(tmp_path: Path, pg_url: str) -> None:
    data_dir, _, _ = init_on(tmp_path, pg_url)
    other = second_server_dir(tmp_path, data_dir)
    wrong = tmp_path / "wrong.key"
    wrong.write_bytes(os.urandom(32))
    wrong.chmod(0o600)
    done = tlh_run(
        "serve", "--data-dir", str(other), "--port", str(free_port()), "--key-file", str(wrong)
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_an_unreachable_database_stops_start_up_with_one_line(tmp_path: Path) -> None:
    data_dir = tmp_path / "d"
    data_dir.mkdir()
    url = f"postgresql://tlh:hunter2-secret@127.0.0.1:{free_port()}/tlh"
    done = tlh_run("serve", "--data-dir", str(data_dir), "--port", str(free_port()), "--store", url)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "cannot reach the database" in lines[0]
    assert "hunter2-secret" not in done.stderr


def test_a_store_that_is_not_postgresql_is_refused(tmp_path: Path) -> None:
    done = tlh_run(
        "serve", "--data-dir", str(tmp_path), "--port", str(free_port()),
        "--store", "mysql://db/tlh",
    )  # fmt: skip
    assert done.returncode != 0
    assert done.stderr.strip().endswith("--store must be a postgresql:// URL")


#: How soon a request during an outage is answered 503 (the pool's wait is 10 s).
OUTAGE_ANSWER_S = 4.0


@pytest.fixture
def own_cluster() -> Iterator[PgServer]:
    """A PostgreSQL of this test's own: the test stops and starts it."""
    with running() as server:
        yield server


def test_a_database_outage_is_503_then_heals_by_itself(
    tmp_path: Path, own_cluster: PgServer
) -> None:
    url = own_cluster.database()
    data_dir, token, key_file = init_on(tmp_path, url)
    with serving(data_dir, "--key-file", str(key_file)) as (proc, base, log):
        asyncio.run(_outage(own_cluster, base, token))
        assert proc.poll() is None  # the server rode it out
    assert "Traceback" not in log.read_text()


async def _outage(cluster: PgServer, base: str, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as session:
        events = await session.ws_connect(base + "/api/v1/events", headers=headers)
        async with session.post(
            base + "/api/v1/clients", json={"name": "Before Outage"}, headers=headers
        ) as r:
            assert r.status == 201
        await asyncio.to_thread(cluster.kill)
        # Refused within seconds, not after the pool's whole wait (twice, for a read).
        async with asyncio.timeout(OUTAGE_ANSWER_S):
            async with session.post(
                base + "/api/v1/clients", json={"name": "During Outage"}, headers=headers
            ) as r:
                assert r.status == 503
                error = (await r.json())["error"]
                assert error["code"] == "store_unavailable"
                assert "During Outage" not in json.dumps(error)
        async with asyncio.timeout(OUTAGE_ANSWER_S):
            async with session.get(base + "/api/v1/clients", headers=headers) as r:
                assert r.status == 503
        assert not events.closed  # staff sockets stay up through the outage
        await asyncio.to_thread(cluster.restart)
        # It heals by itself: poll (bounded) until a read works again.
        status = 0
        async with asyncio.timeout(30):
            while status != 200:
                async with session.get(base + "/api/v1/clients", headers=headers) as r:
                    status = r.status
                    listed = await r.json() if status == 200 else None
                if status != 200:
                    await asyncio.sleep(0.2)  # polling a recovery, bounded by the timeout
        assert listed is not None
        names = sorted(c["name"] for c in listed["items"])
        assert names == ["Before Outage"]  # the refused write left nothing half-done
        assert not events.closed
        await events.close()
