"""The copy an upgrade keeps of a data dir before migrating it
(``tlh.store.migrations.backup_before``) is written as it is made: a large practice's
dir never sits in memory whole, and the archive holds every file as it was."""

from __future__ import annotations

import os
import tarfile
import tracemalloc
from pathlib import Path

from tlh.store.migrations import backup_before
from tlh.store.tinystore import init_data_dir

#: Bytes of data that do not compress: the archive is as large.
SIZE = 16 << 20


def test_the_copy_before_an_upgrade_is_written_as_it_is_made(tmp_path: Path) -> None:
    data_dir = init_data_dir(tmp_path / "practice")
    payload = os.urandom(SIZE)
    (data_dir / "db" / "appointments").mkdir(exist_ok=True)
    (data_dir / "db" / "appointments" / "2020-01.json").write_bytes(payload)
    tracemalloc.start()
    try:
        path = backup_before(data_dir, 3)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < SIZE / 4, f"{peak / 2**20:.1f} MiB held while writing a {SIZE >> 20} MiB dir"
    with tarfile.open(path) as tar:
        member = tar.extractfile("db/appointments/2020-01.json")
        assert member is not None
        assert member.read() == payload
        assert "meta.json" in tar.getnames()
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
