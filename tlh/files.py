"""The one way tlh replaces a file: a crash leaves the old file or the new one, never half.

Every layer writes through ``write_atomic`` (the store's tables and audit head, the
outbox, exports and backups, the CLI and dashboard config files), so it depends on the
standard library only. Files are private (0600) unless a caller asks otherwise: most of
what tlh writes holds patients' data or a token.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

#: Files tlh writes are its user's alone unless a caller says otherwise.
PRIVATE = 0o600


def fsync_dir(directory: Path) -> None:
    """Make renames and new names in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(
    path: Path | str,
    data: bytes,
    *,
    mode: int = PRIVATE,
    keep_backup: bool = False,
    make_dirs: bool = False,
) -> None:
    """Replace ``path`` with ``data``: temp file, fsync, rename, fsync of the folder.

    ``mode`` is the new file's permission bits (set on the open file, so a reader never
    sees it wider). ``keep_backup`` keeps the old file as ``<name>.bak`` (hard link then
    rename, so that name always points at a complete file too). ``make_dirs`` creates
    missing folders; the file's own folder, if new, is its owner's only (0700).
    """
    with writing_atomic(path, mode=mode, keep_backup=keep_backup, make_dirs=make_dirs) as file:
        file.write(data)


@contextlib.contextmanager
def writing_atomic(
    path: Path | str,
    *,
    mode: int = PRIVATE,
    keep_backup: bool = False,
    make_dirs: bool = False,
) -> Iterator[BinaryIO]:
    """``write_atomic`` of what the block writes to the file it is given, as it goes
    (an archive of a whole data dir is never held in memory); an exception in the block
    leaves ``path`` as it was."""
    path = Path(path)
    directory = path.parent
    if make_dirs:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    # mkstemp: a fresh name (O_EXCL), so two writers never share a temp file and a
    # leftover from a crash is never reopened with its old mode.
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as file:
            os.fchmod(file.fileno(), mode)
            yield file
            file.flush()
            os.fsync(file.fileno())
        if keep_backup and path.exists():
            bak_tmp = directory / f".{path.name}.bak.tmp"
            with contextlib.suppress(FileNotFoundError):
                bak_tmp.unlink()
            os.link(path, bak_tmp)
            os.replace(bak_tmp, directory / f"{path.name}.bak")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    fsync_dir(directory)
