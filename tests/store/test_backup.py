"""Backup of a live store and restore into a stopped data dir."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from tests.seeding import seed
from tests.store.conftest import appt, client
from tlh.domain.models import Appointment, Client
from tlh.errors import InvalidInput, StoreLocked
from tlh.store.backup import restore, snapshot, write_snapshot
from tlh.store.base import Put
from tlh.store.tinystore import TinyStore


def _tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


async def test_backup_restore_round_trip(data_dir: Path, tmp_path: Path) -> None:
    audit = data_dir / "audit"
    audit.mkdir()
    (audit / "2026-03.jsonl").write_bytes(b'{"what":"x"}\n')
    s = TinyStore(data_dir)
    await s.open()
    await seed(s, [Put(client("c1")), Put(appt("a1"))])
    archive = tmp_path / "backup.tar.gz"
    await write_snapshot(s, archive)  # journal not folded yet: taken from memory
    await seed(s, [Put(client("c2"))])  # after the backup
    await s.close()

    aside = restore(archive, data_dir)
    assert (aside / "db" / "clients.json").exists()  # the old contents are kept
    assert (data_dir / "audit" / "2026-03.jsonl").read_bytes() == b'{"what":"x"}\n'
    s2 = TinyStore(data_dir)
    await s2.open()
    assert await s2.get(Client, "c1") == client("c1")
    assert await s2.get(Client, "c2") is None
    assert await s2.get(Appointment, "a1") == appt("a1")
    await s2.close()


async def test_restore_refused_while_server_holds_dir(store: TinyStore, tmp_path: Path) -> None:
    archive = tmp_path / "b.tar.gz"
    archive.write_bytes(await snapshot(store))
    with pytest.raises(StoreLocked):
        restore(archive, store.data_dir)


@pytest.mark.parametrize(
    "files",
    [
        {"db/clients.json": b'{"clients": {}}'},  # no meta.json
        {"meta.json": b'{"schema_version": 1}', "db/clients.json": b'{"clients": {"c1": {'},
        {"meta.json": b'{"schema_version": 1}', "../evil.json": b"{}"},
        {"meta.json": b'{"schema_version": 1}', "db/unknown.json": b"{}"},
        {"meta.json": b'{"schema_version": 1}', "db/appointments/2026-13.json": b"{}"},
        {"meta.json": b'{"schema_version": 9}'},
        {"meta.json": b'{"schema_version": 1}', "audit/a.jsonl": b"{}\n{bad\n"},
    ],
)
async def test_bad_archive_refused_and_data_intact(
    data_dir: Path, tmp_path: Path, files: dict[str, bytes]
) -> None:
    s = TinyStore(data_dir)
    await s.open()
    await seed(s, [Put(client("c1"))])
    await s.close()
    before = {p: p.read_bytes() for p in data_dir.rglob("*") if p.is_file()}
    archive = tmp_path / "bad.tar.gz"
    archive.write_bytes(_tar(files))
    with pytest.raises(InvalidInput):
        restore(archive, data_dir)
    assert {p: p.read_bytes() for p in data_dir.rglob("*") if p.is_file()} == before
    assert not list(tmp_path.glob("*before-restore*"))


async def test_not_a_tarball_refused(data_dir: Path, tmp_path: Path) -> None:
    archive = tmp_path / "junk.tar.gz"
    archive.write_bytes(b"definitely not gzip")
    with pytest.raises(InvalidInput, match="not a readable tlh backup"):
        restore(archive, data_dir)
