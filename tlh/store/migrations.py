"""Schema versions of the data dir and the steps between them.

``MIGRATIONS[n]`` upgrades a data dir from version ``n - 1`` to ``n`` in place. It
gets the data dir path and its codec (``tlh.store.seal``) and must be idempotent (a crash mid-step reruns it). It runs
only on a dir whose journal is empty, so it sees every record in the table files.
"""

from __future__ import annotations

import tarfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from tlh.files import writing_atomic
from tlh.store.layout import (
    APPOINTMENTS,
    SCHEMA_VERSION,
    Manifest,
    read_manifest,
    read_table_file,
    table_files,
    write_manifest,
    write_table_file,
)
from tlh.store.partitions import PARTITIONED
from tlh.store.seal import Codec

#: The version this code reads and writes.
CURRENT_VERSION = SCHEMA_VERSION


def _add_manifest(data_dir: Path, codec: Codec) -> None:
    """Version 2: list the table files the dir holds, and number commits from 1 (the
    records already there were audited before commits had numbers)."""
    write_manifest(data_dir, Manifest(files=table_files(data_dir), audit_complete=False), codec)


def _split_by_month(data_dir: Path, codec: Codec) -> None:
    """Version 3: the tables that grow with history besides appointments (messages,
    links, confirm/cancel links, session segments) are split into month files like
    appointments (``tlh.store.partitions``), so a server leaves their old months on disk.

    Each table's month files are written before the manifest names them, and its single
    file is removed after: a crash in between reruns the step from the single file."""
    db = data_dir / "db"
    for table in PARTITIONED:
        (db / table).mkdir(mode=0o700, exist_ok=True)
    for table, split in PARTITIONED.items():
        whole = db / f"{table}.json"
        if table == APPOINTMENTS or not whole.exists():
            continue
        months: dict[str, dict[str, msgspec.Struct]] = {}
        for rid, rec in read_table_file(whole, whole.name, table, codec).items():
            months.setdefault(split.month_of(rec), {})[rid] = rec
        for month, docs in months.items():
            write_table_file(db, split.file(month), table, docs, codec)
        manifest = read_manifest(data_dir, codec)
        files = [f for f in manifest.files if f != whole.name and not f.startswith(f"{table}/")]
        files += [split.file(month) for month in months]
        write_manifest(data_dir, msgspec.structs.replace(manifest, files=sorted(files)), codec)
        whole.unlink()


def _packed_bodies(data_dir: Path, codec: Codec) -> None:
    """Version 4: files hold sent messages' bodies packed (``tlh.store.bodies``). Nothing
    to rewrite: a month written before is packed in memory when loaded, and written
    packed when next changed; the version keeps an older tlh from misreading the dir."""


#: ``version -> step`` that upgrades a dir from ``version - 1`` to ``version``.
MIGRATIONS: dict[int, Callable[[Path, Codec], None]] = {
    2: _add_manifest,
    3: _split_by_month,
    4: _packed_bodies,
}


#: Where a migration keeps the data dir as it was, inside the dir itself.
BACKUPS = "backups"
#: What a backup holds: the data (the lock file, journal and older backups are not).
_KEPT = ("meta.json", "db", "audit")


def backup_before(data_dir: Path, version: int) -> Path:
    """A tar.gz of the dir as it is at schema ``version``, before any step touches it;
    ``tlh restore`` takes it (a restored older dir is migrated again on start)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = data_dir / BACKUPS / f"schema-{version}-before-upgrade-{stamp}.tar.gz"
    # Written as it is made: a large practice's dir does not fit in memory twice.
    with writing_atomic(path, make_dirs=True) as out, tarfile.open(fileobj=out, mode="w:gz") as tar:
        for top in _KEPT:
            found = data_dir / top
            files = [found] if found.is_file() else sorted(found.rglob("*"))
            for file in files:
                if file.is_file() and not file.name.startswith("."):
                    tar.add(file, arcname=file.relative_to(data_dir).as_posix())
    return path
