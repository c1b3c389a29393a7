"""One server per data dir (checked from a second process) and schema migrations."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.seeding import seed
from tests.store.conftest import client
from tlh.domain.models import Client
from tlh.errors import StoreError, StoreLocked
from tlh.store import migrations
from tlh.store.base import Put
from tlh.store.lock import DataDirLock
from tlh.store.seal import Codec
from tlh.store.tinystore import TinyStore

TRY_OPEN = """
import asyncio, sys
from tlh.errors import StoreLocked
from tlh.store.tinystore import TinyStore
from tests.seeding import seed
async def main():
    try:
        await TinyStore(sys.argv[1]).open()
    except StoreLocked as exc:
        print("LOCKED", exc.message)
        return
    print("OPENED")
asyncio.run(main())
"""


def _try_open_elsewhere(data_dir: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", TRY_OPEN, str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


async def test_second_process_is_refused_while_open(store: TinyStore) -> None:
    out = _try_open_elsewhere(store.data_dir)
    assert out.startswith("LOCKED")
    assert "in use by another tlh server" in out
    assert f"(pid {os.getpid()})" in out


async def test_lock_is_released_on_close(data_dir: Path) -> None:
    s = TinyStore(data_dir)
    await s.open()
    await s.close()
    assert _try_open_elsewhere(data_dir) == "OPENED"


def test_second_lock_object_in_process_is_refused(data_dir: Path) -> None:
    with DataDirLock(data_dir), pytest.raises(StoreLocked):
        DataDirLock(data_dir).acquire()


async def test_migration_runs_in_order_and_bumps_version(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = TinyStore(data_dir)
    await s.open()
    await seed(s, [Put(client("c1"))])
    await s.close()
    (data_dir / "meta.json").write_text('{"schema_version": 0}')
    ran: list[int] = []

    def v0_to_v1(path: Path, codec: Codec) -> None:
        # A fake step: rename a field the way a real migration would rewrite a file.
        f = path / "db" / "clients.json"
        doc = json.loads(f.read_text())
        doc["clients"]["c1"]["external_id"] = "MIGRATED"
        f.write_text(json.dumps(doc))
        ran.append(1)

    monkeypatch.setattr(migrations, "MIGRATIONS", {**migrations.MIGRATIONS, 1: v0_to_v1})
    s2 = TinyStore(data_dir)
    await s2.open()
    assert ran == [1]
    assert [c.id for c in await s2.find(Client, "external_id", "MIGRATED")] == ["c1"]  # type: ignore[attr-defined]
    await s2.close()
    assert json.loads((data_dir / "meta.json").read_text()) == {
        "schema_version": migrations.CURRENT_VERSION
    }


async def test_migration_refused_with_unfolded_journal(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = TinyStore(data_dir)
    await s.open()
    await seed(s, [Put(client("c1"))])
    # crash: no close; pretend the dir was written by an older version
    s._journal.close()
    s._dir_lock.release()
    (data_dir / "meta.json").write_text('{"schema_version": 0}')
    monkeypatch.setattr(migrations, "MIGRATIONS", {1: lambda p, c: None})
    with pytest.raises(StoreError, match="not closed cleanly"):
        await TinyStore(data_dir).open()
