"""Consistent backups of a live store, and restore into a stopped data dir.

A backup is a tar.gz of a fresh full copy of every table taken from memory (so
writes need not stop and the journal is not needed), ``meta.json`` and the audit
files as they are. A restore checks the whole archive before it touches anything,
and moves the current contents aside instead of deleting them.

An encrypted dir's backup is that tar.gz sealed whole (label ``backup``), after a
clear header and the dir's ``keys.json``::

    TLHBACKUP1\n  <keyring length, 8 hex digits>\n  <keys.json>  <sealed tar.gz>

so it opens with the key file or passphrase that opened the dir when it was made (or
its recovery code), and with nothing else. A restore seals each file again as the
store writes it, and puts that keyring back in the dir.
"""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import tarfile
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import msgspec

from tlh.errors import InvalidInput, StoreCorrupt
from tlh.files import fsync_dir, write_atomic
from tlh.store import migrations
from tlh.store.base import TABLES
from tlh.store.capabilities import DataDirStore, TableFile
from tlh.store.keys import KEYRING, KeySource, decode_keyring, read_keyring, unlock
from tlh.store.layout import (
    APPOINTMENTS,
    MANIFEST,
    Manifest,
    Meta,
    decode_table_file,
    encode_table_file,
    table_files,
    write_manifest,
)
from tlh.store.lock import LOCK_NAME, PID_NAME, DataDirLock
from tlh.store.partitions import PARTITIONED
from tlh.store.seal import PLAIN, Codec, label_of

BACKUP_MAGIC = b"TLHBACKUP1\n"
BACKUP_LABEL = b"backup"

_meta_decoder = msgspec.json.Decoder(Meta)
_manifest_decoder = msgspec.json.Decoder(Manifest)


async def snapshot(store: DataDirStore) -> bytes:
    """A tar.gz of the store's current state (copied on the loop; months on disk read,
    and everything compressed, in a thread)."""
    files = store.export_files()  # one synchronous copy: consistent across tables
    manifest = store.manifest()
    # Entries queued so far must be in the copied log: every exported change has its own.
    await store.audit.barrier()
    codec = store.codec or PLAIN
    return await asyncio.to_thread(_build_sealed, store.data_dir, files, manifest, codec)


def _build_sealed(
    data_dir: Path,
    files: dict[str, TableFile],
    manifest: Manifest,
    codec: Codec,
) -> bytes:
    archive = _build_archive(data_dir, files, manifest)
    ring = read_keyring(data_dir) if codec.sealed else None
    if ring is None:
        return archive
    ring_bytes = (data_dir / KEYRING).read_bytes()
    head = BACKUP_MAGIC + b"%08x\n" % len(ring_bytes) + ring_bytes
    return head + codec.seal(archive, BACKUP_LABEL)


def _unseal(
    archive_path: Path | str, data: bytes, keys: KeySource | None
) -> tuple[bytes, bytes | None, Codec]:
    """(tar.gz, keyring bytes or ``None``, codec) of a backup's bytes."""
    if not data.startswith(BACKUP_MAGIC):
        return data, None, PLAIN
    rest = data[len(BACKUP_MAGIC) :]
    try:
        length = int(rest[:8], 16)
        if rest[8:9] != b"\n":
            raise ValueError
    except ValueError:
        raise InvalidInput(f"{archive_path} is not a readable tlh backup (bad header)") from None
    ring_bytes = rest[9 : 9 + length]
    try:
        ring = decode_keyring(ring_bytes, archive_path)
    except StoreCorrupt:
        raise InvalidInput(f"{archive_path} is not a readable tlh backup (bad keyring)") from None
    what = f"backup {archive_path}"
    unlocked = unlock(Path(archive_path).parent, keys or KeySource(), ring=ring, what=what)
    assert unlocked is not None
    codec = unlocked.sealer()
    try:
        archive = codec.open(rest[9 + length :], BACKUP_LABEL, archive_path)
    except StoreCorrupt:
        raise InvalidInput(
            f"{archive_path} is truncated or altered (it fails its integrity check)"
        ) from None
    return archive, ring_bytes, codec


async def write_snapshot(store: DataDirStore, path: Path | str) -> None:
    """Write ``snapshot(store)`` atomically to ``path``."""
    data = await snapshot(store)
    await asyncio.to_thread(write_atomic, Path(path), data)


def _add(tar: tarfile.TarFile, name: str, data: bytes, mtime: float) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(mtime)
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


def _build_archive(data_dir: Path, files: dict[str, TableFile], manifest: Manifest) -> bytes:
    now = time.time()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=6) as tar:
        meta = Meta(schema_version=migrations.CURRENT_VERSION)
        _add(tar, "meta.json", msgspec.json.encode(meta), now)
        _add(tar, f"db/{MANIFEST}", msgspec.json.encode(manifest), now)
        for name, file in sorted(files.items()):
            _add(tar, name, file() if callable(file) else encode_table_file(*file), now)
        audit = data_dir / "audit"
        if audit.is_dir():
            for path in sorted(p for p in audit.rglob("*") if p.is_file()):
                rel = path.relative_to(data_dir).as_posix()
                _add(tar, rel, path.read_bytes(), path.stat().st_mtime)
    return buf.getvalue()


