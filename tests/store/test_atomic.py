"""Atomic replacement, the .bak copy, and the TinyDB storage that refuses bad files."""

from __future__ import annotations

from pathlib import Path

import pytest
from tinydb import TinyDB

from tlh.errors import StoreCorrupt
from tlh.store.atomic import AtomicJSONStorage, write_atomic


def test_write_atomic_keeps_previous_version_as_bak(tmp_path: Path) -> None:
    target = tmp_path / "t.json"
    write_atomic(target, b"one")
    assert not (tmp_path / "t.json.bak").exists()
    write_atomic(target, b"two")
    write_atomic(target, b"three")
    assert target.read_bytes() == b"three"
    assert (tmp_path / "t.json.bak").read_bytes() == b"two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.json", "t.json.bak"]


def test_storage_round_trip_through_tinydb(tmp_path: Path) -> None:
    path = tmp_path / "clients.json"
    with TinyDB(path, storage=AtomicJSONStorage) as db:
        db.table("clients").insert({"id": "c1"})
    with TinyDB(path) as plain:  # TinyDB's own storage reads our files
        assert plain.table("clients").all() == [{"id": "c1"}]


@pytest.mark.parametrize("content", [b"", b"   ", b'{"clients": {"1": ', b"[1, 2]"])
def test_storage_refuses_corrupt_file_with_hint(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "clients.json"
    path.write_bytes(content)
    db = TinyDB(path, storage=AtomicJSONStorage)
    with pytest.raises(StoreCorrupt) as info:
        db.table("clients").all()
    assert str(path) in info.value.message
    assert f"{path}.bak" in info.value.message
    assert path.read_bytes() == content


def test_storage_missing_file_is_empty(tmp_path: Path) -> None:
    db = TinyDB(tmp_path / "none.json", storage=AtomicJSONStorage)
    assert db.table("x").all() == []
