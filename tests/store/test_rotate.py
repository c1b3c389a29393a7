"""``tlh key rotate``: the new key opens the dir, the old one no longer does, and with
``--reencrypt`` every file is sealed again under a new data key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.seeding import seed
from tests.store.conftest import appt, client
from tlh.domain.models import Client
from tlh.errors import StoreKeyError, StoreLocked
from tlh.store.base import Put
from tlh.store.keys import KeySource, NewKeys, create_keys, read_keyring
from tlh.store.layout import init_data_dir
from tlh.store.rotate import rotate, sealed_files
from tlh.store.seal import key_id_of
from tlh.store.tinystore import TinyStore


async def _practice(tmp_path: Path) -> tuple[Path, KeySource]:
    data_dir = tmp_path / "data"
    keys = KeySource(key_dir=tmp_path / "keys")
    init_data_dir(data_dir, lambda d: create_keys(d, NewKeys(key_dir=keys.key_dir))[0].sealer())
    s = TinyStore(data_dir, keys=keys)
    await s.open()
    for n in range(5):
        await seed(s, [Put(client(f"c{n}")), Put(appt(f"a{n}"))])
    await s.checkpoint()
    await seed(s, [Put(client("in_journal"))])  # left in the journal
    s._journal.close()  # a crash: the journal is not folded
    s._dir_lock.release()
    await s.audit.close()
    return data_dir, keys


async def _reads(data_dir: Path, keys: KeySource) -> set[str]:
    s = TinyStore(data_dir, keys=keys)
    await s.open()
    try:
        return {c.id for c in await s.all(Client)}  # type: ignore[attr-defined]
    finally:
        await s.close()


async def test_rotate_replaces_the_key_file_and_shuts_the_old_one_out(tmp_path: Path) -> None:
    data_dir, keys = await _practice(tmp_path)
    ring = read_keyring(data_dir)
    assert ring is not None
    key_file = tmp_path / "keys" / f"{ring.practice}.key"
    shutil.copy(key_file, tmp_path / "old.key")
    done = rotate(data_dir, keys)
    assert done.key_file == key_file
    assert key_file.read_bytes() != (tmp_path / "old.key").read_bytes()
    assert "in_journal" in await _reads(data_dir, keys)
    with pytest.raises(StoreKeyError, match="does not unlock"):
        await TinyStore(data_dir, keys=KeySource(key_file=tmp_path / "old.key")).open()


async def test_reencrypt_seals_every_file_under_a_new_data_key(tmp_path: Path) -> None:
    data_dir, keys = await _practice(tmp_path)
    before = read_keyring(data_dir)
    assert before is not None
    done = rotate(data_dir, keys, reencrypt=True)
    after = read_keyring(data_dir)
    assert after is not None
    assert after.current != before.current
    assert {w.key_id for w in after.wraps} == {after.current}
    new = bytes.fromhex(after.current)
    files = list(sealed_files(data_dir))
    assert done.reencrypted >= len(files)
    for path, rel in files:
        assert key_id_of(path.read_bytes()) == new, rel
    assert await _reads(data_dir, keys) == {f"c{n}" for n in range(5)} | {"in_journal"}


async def test_rotate_refuses_a_dir_in_use(tmp_path: Path) -> None:
    data_dir, keys = await _practice(tmp_path)
    s = TinyStore(data_dir, keys=keys)
    await s.open()
    try:
        with pytest.raises(StoreLocked):
            rotate(data_dir, keys, reencrypt=True)
    finally:
        await s.close()
