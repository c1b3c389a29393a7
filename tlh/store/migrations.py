"""Schema versions of the data dir and the steps between them.

``MIGRATIONS[n]`` upgrades a data dir from version ``n - 1`` to ``n`` in place. It
gets the data dir path and its codec (``tlh.store.seal``) and must be idempotent (a crash mid-step reruns it). It runs
only on a dir whose journal is empty, so it sees every record in the table files.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tlh.store.layout import SCHEMA_VERSION, Manifest, table_files, write_manifest
from tlh.store.seal import Codec

#: The version this code reads and writes.
CURRENT_VERSION = SCHEMA_VERSION


def _add_manifest(data_dir: Path, codec: Codec) -> None:
    """Version 2: list the table files the dir holds, and number commits from 1 (the
    records already there were audited before commits had numbers)."""
    write_manifest(data_dir, Manifest(files=table_files(data_dir), audit_complete=False), codec)


#: ``version -> step`` that upgrades a dir from ``version - 1`` to ``version``.
MIGRATIONS: dict[int, Callable[[Path, Codec], None]] = {2: _add_manifest}