def _check_member(name: str, data: bytes) -> None:
    """Raise ``InvalidInput`` unless ``name`` is a file a data dir may hold, sound."""
    parts = PurePosixPath(name).parts
    if not parts or PurePosixPath(name).is_absolute() or ".." in parts:
        raise InvalidInput(f"archive member {name!r} has an unsafe path")
    try:
        if parts == ("meta.json",):
            meta = _meta_decoder.decode(data)
            if meta.schema_version > migrations.CURRENT_VERSION:
                raise InvalidInput(f"archive schema version {meta.schema_version} is too new")
        elif parts == ("db", MANIFEST):
            _manifest_decoder.decode(data)
        elif parts[0] == "db" and len(parts) == 2 and parts[1].endswith(".json"):
            table = parts[1].removesuffix(".json")
            # A backup of an older schema holds its split tables whole (migrated on start).
            if table not in TABLES or table == APPOINTMENTS:
                raise InvalidInput(f"archive member {name!r} is not a known table")
            decode_table_file(data, table)
        elif (
            parts[0] == "db" and len(parts) == 2 and parts[1].removesuffix(".bloom") in PARTITIONED
        ):
            pass  # an id filter: derived from the months, sealed; rebuilt when damaged
        elif parts[0] == "db" and len(parts) == 3 and parts[1] in PARTITIONED:
            month, _, kind = parts[2].partition(".")
            datetime.strptime(month, "%Y-%m")  # noqa: DTZ007 - a name check, not a time
            if kind == "json":
                decode_table_file(data, parts[1])
            elif kind != "idx":  # a month's key index: derived, like the id filter
                raise InvalidInput(f"archive member {name!r} does not belong in a data dir")
        elif parts[0] == "audit" and len(parts) > 1:
            for n, line in enumerate(data.splitlines(), 1):
                if line.strip():
                    try:
                        msgspec.json.decode(line)
                    except msgspec.DecodeError:
                        raise InvalidInput(f"archive member {name!r}: bad line {n}") from None
        else:
            raise InvalidInput(f"archive member {name!r} does not belong in a data dir")
    except (msgspec.DecodeError, ValueError) as exc:
        if isinstance(exc, InvalidInput):
            raise
        raise InvalidInput(f"archive member {name!r} does not decode: {exc}") from None


def read_archive(archive_path: Path | str, keys: KeySource | None = None) -> dict[str, bytes]:
    """Every file of a backup archive, each checked; ``InvalidInput`` if any is bad."""
    return _read_archive(archive_path, keys)[0]


def _read_archive(
    archive_path: Path | str, keys: KeySource | None
) -> tuple[dict[str, bytes], bytes | None, Codec]:
    files: dict[str, bytes] = {}
    try:
        data = Path(archive_path).read_bytes()
    except OSError as exc:
        raise InvalidInput(f"{archive_path} cannot be read: {exc.strerror}") from None
    archive, ring, codec = _unseal(archive_path, data, keys)
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            for member in tar:
                if member.isdir():
                    continue
                if not member.isfile():
                    raise InvalidInput(f"archive member {member.name!r} is not a plain file")
                f = tar.extractfile(member)
                if f is None:
                    raise InvalidInput(f"archive member {member.name!r} cannot be read")
                name = PurePosixPath(member.name).as_posix()
                files[name] = f.read()
                _check_member(name, files[name])
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise InvalidInput(f"{archive_path} is not a readable tlh backup: {exc}") from None
    if "meta.json" not in files:
        raise InvalidInput(f"{archive_path} is not a tlh backup (no meta.json)")
    return files, ring, codec


def restore(archive_path: Path | str, data_dir: Path | str, keys: KeySource | None = None) -> Path:
    """Replace a stopped data dir's contents by a backup; returns where the old ones went.

    Refuses (``StoreLocked``) while a server holds the dir, (``StoreKeyError``) a sealed
    backup ``keys`` do not open, and (``InvalidInput``) an archive with any bad file,
    before anything is touched.
    """
    data_dir = Path(data_dir)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with DataDirLock(data_dir):
        files, ring, codec = _read_archive(archive_path, keys)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        staging = data_dir.parent / f".{data_dir.name}.restoring-{stamp}"
        aside = data_dir.parent / f"{data_dir.name}.before-restore-{stamp}"
        staging.mkdir(mode=0o700)
        if ring is not None:
            write_atomic(staging / KEYRING, ring)
        for name, data in files.items():
            target = staging / name
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            sealed = name.startswith("db/")  # the store's own files; audit/ and meta clear
            write_atomic(target, codec.seal(data, label_of(name)) if sealed else data)
        for table in PARTITIONED:
            (staging / "db" / table).mkdir(mode=0o700, parents=True, exist_ok=True)
        (staging / "journal").mkdir(mode=0o700, exist_ok=True)
        if f"db/{MANIFEST}" not in files:
            # A backup made before manifests: list what it holds (the schema migration
            # of an older backup writes its own).
            _write_manifest_of(staging, codec)
        aside.mkdir()
        for entry in list(data_dir.iterdir()):
            if entry.name not in (LOCK_NAME, PID_NAME):
                os.rename(entry, aside / entry.name)
        fsync_dir(aside)
        for entry in list(staging.iterdir()):
            os.rename(entry, data_dir / entry.name)
        fsync_dir(data_dir)
        shutil.rmtree(staging)
        fsync_dir(data_dir.parent)
    return aside


def _write_manifest_of(data_dir: Path, codec: Codec) -> None:
    meta = _meta_decoder.decode((data_dir / "meta.json").read_bytes())
    if meta.schema_version >= 2:
        manifest = Manifest(files=table_files(data_dir), audit_complete=False)
        write_manifest(data_dir, manifest, codec)
