"""Crashes and failures in the middle of checkpoints and commits lose nothing."""

from __future__ import annotations

import asyncio
import os
import shutil
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest

from tests.seeding import seed
from tests.store.conftest import T0, appt, client
from tlh.domain.models import Appointment, Client
from tlh.errors import StoreError
from tlh.store import layout
from tlh.store.base import Delete, Put
from tlh.store.journal import Journal
from tlh.store.layout import encode_table_file
from tlh.store.lock import LOCK_NAME, PID_NAME
from tlh.store.tinystore import TinyStore


def crash_copy(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(LOCK_NAME, PID_NAME))
    return dest


async def test_failed_checkpoint_keeps_journal_and_retries(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = TinyStore(data_dir)
    await s.open()
    await seed(s, [Put(client("c1")), Put(appt("a1"))])
    written: list[Path] = []
    real = layout.write_atomic

    def fail_second(path: Path, data: bytes, **options: bool) -> None:
        if written:
            raise OSError(28, "No space left on device")
        written.append(path)
        real(path, data, **options)

    monkeypatch.setattr(layout, "write_atomic", fail_second)
    with pytest.raises(OSError, match="No space"):
        await s.checkpoint()
    # a crash now: one file written, the other not, the journal still there
    crashed = TinyStore(crash_copy(data_dir, tmp_path / "crashed"))
    monkeypatch.setattr(layout, "write_atomic", real)
    await crashed.open()
    assert await crashed.get(Client, "c1") == client("c1")
    assert await crashed.get(Appointment, "a1") == appt("a1")
    await crashed.close()
    await seed(s, [Delete(Client, "c1")])
    await s.close()  # the retry folds everything
    s2 = TinyStore(data_dir)
    await s2.open()
    assert await s2.get(Client, "c1") is None
    assert await s2.get(Appointment, "a1") == appt("a1")
    await s2.close()


async def test_id_in_two_partitions_is_settled_by_the_journal(data_dir: Path) -> None:
    # What a crash between writing the new month and the old one leaves behind.
    moved = appt("a1", start=T0 + timedelta(days=40))
    parts = data_dir / "db" / "appointments"
    (parts / "2026-03.json").write_bytes(encode_table_file("appointments", {"a1": appt("a1")}))
    (parts / "2026-04.json").write_bytes(encode_table_file("appointments", {"a1": moved}))
    j = Journal(data_dir / "journal")
    j.open_for_append()
    j.append(b'{"seq":1,"ops":%b}' % msgspec.json.encode([{"t": "appointments", "put": moved}]))
    j.close()
    s = TinyStore(data_dir)
    await s.open()
    assert await s.get(Appointment, "a1") == moved
    assert await s.appointments_between(T0, T0 + timedelta(days=1)) == []
    await s.close()
    assert "a1" not in (parts / "2026-03.json").read_text()
    assert "a1" in (parts / "2026-04.json").read_text()


async def test_cancelled_commit_still_lands_in_memory_and_on_disk(store: TinyStore) -> None:
    task = asyncio.create_task(seed(store, [Put(client("c1"))]))
    await asyncio.sleep(0)  # let it start its journal write
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(asyncio.gather(*store._commits), timeout=5)
    # the caller gave up, but the write had started: it lands in memory and on disk
    assert await store.get(Client, "c1") == client("c1")
    assert len(list(store._journal.replay())) == 1


async def test_journal_write_failure_is_a_clean_store_error(
    store: TinyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed(store, [Put(client("c1"))])

    def broken(fd: int) -> None:
        raise OSError(5, "Input/output error")

    with monkeypatch.context() as m:
        m.setattr(os, "fdatasync", broken)
        with pytest.raises(StoreError, match="could not be written"):
            await seed(store, [Put(client("c2"))])
    assert await store.get(Client, "c2") is None
    await seed(store, [Put(client("c3"))])  # the journal was repaired
    replayed = [
        msgspec.json.decode(p)["ops"][0]["put"]["id"] for _, _, p in store._journal.replay()
    ]
    assert replayed == ["c1", "c3"]
