"""Reading the audit log file: its end when the writer starts, and pages of entries.

Both read while the writer may append: a last line without its newline is a batch
still being written (or one a crash cut short), never an entry to report.
"""

from __future__ import annotations

import collections
import logging
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import msgspec

from tlh.errors import StoreCorrupt
from tlh.store.auditentry import ZERO_HASH, entry_decoder, format_at

log = logging.getLogger(__name__)


def recover_tail(fd: int, path: Path) -> tuple[int, str]:
    """(seq, hash) of the last complete entry of the log open at ``fd``.

    A last line without its newline is a write cut short by a crash: it is truncated
    (see ``AuditLog._open`` for why that is safe). A complete last line that does not
    decode is not a torn write, and raises ``StoreCorrupt``.
    """
    size = os.fstat(fd).st_size
    if size == 0:
        return 0, ZERO_HASH
    # Read backwards until the chunk holds the whole last complete line: its own
    # newline and the one before it (a torn tail may follow).
    chunk = b""
    pos = size
    while pos > 0 and chunk.count(b"\n") < 2:
        step = min(pos, 64 * 1024)
        pos -= step
        chunk = os.pread(fd, step, pos) + chunk
    end = chunk.rfind(b"\n") + 1  # 0 when no newline at all
    if end < len(chunk):
        log.warning("audit log: dropped an unacknowledged torn last line")
        os.ftruncate(fd, pos + end)
        os.fsync(fd)
        chunk = chunk[:end]
    if not chunk:
        return 0, ZERO_HASH
    last_line = chunk[chunk.rfind(b"\n", 0, len(chunk) - 1) + 1 :]
    try:
        last = entry_decoder.decode(last_line)
    except msgspec.DecodeError:
        raise StoreCorrupt(
            f"{path}: the last line is not a valid audit entry; run `tlh audit verify`"
        ) from None
    return last.seq, last.hash


def read_entries(
    path: Path, since: datetime | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Entries as stored, oldest first (``AuditLog.read``).

    With ``since``: the first ``limit`` entries at or after it (page on with the last
    ``at``). Without: the most recent ``limit`` entries. Synchronous file I/O.
    """
    if limit is not None and limit <= 0:
        return []
    floor = format_at(since) if since is not None else None
    out: collections.deque[dict[str, Any]] = collections.deque(
        maxlen=limit if floor is None else None
    )
    if not path.exists():
        return []
    with path.open("rb") as f:
        for raw in f:
            if not raw.endswith(b"\n"):
                break  # a batch still being written
            try:
                entry = msgspec.json.decode(raw)
            except msgspec.DecodeError:
                continue  # verify names it
            if not isinstance(entry, dict):
                continue
            if floor is not None and str(entry.get("at", "")) < floor:
                continue
            out.append(entry)
            if floor is not None and limit is not None and len(out) >= limit:
                break
    return list(out)


def commit_counts(path: Path, since: int) -> dict[int, int]:
    """``commit -> number of entries`` for store commits numbered ``since`` or later.

    Commits are logged in order, so reading backwards can stop at the first entry of an
    earlier commit. Only a log with no numbered commit before ``since`` is read whole.
    """
    counts: dict[int, int] = {}
    if not path.exists():
        return counts
    with path.open("rb") as f:
        for raw in _lines_backwards(f):
            try:
                entry = _commit_only.decode(raw)
            except msgspec.DecodeError:
                continue  # a torn tail (start-up drops it) or a bad line (verify names it)
            if entry.commit is None:
                continue
            if entry.commit < since:
                break
            counts[entry.commit] = counts.get(entry.commit, 0) + 1
    return counts


class _CommitOnly(msgspec.Struct):
    commit: int | None = None


_commit_only = msgspec.json.Decoder(_CommitOnly)


def _lines_backwards(f: BinaryIO, block: int = 64 * 1024) -> Iterator[bytes]:
    """The complete lines of a file, last first (a final line without newline is skipped)."""
    f.seek(0, os.SEEK_END)
    pos = f.tell()
    buf = b""  # read but not yet yielded: from ``pos`` up to the last line given out
    seen_newline = False
    while pos > 0:
        step = min(block, pos)
        pos -= step
        f.seek(pos)
        buf = f.read(step) + buf
        if not seen_newline:
            cut = buf.rfind(b"\n")
            if cut < 0:
                continue  # still inside a torn last line
            buf, seen_newline = buf[:cut], True
        lines = buf.split(b"\n")
        buf = lines[0]
        yield from reversed(lines[1:])
    if seen_newline:
        yield buf
