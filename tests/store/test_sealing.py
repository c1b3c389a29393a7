"""An encrypted data dir: every file the store writes is sealed, a wrong or missing key
opens nothing and writes nothing, a damaged sealed file is named and left as it is, and
a backup opens only with the practice's key."""

from __future__ import annotations

import hashlib
import re
from datetime import date
from pathlib import Path

import pytest

from tests.seeding import seed
from tests.store.conftest import T0, appt
from tlh.domain.models import Client
from tlh.errors import InvalidInput, StoreCorrupt, StoreKeyError
from tlh.store.backup import restore, write_snapshot
from tlh.store.base import Put
from tlh.store.keys import (
    KeySource,
    NewKeys,
    create_keys,
    new_kek,
    read_keyring,
    write_key_file,
)
from tlh.store.layout import init_data_dir
from tlh.store.seal import MAGIC, Codec, is_sealed
from tlh.store.tinystore import TinyStore

NAME = "Quillonia Vexbramble"
EMAIL = "quillonia.vexbramble@example.org"
NOTE = "Sealed-note-7f3a: prefers evenings"


def _client(cid: str = "cli_sealed") -> Client:
    return Client(
        id=cid, name=NAME, email=EMAIL, phone="+15555550187", dob=date(1961, 7, 23),
        created_at=T0, updated_at=T0,
    )  # fmt: skip


def _practice(tmp_path: Path, **how: object) -> tuple[Path, KeySource]:
    """An empty encrypted data dir and the source that opens it (a key file by default)."""
    data_dir = tmp_path / "data"
    new = NewKeys(key_dir=tmp_path / "keys", **how)  # type: ignore[arg-type]
    codecs: list[Codec] = []
    init_data_dir(data_dir, lambda d: codecs.append(create_keys(d, new)[0].sealer()) or codecs[0])
    return data_dir, KeySource(key_dir=tmp_path / "keys", passphrase=new.passphrase)


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "tlh.lock"
    }


def _digest(root: Path) -> dict[str, tuple[str, int]]:
    return {
        p.relative_to(root).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }  # fmt: skip


def _leaks(files: dict[str, bytes]) -> list[str]:
    needles = [
        NAME.encode(),
        EMAIL.encode(),
        b"Sealed-note-7f3a",
        b"5555550187",
        b"Quillonia",
        b"1961-07-23",
    ]
    return [name for name, data in files.items() for n in needles if n in data]


async def test_every_store_file_and_journal_record_is_sealed(tmp_path: Path) -> None:
    data_dir, keys = _practice(tmp_path)
    s = TinyStore(data_dir, keys=keys)
    await s.open()
    await seed(s, [Put(_client()), Put(appt("apt_1", notes=NOTE))])
    # Before a checkpoint the change is only in the journal: sealed there too.
    assert _leaks(_files(data_dir)) == []
    journal = b"".join((data_dir / "journal").glob("*.wal").__next__().read_bytes().split(b"\n"))
    assert MAGIC in journal
    await s.close()
    files = _files(data_dir)
    assert _leaks(files) == []
    for name, data in files.items():
        if name.startswith("db/"):
            assert is_sealed(data), name
    s2 = TinyStore(data_dir, keys=keys)
    await s2.open()
    assert await s2.get(Client, "cli_sealed") == _client()
    await s2.close()


@pytest.mark.parametrize(
    ("source", "said"),
    [
        ("missing", "is encrypted and no key was given (looked for key file"),
        ("other", "does not unlock data dir"),
        ("passphrase", "TLH_PASSPHRASE does not unlock data dir"),
        ("not-a-key", "is not a tlh key file"),
    ],
)
async def test_a_wrong_or_missing_key_opens_nothing_and_writes_nothing(
    tmp_path: Path, source: str, said: str
) -> None:
    data_dir, keys = _practice(tmp_path)
    s = TinyStore(data_dir, keys=keys)
    await s.open()
    await seed(s, [Put(_client())])
    await s.close()
    before = _digest(data_dir)
    other = tmp_path / "other.key"
    write_key_file(other, new_kek())  # a key file of another practice
    (tmp_path / "junk.key").write_text("hello\n")
    wrong = {
        "missing": KeySource(key_dir=tmp_path / "elsewhere"),
        "other": KeySource(key_file=other),
        "passphrase": KeySource(passphrase="not the passphrase at all"),
        "not-a-key": KeySource(key_file=tmp_path / "junk.key"),
    }[source]
    with pytest.raises(StoreKeyError, match=re.escape(said)) as info:
        await TinyStore(data_dir, keys=wrong).open()
    assert "\n" not in info.value.message
    assert _digest(data_dir) == before  # not even the lock's pid file


