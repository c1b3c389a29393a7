"""The append-only, hash-chained audit log: who did what to which record, and when.

One file, ``<data_dir>/audit/audit.jsonl`` (rotation by year can come later: verify
would then chain across files). Each line is one entry, ids only, never PHI::

    {"seq":1,"at":"2026-03-10T09:00:00.000000Z","actor":{"kind":"staff","id":"stf_1",
     "role":"admin"},"source":"127.0.0.1","action":"client.read","target":"cli_x",
     "prev":"000…0","hash":"…"}

``hash`` is ``sha256(prev + canonical JSON of the entry without "hash")``, canonical
meaning msgspec's encoding with keys sorted and no whitespace; the first ``prev`` is
64 zeros. So editing a line breaks its hash, and deleting or reordering lines breaks
``seq`` and ``prev``. Deleting lines at the *end* leaves a valid chain, so
``audit/head.json`` (``{"seq", "hash"}``) is replaced atomically as an anchor: after a
batch, at most every ``HEAD_EVERY_S`` (a head behind the log is fine; one ahead of it
means lines were deleted), and on close. Its rename and directory fsync stay off the
path every caller waits on.

Writes are group commits: callers queue entries, one writer task writes and fsyncs
whatever has queued (in a thread), then wakes every caller. ``append`` returns only
once its entry is on disk; 100 concurrent appends cost about one fsync.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import logging
import os
import re
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import msgspec

from tlh.errors import InvalidInput, StoreCorrupt, StoreError
from tlh.store.atomic import fsync_dir, write_atomic

log = logging.getLogger(__name__)

ZERO_HASH = "0" * 64
LOG_NAME = "audit.jsonl"
HEAD_NAME = "head.json"
#: Seconds the head anchor may lag behind the log while entries keep coming.
HEAD_EVERY_S = 0.25
MAX_PROBLEMS = 100

# Ids and dotted action names only: no spaces, "@" or "+" keeps names, emails and
# phone numbers out even if a caller passes the wrong field by mistake.
_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
_ACTION = re.compile(r"[a-z][a-z0-9_.-]{0,63}")
_SOURCE = re.compile(r"[A-Za-z0-9.:%\[\]_-]{0,64}")


class ActorLike(Protocol):
    """Who acted (``tlh.services.context.Actor`` fits; the store may not import it)."""

    @property
    def kind(self) -> str: ...
    @property
    def id(self) -> str: ...
    @property
    def role(self) -> str | None: ...
    @property
    def source(self) -> str: ...


class ActorRef(msgspec.Struct, forbid_unknown_fields=True):
    """The actor as stored: ids and role, never a name."""

    kind: str
    id: str
    role: str | None


class _Body(msgspec.Struct, forbid_unknown_fields=True):
    """An entry without its hash: what the hash covers."""

    seq: int
    at: str
    actor: ActorRef
    source: str
    action: str
    target: str
    prev: str


class Entry(msgspec.Struct, forbid_unknown_fields=True):
    """One line of the log, fields in the order they are written."""

    seq: int
    at: str
    actor: ActorRef
    source: str
    action: str
    target: str
    prev: str
    hash: str


class Head(msgspec.Struct):
    """``head.json``: the last entry written, an anchor against deleting the tail."""

    seq: int
    hash: str


class Problem(msgspec.Struct):
    """One thing wrong with the log, at a 1-based line number."""

    line: int
    reason: str


class VerifyResult(msgspec.Struct):
    """What ``verify`` found; ``ok`` when there are no problems."""

    ok: bool
    entries: int
    problems: list[Problem] = msgspec.field(default_factory=list)


_sorted = msgspec.json.Encoder(order="sorted")
_encoder = msgspec.json.Encoder()
_entry_decoder = msgspec.json.Decoder(Entry)
_head_decoder = msgspec.json.Decoder(Head)


def entry_hash(body: _Body) -> str:
    """The chain hash of an entry: sha256 of prev + its canonical JSON (hash excluded)."""
    return hashlib.sha256(body.prev.encode("ascii") + _sorted.encode(body)).hexdigest()


def _body_of(e: Entry) -> _Body:
    return _Body(e.seq, e.at, e.actor, e.source, e.action, e.target, e.prev)


def format_at(when: datetime) -> str:
    """Fixed-width UTC ISO time, so string order is time order."""
    if when.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def log_paths(path: Path | str) -> tuple[Path, Path]:
    """(log, head) for a data dir or a path to the log file itself."""
    path = Path(path)
    if path.is_dir():
        path = path / "audit" / LOG_NAME
    return path, path.parent / HEAD_NAME


class _Pending(msgspec.Struct):
    """One caller's entries (without seq/prev/hash) and the future it waits on."""

    parts: list[tuple[str, ActorRef, str, str, str]]
    done: asyncio.Future[None]


