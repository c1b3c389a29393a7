"""An encrypted practice of the schema before (each table in one file) started with
``tlh serve`` as users run it: kept aside, split by month, its old messages left on disk
and still listed when asked for by day; a restart then leaves them out of memory."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.seeding import seed
from tests.serving import free_port, stop, wait_healthy
from tests.store.conftest import message
from tests.store.test_history_months import as_schema_2
from tlh.services.bootstrap import init_practice
from tlh.store.base import Put
from tlh.store.keys import KeySource, NewKeys, codec_for
from tlh.store.layout import read_manifest, read_meta
from tlh.store.tinystore import TinyStore

pytestmark = pytest.mark.timeout(120)


async def serve(data_dir: Path, key_file: Path, log: Path) -> tuple[subprocess.Popen[Any], str]:
    port = free_port()
    argv = [sys.executable, "-m", "tlh", "serve", "--data-dir", str(data_dir), "--port", str(port)]
    env = {**os.environ, "TLH_CONFIG": os.devnull, "TLH_KEY_FILE": str(key_file)}
    with log.open("ab") as sink:
        proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    await asyncio.to_thread(wait_healthy, url, proc, log=log)
    return proc, url


async def outbox(url: str, token: str, since: str | None = None) -> list[str]:
    query = f"?since={since}" if since else ""
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.get(f"{url}/api/v1/outbox{query}") as r,
    ):
        assert r.status == 200, await r.text()
        return [m["id"] for m in (await r.json())["items"]]


async def test_a_practice_of_the_schema_before_is_split_when_served(tmp_path: Path) -> None:
    data_dir, key_dir = tmp_path / "data", tmp_path / "keys"
    token = await init_practice(
        data_dir, "Harbour", "UTC", "a@example.org", encrypt=NewKeys(key_dir=key_dir)
    )
    (key_file,) = key_dir.iterdir()
    keys = KeySource(key_file=key_file)
    now = datetime.now(UTC)
    store = TinyStore(data_dir, keys=keys)
    await store.open()
    old = [Put(message(f"msg_old{n}", datetime(2024, 1 + n, 10, tzinfo=UTC))) for n in range(6)]
    await seed(store, [*old, Put(message("msg_new", now - timedelta(minutes=1)))])
    await store.close()
    codec = codec_for(data_dir, keys)
    as_schema_2(data_dir, codec)
    log = tmp_path / "serve.log"

    proc, url = await serve(data_dir, key_file, log)
    try:
        assert await outbox(url, token) == ["msg_new"]
        listed = await outbox(url, token, since="2024-01-01")
        assert listed == [*(f"msg_old{n}" for n in range(6)), "msg_new"]
    finally:
        stop(proc)
    said = log.read_text(errors="replace")
    assert "upgraded from schema 2 to 4" in said
    assert read_meta(data_dir).schema_version == 4
    assert not (data_dir / "db" / "messages.json").exists()
    manifest = read_manifest(data_dir, codec)
    assert sorted(manifest.partitions["messages"])[:6] == [f"2024-0{n}" for n in range(1, 7)]

    proc, url = await serve(data_dir, key_file, log)  # the old months now stay on disk
    try:
        assert await outbox(url, token, since="2024-03-01") == [
            *(f"msg_old{n}" for n in range(2, 6)), "msg_new",
        ]  # fmt: skip
        # This month's sent message waited in its file while the server started; it is
        # taken in once the server listens, and listed the same.
        await logged(log, "1 record(s) of this month's finished trail taken in")
        assert await outbox(url, token) == ["msg_new"]
    finally:
        stop(proc)


async def logged(log: Path, text: str, timeout_s: float = 15.0) -> None:
    """Wait until the server's log says ``text``."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while text not in log.read_text(errors="replace"):
        assert asyncio.get_running_loop().time() < deadline, f"the log never said {text!r}"
        await asyncio.sleep(0.05)  # polling a file the server appends to, bounded above
