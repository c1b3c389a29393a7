"""The append-only, hash-chained audit log: who did what to which record, and when.

One file, ``<data_dir>/audit/audit.jsonl`` (rotation by year can come later: verify
would then chain across files); what a line holds and how it chains is in
``tlh.store.auditentry``, the ``head.json`` anchor against deleting the tail in
``tlh.store.audithead``, and ``tlh audit verify`` in ``tlh.store.auditverify``.

Writes are group commits: callers queue entries, one writer task writes and fsyncs
whatever has queued (in a thread), then wakes every caller. ``append`` returns only
once its entry is on disk; 100 concurrent appends cost about one fsync. The head is
replaced after a batch, at most every ``HEAD_EVERY_S``, and on close; its rename and
directory fsync stay off the path every caller waits on.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from tlh.errors import StoreError, write_failure

# ``write_atomic`` and ``entry_hash`` are looked up in this module on purpose: the
# bench patches ``auditlog.write_atomic`` and a test patches ``auditlog.entry_hash``.
from tlh.files import fsync_dir, write_atomic
from tlh.store.auditentry import (
    LOG_NAME,
    ZERO_HASH,
    ActorLike,
    ActorRef,
    Entry,
    EntryBody,
    actor_ref,
    check_entries,
    encoder,
    entry_hash,
    format_at,
)
from tlh.store.auditfile import commit_counts, read_entries, recover_tail
from tlh.store.audithead import (
    HEAD_EVERY_S,
    HEAD_NAME,
    Head,
    encode_head,
    head_behind,
    log_paths,
    read_head,
    signed,
)
from tlh.store.auditverify import MAX_PROBLEMS, Problem, VerifyResult, verify
from tlh.store.base import AuditNote
from tlh.store.seal import PLAIN, Codec

__all__ = [
    "HEAD_EVERY_S",
    "HEAD_NAME",
    "LOG_NAME",
    "MAX_PROBLEMS",
    "ZERO_HASH",
    "ActorLike",
    "ActorRef",
    "AuditLog",
    "Entry",
    "Head",
    "Problem",
    "VerifyResult",
    "entry_hash",
    "format_at",
    "log_paths",
    "verify",
    "write_atomic",
]

log = logging.getLogger(__name__)

#: Seconds between attempts to write commit entries that failed (a full disk).
RETRY_S = 1.0
#: Bytes per chunk of an export.
EXPORT_CHUNK = 1 << 16


def _utcnow() -> datetime:
    return datetime.now(UTC)


#: One entry before the writer numbers and chains it: at, actor, source, action,
#: target, and the store commit it records (``None`` for a read).
Part = tuple[str, ActorRef, str, str, str, int | None]


class _Pending(msgspec.Struct):
    """One caller's entries (without seq/prev/hash) and the future it waits on."""

    parts: list[Part]
    done: asyncio.Future[None]


