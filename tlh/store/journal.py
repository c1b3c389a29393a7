"""An append-only, fsynced write-ahead journal.

One commit is one line: ``LLLLLLLL CCCCCCCC <payload>\\n`` where ``L`` is the payload
length and ``C`` its CRC32, both 8 hex digits, and the payload is one msgspec-JSON
record (compact JSON never holds a raw newline). A torn or CRC-failing *last* record
is what a crash mid-append leaves: it was never acknowledged, so recovery drops it
and truncates the file. A bad record followed by more data is corruption.

Files rotate (``000001.wal``, ``000002.wal``, ...) so a checkpoint can fold the old
ones into the table files while new commits go to the next.

In an encrypted data dir each payload is sealed on its own (``tlh.store.seal``, label
``journal``): the CRC still tells a torn tail from a sound record, and the AEAD tells a
sound record from an altered one. A dropped tail is first copied to
``NNNNNN.wal.torn-<offset>`` (sealed bytes as they were), so recovery never destroys data.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from pathlib import Path

from tlh.errors import StoreError, os_error_reason, write_failure
from tlh.files import fsync_dir, write_atomic
from tlh.store.atomic import corrupt
from tlh.store.seal import PLAIN, Codec

JOURNAL_LABEL = b"journal"

HEADER_LEN = 18  # "%08x %08x "
JOURNAL_HINT = (
    "its commits are not yet in the table files; stop the server and run "
    "`tlh restore BACKUP`, or keep a copy of the file and truncate it at that offset "
    "(the commits after it are lost)"
)


def frame(payload: bytes) -> bytes:
    """One journal line for ``payload``."""
    return b"%08x %08x " % (len(payload), zlib.crc32(payload)) + payload + b"\n"


def _record_at(data: bytes, pos: int) -> int | None:
    """The end offset (after the newline) of a sound record at ``pos``, else ``None``."""
    if len(data) - pos < HEADER_LEN + 1:
        return None
    head = data[pos : pos + HEADER_LEN]
    if head[8:9] != b" " or head[17:18] != b" ":
        return None
    try:
        length = int(head[0:8], 16)
        crc = int(head[9:17], 16)
    except ValueError:
        return None
    start = pos + HEADER_LEN
    end = start + length
    if end >= len(data) or data[end : end + 1] != b"\n":
        return None
    if zlib.crc32(data[start:end]) != crc:
        return None
    return end + 1


def read_records(path: Path, *, last_file: bool) -> tuple[list[tuple[int, bytes]], int]:
    """The sound records of one file as ``(offset, payload)``, and where they end.

    A bad record is tolerated only as the final line of the last file.
    """
    data = path.read_bytes()
    records: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(data):
        end = _record_at(data, pos)
        if end is None:
            newline = data.find(b"\n", pos)
            is_tail = newline == -1 or newline == len(data) - 1
            if is_tail and last_file:
                return records, pos
            line = data.count(b"\n", 0, pos) + 1
            raise corrupt(path, f"bad journal record at line {line}, offset {pos}", JOURNAL_HINT)
        records.append((pos, data[pos + HEADER_LEN : end - 1]))
        pos = end
    return records, pos


def _number(path: Path) -> int:
    return int(path.stem)


class Journal:
    """The journal directory: replay, append, rotate, drop folded files."""

    def __init__(self, directory: Path, codec: Codec = PLAIN) -> None:
        self.directory = directory
        #: Seals each record's payload (``PLAIN`` in a ``--no-encrypt`` dir).
        self.codec = codec
        self._fd: int | None = None
        self._current: Path | None = None
        #: Bytes appended to the current file since it was opened.
        self.bytes_written = 0

    def files(self) -> list[Path]:
        """Journal files, oldest first."""
        return sorted(self.directory.glob("*.wal"), key=_number)

    def replay(self) -> Iterator[tuple[Path, int, bytes]]:
        """Every sound record in order as ``(file, offset, payload)``; truncates a torn tail."""
        files = self.files()
        for i, path in enumerate(files):
            last = i == len(files) - 1
            records, good_end = read_records(path, last_file=last)
            if last and good_end < path.stat().st_size:
                # A crash artefact: the commit was never acknowledged. Its bytes are kept
                # aside first (a flipped bit looks the same as a torn write).
                with path.open("r+b") as f:
                    f.seek(good_end)
                    write_atomic(path.with_name(f"{path.name}.torn-{good_end}"), f.read())
                    f.truncate(good_end)
                    os.fsync(f.fileno())
            for offset, payload in records:
                where = f"{path} (record at offset {offset})"
                yield path, offset, self.codec.open(payload, JOURNAL_LABEL, where)

    def open_for_append(self) -> None:
        """Append to the newest file (after ``replay``), or start the first one."""
        files = self.files()
        if files:
            self._open(files[-1])
        else:
            self._open(self.directory / "000001.wal")

    def _open(self, path: Path) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._current = path
        self.bytes_written = 0
        fsync_dir(self.directory)

    def append(self, payload: bytes) -> None:
        """Append one record and make it durable before returning."""
        if self._fd is None:
            raise StoreError("the journal is not open")
        fd = self._fd
        line = frame(self.codec.seal(payload, JOURNAL_LABEL))
        before = os.lseek(fd, 0, os.SEEK_END)
        try:
            view = memoryview(line)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            os.fdatasync(fd)
        except OSError as exc:
            # Put the file back as it was, so the next record is not written after
            # a torn one (which would read as corruption in the middle).
            try:
                os.ftruncate(fd, before)
                os.fsync(fd)
            except OSError:
                self.close()
                raise StoreError(
                    f"journal {self._current} could not be written or repaired: "
                    f"{os_error_reason(exc)}"
                ) from exc
            raise write_failure(f"journal {self._current}", exc) from exc
        self.bytes_written += len(line)

    def rotate(self) -> list[Path]:
        """Start the next file; the older files (now closed) are returned for folding."""
        if self._current is None:
            raise StoreError("the journal is not open")
        old = [p for p in self.files() if _number(p) <= _number(self._current)]
        nxt = self.directory / f"{_number(self._current) + 1:06d}.wal"
        self.close()
        self._open(nxt)
        return old

    def drop(self, paths: list[Path]) -> None:
        """Delete journal files whose records are folded into the table files."""
        for path in paths:
            path.unlink(missing_ok=True)
        fsync_dir(self.directory)

    def close(self) -> None:
        """Close the current file (its records are already durable)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
