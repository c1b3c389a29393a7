"""The TinyDB storage: atomic writes with a .bak copy, bad files refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from tinydb import TinyDB

from tlh.errors import StoreCorrupt
from tlh.store.atomic import AtomicJSONStorage


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


def test_storage_keeps_the_previous_version_as_bak(tmp_path: Path) -> None:
    path = tmp_path / "clients.json"
    with TinyDB(path, storage=AtomicJSONStorage) as db:
        db.table("clients").insert({"id": "c1"})
        assert not (tmp_path / "clients.json.bak").exists()
        db.table("clients").insert({"id": "c2"})
    with TinyDB(tmp_path / "clients.json.bak") as previous:
        assert previous.table("clients").all() == [{"id": "c1"}]


def test_storage_missing_file_is_empty(tmp_path: Path) -> None:
    db = TinyDB(tmp_path / "none.json", storage=AtomicJSONStorage)
    assert db.table("x").all() == []