async def test_a_passphrase_and_a_recovery_code_open_the_dir(tmp_path: Path) -> None:
    from tlh.store.rotate import export_recovery

    data_dir, keys = _practice(tmp_path, passphrase="correct horse battery staple")
    s = TinyStore(data_dir, keys=keys)
    await s.open()
    await seed(s, [Put(_client())])
    await s.close()
    code = export_recovery(data_dir, keys)
    typed = code.lower().replace("-", " ")  # as someone copies it from paper
    s2 = TinyStore(data_dir, keys=KeySource(passphrase=typed))
    await s2.open()
    assert await s2.get(Client, "cli_sealed") == _client()
    await s2.close()


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty", "clear"])
async def test_a_damaged_sealed_file_is_named_and_left_as_it_is(
    tmp_path: Path, damage: str
) -> None:
    data_dir, keys = _practice(tmp_path)
    s = TinyStore(data_dir, keys=keys)
    await s.open()
    await seed(s, [Put(_client())])
    await s.close()
    path = data_dir / "db" / "clients.json"
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0x04
    elif damage == "truncate":
        data = data[: len(data) - 7]
    elif damage == "empty":
        data = bytearray(b" ")
    else:  # a clear file put in place of the sealed one
        data = bytearray(b'{"clients":{}}')
    path.write_bytes(bytes(data))
    before = _digest(data_dir)
    with pytest.raises(StoreCorrupt) as info:
        await TinyStore(data_dir, keys=keys).open()
    message = info.value.message
    assert str(path) in message
    assert "tlh restore" in message
    assert _leaks({"m": message.encode()}) == []
    after = _digest(data_dir)
    assert after["db/clients.json"] == before["db/clients.json"]  # never overwritten


async def test_a_file_moved_to_another_name_does_not_open(tmp_path: Path) -> None:
    data_dir, keys = _practice(tmp_path)
    s = TinyStore(data_dir, keys=keys)
    await s.open()
    await seed(s, [Put(_client())])
    await s.close()
    db = data_dir / "db"
    (db / "staff.json").write_bytes((db / "clients.json").read_bytes())
    with pytest.raises(StoreCorrupt, match=r"staff\.json is corrupt"):
        await TinyStore(data_dir, keys=keys).open()


async def test_a_sealed_backup_opens_only_with_the_key(tmp_path: Path) -> None:
    data_dir, keys = _practice(tmp_path)
    s = TinyStore(data_dir, keys=keys)
    await s.open()
    await seed(s, [Put(_client())])
    archive = tmp_path / "backup.tlh"
    await write_snapshot(s, archive)
    await s.close()
    assert _leaks({"backup": archive.read_bytes()}) == []
    other = tmp_path / "other.key"
    write_key_file(other, new_kek())
    target = tmp_path / "restored"
    with pytest.raises(StoreKeyError, match="does not unlock backup"):
        restore(archive, target, KeySource(key_file=other))
    assert not (target / "db").exists()
    flipped = bytearray(archive.read_bytes())
    flipped[-20] ^= 0x01
    (tmp_path / "flipped.tlh").write_bytes(bytes(flipped))
    with pytest.raises(InvalidInput, match="truncated or altered"):
        restore(tmp_path / "flipped.tlh", target, keys)
    restore(archive, target, keys)
    assert read_keyring(target) == read_keyring(data_dir)
    assert _leaks(_files(target)) == []
    s2 = TinyStore(target, keys=keys)
    await s2.open()
    assert await s2.get(Client, "cli_sealed") == _client()
    await s2.close()