class AuditLog:
    """The audit sink the services write to (``AuditSink``); one per data dir.

    ``await start()`` before use, ``await close()`` to drain and stop. ``read`` and
    ``verify`` are synchronous (call them with ``asyncio.to_thread``).
    """

    def __init__(self, data_dir: Path | str, clock: Callable[[], datetime] = _utcnow) -> None:
        self.path = Path(data_dir) / "audit" / LOG_NAME
        self.head_path = self.path.parent / HEAD_NAME
        self._clock = clock
        self._seq = 0
        self._last_hash = ZERO_HASH
        self._fd: int | None = None
        self._queue: asyncio.Queue[_Pending | None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._closing = False
        self._broken = False
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
            log.exception("the audit writer crashed")
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
            seq, last = self._recover_tail(fd)
            head = _read_head(self.head_path)
            if head is not None and (head.seq > seq or (head.seq == seq and head.hash != last)):
                raise StoreCorrupt(
                    f"{self.path} ends at seq {seq} but {self.head_path.name} says "
                    f"{head.seq} (entries deleted or rewritten); run `tlh audit verify`, "
                    "then restore audit/ from a backup or move it aside to start a new chain"
                )
            if head is None or head.seq < seq:
                write_atomic(self.head_path, _encoder.encode(Head(seq, last)), keep_backup=False)
            fsync_dir(self.path.parent)
        except BaseException:
            os.close(fd)
            raise
        return seq, last, fd

    def _recover_tail(self, fd: int) -> tuple[int, str]:
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
            last = _entry_decoder.decode(last_line)
        except msgspec.DecodeError:
            raise StoreCorrupt(
                f"{self.path}: the last line is not a valid audit entry; run `tlh audit verify`"
            ) from None
        return last.seq, last.hash

    # -- appending -------------------------------------------------------------

    async def append(self, actor: ActorLike, action: str, target: str) -> None:
        """Durably record that ``actor`` did ``action`` to record id ``target``."""
        await self.append_many(actor, action, [target])

    async def append_many(self, actor: ActorLike, action: str, targets: Sequence[str]) -> None:
        """One entry per target, written and fsynced in one batch."""
        if isinstance(targets, str):
            raise TypeError("targets must be a sequence of ids, not one string")
        ref = _actor_ref(actor)
        if not _ACTION.fullmatch(action):
            raise InvalidInput("an audit action must be a dotted lower-case name")
        if not all(isinstance(t, str) and _ID.fullmatch(t) for t in targets):
            raise InvalidInput("an audit target must be a record id")
        if not targets:
            return
        if self._queue is None or self._closing:
            raise StoreError("the audit log is not open")
        if self._broken:
            raise StoreError("the audit log could not be written; restart the server")
        at = format_at(self._clock())
        source = actor.source or ""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending([(at, ref, source, action, t) for t in targets], done))
        await done

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
        """The next queued item; a lagging head is written while the queue is quiet."""
        assert self._queue is not None
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
            await asyncio.to_thread(
                write_atomic, self.head_path, _encoder.encode(head), keep_backup=False
            )
        except OSError as exc:
            # The entries are durable; the next batch moves the head past them.
            log.warning("audit head not updated: %s", type(exc).__name__)

    async def _write_batch(self, batch: list[_Pending]) -> None:
        seq, prev = self._seq, self._last_hash
        lines: list[bytes] = []
        for pending in batch:
            for at, ref, source, action, target in pending.parts:
                seq += 1
                body = _Body(seq, at, ref, source, action, target, prev)
                h = entry_hash(body)
                lines.append(_encoder.encode(Entry(seq, at, ref, source, action, target, prev, h)))
                prev = h
        lines.append(b"")
        try:
            await asyncio.to_thread(self._write_sync, b"\n".join(lines))
        except Exception as exc:
            log.error("audit log write failed: %s", type(exc).__name__)
            _fail(batch, "the audit log could not be written")
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

    def read(self, since: datetime | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Entries as stored, oldest first.

        With ``since``: the first ``limit`` entries at or after it (page on with the last
        ``at``). Without: the most recent ``limit`` entries. Synchronous file I/O.
        """
        if limit is not None and limit <= 0:
            return []
        floor = format_at(since) if since is not None else None
        out: collections.deque[dict[str, Any]] = collections.deque(
            maxlen=limit if floor is None else None
        )
        if not self.path.exists():
            return []
        with self.path.open("rb") as f:
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

    def export_path(self) -> Path:
        """The log file, to stream as is (JSON lines).

        Streamed while the server writes, it may end in a batch's incomplete last line;
        ``verify`` ignores such a line, and the next export has it whole.
        """
        return self.path


def _fail(batch: list[_Pending], message: str) -> None:
    for pending in batch:
        if not pending.done.done():
            pending.done.set_exception(StoreError(message))


def _actor_ref(actor: ActorLike) -> ActorRef:
    if not _ID.fullmatch(actor.id) or not _ACTION.fullmatch(actor.kind):
        raise InvalidInput("an audit actor must be identified by id")
    if not _SOURCE.fullmatch(actor.source or ""):
        raise InvalidInput("an audit source must be a network address")
    role = None if actor.role is None else str(actor.role)
    return ActorRef(kind=actor.kind, id=actor.id, role=role)


def _read_head(path: Path) -> Head | None:
    try:
        return _head_decoder.decode(path.read_bytes())
    except FileNotFoundError:
        return None
    except msgspec.DecodeError:
        raise StoreCorrupt(f"{path} is not a valid audit head; run `tlh audit verify`") from None


def verify(path: Path | str) -> VerifyResult:
    """Check a log (a data dir, or the log file) against its chain and its head.

    Names each problem with its 1-based line: an edited line (its hash does not match),
    deleted or reordered lines (seq or prev breaks), lines deleted at the end (the head
    is ahead of the file), malformed lines. Safe while the server writes: the head is
    read first, and it only ever moves after the log is fsynced; an incomplete final
    line is a batch still being written (or a torn one start-up will drop), not a fault.
    """
    log_path, head_path = log_paths(path)
    problems: list[Problem] = []
    try:
        head = _read_head(head_path)
    except StoreCorrupt:
        head, bad_head = None, True
    else:
        bad_head = False
    lines = 0
    expected: int | None = 1
    prev: str | None = ZERO_HASH
    last_seq = 0
    head_match: tuple[int, str] | None = None  # line number, hash of the entry at head.seq
    if log_path.exists():
        with log_path.open("rb") as f:
            for raw in f:
                if not raw.endswith(b"\n"):
                    break
                lines += 1
                if len(problems) >= MAX_PROBLEMS:
                    continue
                try:
                    e = _entry_decoder.decode(raw)
                except msgspec.ValidationError as exc:
                    problems.append(Problem(lines, f"not a valid audit entry ({exc})"))
                    expected = prev = None  # resynchronise on the next good line
                    continue
                except msgspec.DecodeError:
                    problems.append(Problem(lines, "not a valid audit entry (malformed JSON)"))
                    expected = prev = None
                    continue
                problems.extend(Problem(lines, r) for r in _check_entry(e, expected, prev))
                if head is not None and e.seq == head.seq:
                    head_match = (lines, e.hash)
                expected, prev, last_seq = e.seq + 1, e.hash, e.seq
    if len(problems) >= MAX_PROBLEMS:
        problems.append(Problem(lines, f"stopped checking after {MAX_PROBLEMS} problems"))
    if bad_head:
        problems.append(Problem(lines, f"{HEAD_NAME} is unreadable (the end is unanchored)"))
    elif head is None:
        if lines:
            problems.append(Problem(lines, f"{HEAD_NAME} is missing (the end is unanchored)"))
    elif head.seq > last_seq:
        problems.append(
            Problem(
                lines + 1,
                f"the log ends at seq {last_seq} but the head says {head.seq} "
                "(lines deleted at the end)",
            )
        )
    elif head.seq > 0 and (head_match is None or head_match[1] != head.hash):
        where = head_match[0] if head_match else lines
        problems.append(Problem(where, f"seq {head.seq} does not match the head's hash"))
    return VerifyResult(ok=not problems, entries=lines, problems=problems)


def _check_entry(e: Entry, expected: int | None, prev: str | None) -> list[str]:
    """Why one decoded entry breaks the chain, given what the line before it said."""
    reasons = []
    if entry_hash(_body_of(e)) != e.hash:
        reasons.append("hash does not match its contents (edited?)")
    if expected is not None and e.seq != expected:
        if expected == 1:
            reasons.append(f"the log starts at seq {e.seq}, not 1 (lines deleted at the start)")
        elif e.seq > expected:
            what = "a line was" if e.seq == expected + 1 else "lines were"
            reasons.append(f"seq {e.seq} follows {expected - 1} ({what} deleted)")
        else:
            reasons.append(f"seq {e.seq} follows {expected - 1} (lines reordered or repeated)")
    elif prev is not None and e.prev != prev:
        reasons.append("prev does not match the previous line's hash (a line was replaced)")
    return reasons