class AuditLog:
    """The audit sink the services write to (``AuditSink``); one per data dir.

    ``await start()`` before use, ``await close()`` to drain and stop. ``read`` and
    ``export`` read the file in a thread; ``verify`` is synchronous.
    """

    def __init__(self, data_dir: Path | str, clock: Callable[[], datetime] = _utcnow) -> None:
        self.path = Path(data_dir) / "audit" / LOG_NAME
        self.head_path = self.path.parent / HEAD_NAME
        #: The dir's codec (the store sets it): the head is signed with its data key.
        self.codec: Codec = PLAIN
        self._clock = clock
        self._seq = 0
        self._last_hash = ZERO_HASH
        self._fd: int | None = None
        self._queue: asyncio.Queue[_Pending | None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._closing = False
        self._broken = False
        #: Entries of store commits whose write failed, written before anything else.
        self._retry: list[Part] = []
        #: Batches written and fsynced so far (tests and the bench count group commits).
        self.batches_written = 0
        #: The head not written yet (lagging), and when it was last written.
        self._head_due: Head | None = None
        self._head_at = 0.0

    # -- lifecycle -------------------------------------------------------------

    async def start(self) -> None:
        """Recover the chain's end from the file and start the writer task."""
        if self._writer is not None or self._closing:
            raise StoreError("the audit log was already started")
        self._seq, self._last_hash, self._fd = await asyncio.to_thread(self._open)
        self._queue = asyncio.Queue()
        self._writer = asyncio.create_task(self._run(), name="audit-writer")

    async def close(self) -> None:
        """Write everything queued, stop the writer and close the file."""
        if self._writer is None or self._queue is None:
            return
        if not self._closing:
            self._closing = True
            self._queue.put_nowait(None)
        try:
            await self._writer
        except asyncio.CancelledError:
            # A batch may still be writing in its thread: leave the descriptor open
            # rather than let a reused descriptor number receive those bytes.
            self._writer.cancel()
            raise
        except Exception:
            # Its callers were already failed; what is left is to release the file.
            log.error("the audit writer crashed")  # its callers were told; no exception text
        fd, self._fd = self._fd, None
        if fd is not None:
            await asyncio.to_thread(os.close, fd)

    def _open(self) -> tuple[int, str, int]:
        """Truncate a torn last line, check the head, and open the log for appending.

        A last line without its newline is a write cut short by a crash. Dropping it is
        safe: ``append`` returns only after the fsync of the whole batch, so no caller
        was ever told that entry was recorded, and ``head.json`` (written after the
        fsync) never points at it. Complete lines of that cut batch are kept: they are
        valid links of the chain, and the services audit after they commit, so they
        record what happened. A complete line that does not decode is not a torn write,
        and stops start-up.
        """
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            seq, last = recover_tail(fd, self.path)
            head = read_head(self.head_path)
            if head_behind(head, seq, last, self.path, self.head_path, self.codec):
                write_atomic(self.head_path, encode_head(signed(Head(seq, last), self.codec)))
            fsync_dir(self.path.parent)
        except BaseException:
            os.close(fd)
            raise
        return seq, last, fd

    # -- appending -------------------------------------------------------------

    async def append(self, actor: ActorLike, action: str, target: str) -> None:
        """Durably record that ``actor`` did ``action`` to record id ``target``."""
        await self.append_many(actor, action, [target])

    async def append_many(self, actor: ActorLike, action: str, targets: Sequence[str]) -> None:
        """One entry per target, written and fsynced in one batch."""
        check_entries(action, targets)
        ref = actor_ref(actor)
        if not targets:
            return
        at = self.now()
        source = actor.source or ""
        await self._enqueue([(at, ref, source, action, t, None) for t in targets])

    def now(self) -> str:
        """The log's clock, formatted as an entry's ``at``."""
        return format_at(self._clock())

    def enqueue_commit(self, commit: int, at: str, notes: Sequence[AuditNote]) -> Awaitable[None]:
        """Queue the entries of store commit ``commit`` at once (the store calls this while
        it holds its commit lock, so entries follow commit order); await the result for
        them to be durable."""
        parts: list[Part] = [
            (at, n.actor, n.source, n.action, t, commit) for n in notes for t in n.targets
        ]
        return self._enqueue(parts)

    async def barrier(self) -> None:
        """Wait until every entry queued before this call is durable (or failed)."""
        await self._enqueue([])

    def _enqueue(self, parts: list[Part]) -> asyncio.Future[None]:
        if self._queue is None or self._closing:
            raise StoreError("the audit log is not open")
        if self._broken:
            raise StoreError("the audit log could not be written; restart the server")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending(parts, done))
        return done

    async def _run(self) -> None:
        """The one writer: take everything queued, write it as one batch, repeat; move
        the head anchor when it is due (or when the queue goes quiet, or on close)."""
        assert self._queue is not None
        batch: list[_Pending] = []
        try:
            stop = False
            while not stop:
                batch = []
                item = await self._next()
                while True:
                    if item is None:
                        stop = True
                        break
                    batch.append(item)
                    if self._queue.empty():
                        break
                    item = self._queue.get_nowait()
                if batch:
                    await self._write_batch(batch)
            await self._write_head(force=True)
        finally:
            # Cancelled or crashed: nobody may wait forever for an entry never written.
            self._closing = True
            while not self._queue.empty():
                pending = self._queue.get_nowait()
                if pending is not None:
                    batch.append(pending)
            _fail(batch, "the audit log stopped; the entry may not be recorded")

    async def _next(self) -> _Pending | None:
        """The next queued item; a lagging head is written while the queue is quiet, and
        entries that failed to write are tried again every ``RETRY_S``."""
        assert self._queue is not None
        while self._retry and self._queue.empty():
            try:
                return await asyncio.wait_for(self._queue.get(), RETRY_S)
            except TimeoutError:
                return _Pending([], asyncio.get_running_loop().create_future())
        while self._head_due is not None and self._queue.empty():
            wait = self._head_at + HEAD_EVERY_S - time.monotonic()
            try:
                return await asyncio.wait_for(self._queue.get(), max(wait, 0.0))
            except TimeoutError:
                await self._write_head(force=True)
        return await self._queue.get()

    async def _write_head(self, *, force: bool = False) -> None:
        """Replace ``head.json`` with the last batch's end, if due (or ``force``)."""
        head = self._head_due
        if head is None or (not force and time.monotonic() - self._head_at < HEAD_EVERY_S):
            return
        self._head_due, self._head_at = None, time.monotonic()
        try:
            data = encode_head(signed(head, self.codec))
            await asyncio.to_thread(write_atomic, self.head_path, data)
        except OSError as exc:
            # The entries are durable; the next batch moves the head past them.
            log.warning("audit head not updated: %s", type(exc).__name__)

    async def _write_batch(self, batch: list[_Pending]) -> None:
        seq, prev = self._seq, self._last_hash
        lines: list[bytes] = []
        retry, self._retry = self._retry, []
        parts = [*retry, *(part for pending in batch for part in pending.parts)]
        for at, ref, source, action, target, commit in parts:
            seq += 1
            body = EntryBody(seq, at, ref, source, action, target, prev, commit)
            h = entry_hash(body)
            lines.append(
                encoder.encode(Entry(seq, at, ref, source, action, target, prev, h, commit))
            )
            prev = h
        if len(lines) == 0:  # only barriers: nothing to write, all is durable already
            for pending in batch:
                if not pending.done.done():
                    pending.done.set_result(None)
            return
        lines.append(b"")
        try:
            await asyncio.to_thread(self._write_sync, b"\n".join(lines))
        except Exception as exc:
            failure = (
                write_failure(f"audit log {self.path}", exc)
                if isinstance(exc, OSError)
                else StoreError(f"audit log {self.path} could not be written")
            )
            log.error("%s", failure.message)
            # A commit's entries are in its journal record already (the change is
            # stored): they are written as soon as the log can take them, before any
            # later entry. A read that could not be logged is not served (its caller
            # fails), so its entry is dropped.
            self._retry = [part for part in parts if part[5] is not None]
            _fail(batch, failure)
            return
        self._seq, self._last_hash = seq, prev
        self.batches_written += 1
        for pending in batch:
            if not pending.done.done():
                pending.done.set_result(None)
        self._head_due = Head(seq, prev)
        await self._write_head()

    def _write_sync(self, data: bytes) -> None:
        """Append and fsync; on failure leave the file as it was."""
        assert self._fd is not None
        fd = self._fd
        start = os.fstat(fd).st_size
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except OSError:
            # Unacknowledged lines must not stay: the next batch would reuse their seq.
            try:
                os.ftruncate(fd, start)
                os.fsync(fd)
            except OSError:
                self._broken = True
            raise

    # -- reading ---------------------------------------------------------------

    async def read(
        self, since: datetime | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Entries as stored, oldest first.

        With ``since``: the first ``limit`` entries at or after it (page on with the last
        ``at``). Without: the most recent ``limit`` entries. The file is read in a thread.
        """
        return await asyncio.to_thread(read_entries, self.path, since, limit)

    def commit_counts(self, since: int) -> dict[int, int]:
        """How many entries each store commit numbered ``since`` or later has in the log
        (read from the end; synchronous file I/O). Start-up recovery uses it to add what a
        crash kept out."""
        return commit_counts(self.path, since)

    async def export(self) -> AsyncIterator[bytes]:
        """The log file as is (JSON lines), in chunks read in a thread.

        Streamed while the server writes, it may end in a batch's incomplete last line;
        ``verify`` ignores such a line, and the next export has it whole.
        """
        handle = await asyncio.to_thread(self.path.open, "rb")
        try:
            while chunk := await asyncio.to_thread(handle.read, EXPORT_CHUNK):
                yield chunk
        finally:
            handle.close()


def _fail(batch: list[_Pending], error: str | StoreError) -> None:
    for pending in batch:
        if not pending.done.done():
            pending.done.set_exception(StoreError(error) if isinstance(error, str) else error)
