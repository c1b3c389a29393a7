"""Messages between the servers sharing one PostgreSQL: ``PgChannel`` (LISTEN/NOTIFY).

Each server holds two connections: one only listens (psycopg's ``notifies()``), the
other sends, fetches spilled payloads and sweeps old ones. ``post`` queues and returns
at once; a sender task drains the queue in batches, a run of notifications in one
statement (one round trip), so a server's messages arrive in the order it posted them
(PostgreSQL delivers a statement's notifications in order, commits in commit order).

Each notification names its server and its place in that server's order
(``notify_text``): receivers skip their own server's (it delivered them itself) and any
seq they have seen (a batch resent after a lost connection), and report a gap when a
server's seq jumps (its queue overflowed while cut off). NOTIFY refuses payloads of
8000 bytes or more, so a larger one, such as an SDP offer, goes into
``tlh_notify_spill`` in the same statement and the notification carries its row id;
spill rows are swept after ``spill_keep_s``.

Losing either connection closes both, then reconnects with a bounded backoff, LISTENs
again and reports a gap (what was sent meanwhile is gone: consumers resync from the
store). A quiet listening connection is pinged every ``heartbeat_s``, and TCP
keepalives are on, so a half-open connection is found within seconds, not never.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import psycopg

from tlh.store.pg.connecting import CONNECT, first_line, where
from tlh.store.pg.notify_text import SPILLED, Notice, inline, parse, payload_of, spilled_head

log = logging.getLogger(__name__)

#: Created at ``open`` if missing; a notification of kind ``s`` carries a row's id.
SPILL_TABLE: Final = """CREATE TABLE IF NOT EXISTS tlh_notify_spill (
    id bigserial PRIMARY KEY,
    payload bytea NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
)"""
#: Taken while creating the table: two servers starting at once would otherwise race
#: in the catalogue (CREATE ... IF NOT EXISTS is not atomic there).
_SCHEMA_LOCK: Final = 0x746C685F6E6F74  # "tlh_not"
#: A run of notifications in one statement, in the array's order (a thousand separate
#: statements cost ~0.1 ms each even pipelined; this, a few microseconds each). The
#: array goes in binary, as the store's bulk writes do: in text every quote of the JSON
#: payloads is escaped by a regex callback in Python (~0.15 ms a 1 kB payload).
_NOTIFY: Final = (
    "SELECT pg_notify(%s, x) FROM unnest(%b::text[]) WITH ORDINALITY AS t(x, i) ORDER BY i"
)
_SPILL: Final = (
    "WITH s AS (INSERT INTO tlh_notify_spill (payload) VALUES (%s) RETURNING id) "
    "SELECT pg_notify(%s, %s || s.id::text) FROM s"
)


@dataclass(slots=True)
class _Out:
    seq: int
    topic: str
    payload: bytes
    sent: asyncio.Future[None] | None


#: Put in the incoming queue after a reconnect: a gap, in order with the messages.
_GAP: Final = object()


class PgChannel:
    """A ``tlh.services.channel.Channel`` over PostgreSQL; ``open()``, then ``close()``."""

    def __init__(
        self,
        url: str,
        *,
        name: str = "tlh_events",
        server_id: str | None = None,
        spill_keep_s: float = 60.0,
        sweep_s: float = 20.0,
        heartbeat_s: float = 5.0,
        backoff_s: tuple[float, float] = (0.05, 2.0),
        max_queued: int = 10_000,
        batch: int = 256,
    ) -> None:
        self.url = url
        #: The PostgreSQL channel LISTENed to: lower case, digits, ``_`` (LISTEN folds an
        #: unquoted name to lower case; pg_notify takes it as given).
        self.name = name
        self._server_id = server_id or secrets.token_hex(6)
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name) or not self._server_id.isalnum():
            raise ValueError("the channel name is [a-z_][a-z0-9_]*, the server id letters/digits")
        self.spill_keep_s = spill_keep_s
        self.sweep_s = sweep_s
        self.heartbeat_s = heartbeat_s
        self.backoff_s = backoff_s
        self.max_queued = max_queued
        self.batch = batch
        #: Messages dropped: to send, while PostgreSQL was away; received, while this
        #: server was far behind (``max_queued`` either way).
        self.dropped = 0
        #: Times the connections were lost and made again.
        self.reconnects = 0
        self._handlers: dict[str, Callable[[bytes], None]] = {}
        self._gap_handlers: list[Callable[[], None]] = []
        self._outgoing: deque[_Out] = deque()
        self._wake = asyncio.Event()
        self._seq = 0
        self._incoming: asyncio.Queue[psycopg.Notify | object] = asyncio.Queue()
        self._current: psycopg.Notify | object | None = None  # retried after a reconnect
        self._last: dict[str, int] = {}  # the last seq delivered, by server
        self._work_lock = asyncio.Lock()
        self._utf8 = True
        self._up = False
        self._closed = False
        self._task: asyncio.Task[None] | None = None

    # -- the Channel protocol ----------------------------------------------------------

    @property
    def server_id(self) -> str:
        """This server's id, at the head of every notification it sends."""
        return self._server_id

    @property
    def connected(self) -> bool:
        """Whether both connections are up (``False`` while reconnecting)."""
        return self._up

    def on(self, topic: str, handler: Callable[[bytes], None]) -> None:
        """Call ``handler`` with each payload another server sends on ``topic``."""
        self._check_topic(topic)
        self._handlers[topic] = handler

    def on_gap(self, handler: Callable[[], None]) -> None:
        """Call ``handler`` when messages from other servers may have been missed."""
        self._gap_handlers.append(handler)

    def post(self, topic: str, payload: bytes) -> None:
        """Queue ``payload`` for the other servers; never waits."""
        self._queue(topic, payload, None)

    async def publish(self, topic: str, payload: bytes) -> None:
        """Send ``payload`` and wait until its NOTIFY is committed (``ConnectionError``
        if it was dropped or the channel closed first)."""
        sent = asyncio.get_running_loop().create_future()
        self._queue(topic, payload, sent)
        await sent

    # -- lifecycle ---------------------------------------------------------------------

    async def open(self) -> None:
        """Connect and LISTEN; ``ConnectionError`` (one clear line) if PostgreSQL cannot
        be reached. From then on the channel reconnects by itself."""
        if self._task is not None:
            raise RuntimeError("the channel is already open")
        try:
            conns = await self._connect()
        except (psycopg.Error, OSError) as exc:
            raise ConnectionError(
                f"PostgreSQL at {where(self.url)} unreachable: {first_line(exc)}"
            ) from None
        self._task = asyncio.create_task(self._run(conns), name="tlh-pg-channel")

    async def close(self) -> None:
        """Stop listening and sending; messages not yet sent are dropped."""
        self._closed = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        while self._outgoing:
            self._fail(self._outgoing.popleft(), "the channel closed before it was sent")

    # -- sending -----------------------------------------------------------------------

    def _check_topic(self, topic: str) -> None:
        if not topic or any(c.isspace() for c in topic):
            raise ValueError("a topic is one word")

    def _queue(self, topic: str, payload: bytes, sent: asyncio.Future[None] | None) -> None:
        self._check_topic(topic)
        if self._closed:
            if sent is not None:
                sent.set_exception(ConnectionError("the channel is closed"))
            return
        if len(self._outgoing) >= self.max_queued:
            # Cut off for long: the oldest goes. Its seq is skipped, so the receivers
            # see the jump and report a gap.
            self.dropped += 1
            self._fail(self._outgoing.popleft(), "dropped: the queue overflowed")
        self._seq += 1
        self._outgoing.append(_Out(self._seq, topic, payload, sent))
        self._wake.set()

    @staticmethod
    def _fail(out: _Out, why: str) -> None:
        if out.sent is not None and not out.sent.done():
            out.sent.set_exception(ConnectionError(why))

    async def _send(self, work: psycopg.AsyncConnection[Any]) -> None:
        while True:
            if not self._outgoing:
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = [self._outgoing.popleft() for _ in range(min(self.batch, len(self._outgoing)))]
            try:
                # Autocommit, one statement after the other: each commits in order, and
                # a batch cut off half-way is sent again whole (receivers skip the
                # seqs they had). No transaction, no pipeline: each costs a round trip
                # more (~0.3 ms measured) on the path of every event.
                async with self._work_lock:
                    for statement in self._statements(batch):
                        await work.execute(*statement)
            except BaseException:
                # Sent again after the reconnect (receivers skip a seq seen twice).
                self._outgoing.extendleft(reversed(batch))
                raise
            for out in batch:
                if out.sent is not None and not out.sent.done():
                    out.sent.set_result(None)

    def _statements(self, batch: list[_Out]) -> list[tuple[str, tuple[object, ...]]]:
        """The statements that send ``batch`` in order: each run of notifications that
        fit inline as one, each spilled payload as one of its own."""
        out: list[tuple[str, tuple[object, ...]]] = []
        run: list[str] = []
        for item in batch:
            text = inline(self._server_id, item.seq, item.topic, item.payload, self._utf8)
            if text is not None:
                run.append(text)
                continue
            if run:
                out.append((_NOTIFY, (self.name, run)))
                run = []
            head = spilled_head(self._server_id, item.seq, item.topic)
            out.append((_SPILL, (item.payload, self.name, head)))
        if run:
            out.append((_NOTIFY, (self.name, run)))
        return out

    # -- receiving ---------------------------------------------------------------------

    async def _listen(self, conn: psycopg.AsyncConnection[Any]) -> None:
        while True:
            async for notify in conn.notifies(timeout=self.heartbeat_s):
                if self._incoming.qsize() >= self.max_queued:
                    # Far behind: drop rather than grow. The sender's next seq jumps,
                    # so the receiver reports the gap when it catches up.
                    self.dropped += 1
                    continue
                self._incoming.put_nowait(notify)
            # Quiet for a while: is the connection still there?
            async with asyncio.timeout(self.heartbeat_s):
                await conn.execute("SELECT 1")

    async def _deliver(self, work: psycopg.AsyncConnection[Any]) -> None:
        handled = 0
        while True:
            if self._current is None:
                self._current = await self._incoming.get()
            await self._handle(self._current, work)
            self._current = None
            handled += 1
            if handled % 32 == 0:
                # A burst (a thousand reconnecting at once) is handled between this
                # server's own requests, not in one stall of the event loop.
                await asyncio.sleep(0)

    async def _handle(
        self, item: psycopg.Notify | object, work: psycopg.AsyncConnection[Any]
    ) -> None:
        if not isinstance(item, psycopg.Notify):
            self._gap()
            return
        notice = parse(item.payload)
        if notice is None:
            log.warning("ignored a notification on %s not sent by tlh", self.name)
            return
        if notice.origin == self._server_id:
            return
        last = self._last.get(notice.origin)
        if last is not None and notice.seq <= last:
            return  # a batch sent again after its commit was cut off
        payload = await self._payload(notice, work)
        if last is not None and notice.seq > last + 1:
            self._gap()
        self._last[notice.origin] = notice.seq
        if payload is None:
            self._gap()
            return
        topic = notice.topic
        handler = self._handlers.get(topic)
        if handler is not None:
            try:
                handler(payload)
            except Exception:  # one consumer's fault must not stop the channel
                log.exception("handling a %s message failed", topic)

    async def _payload(self, notice: Notice, work: psycopg.AsyncConnection[Any]) -> bytes | None:
        if notice.kind != SPILLED:
            return payload_of(notice)
        async with self._work_lock:
            cur = await work.execute(
                "SELECT payload FROM tlh_notify_spill WHERE id = %s", (int(notice.body),)
            )
            row = await cur.fetchone()
        return None if row is None else bytes(row[0])  # None: swept before it was read

    def _gap(self) -> None:
        for handler in self._gap_handlers:
            try:
                handler()
            except Exception:
                log.exception("a gap handler failed")

    # -- connections -------------------------------------------------------------------

    async def _connect(self) -> tuple[psycopg.AsyncConnection[Any], psycopg.AsyncConnection[Any]]:
        listen = await psycopg.AsyncConnection.connect(
            self.url, application_name="tlh listen", **CONNECT
        )
        try:
            work = await psycopg.AsyncConnection.connect(
                self.url, application_name="tlh notify", **CONNECT
            )
            try:
                async with work.transaction():
                    await work.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                    await work.execute(SPILL_TABLE)
                await listen.execute(f"LISTEN {self.name}")
            except BaseException:
                await work.close()
                raise
        except BaseException:
            await listen.close()
            raise
        self._utf8 = work.info.parameter_status("server_encoding") == "UTF8"
        return listen, work

    async def _sweep(self, work: psycopg.AsyncConnection[Any]) -> None:
        while True:
            await asyncio.sleep(self.sweep_s)
            async with self._work_lock:
                await work.execute(
                    "DELETE FROM tlh_notify_spill WHERE at < now() - make_interval(secs => %s)",
                    (self.spill_keep_s,),
                )

    async def _run(
        self, conns: tuple[psycopg.AsyncConnection[Any], psycopg.AsyncConnection[Any]] | None
    ) -> None:
        delay = self.backoff_s[0]
        while True:
            if conns is None:
                try:
                    conns = await self._connect()
                except (psycopg.Error, OSError) as exc:
                    log.warning("PostgreSQL at %s: %s", where(self.url), first_line(exc))
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.backoff_s[1])
                    continue
                self.reconnects += 1
                # In order with what was received before the loss; delivered after it.
                self._incoming.put_nowait(_GAP)
                log.info("PostgreSQL at %s: listening again", where(self.url))
            listen, work = conns
            self._up = True
            since = time.monotonic()
            try:
                async with asyncio.TaskGroup() as tasks:
                    tasks.create_task(self._listen(listen))
                    tasks.create_task(self._send(work))
                    tasks.create_task(self._deliver(work))
                    tasks.create_task(self._sweep(work))
            except* Exception as lost:
                log.warning(
                    "PostgreSQL at %s lost (%s); reconnecting",
                    where(self.url),
                    first_line(lost.exceptions[0]),
                )
            finally:
                self._up = False
                for conn in conns:
                    with contextlib.suppress(Exception):
                        await conn.close()
            conns = None
            # A connection that held for a while starts the backoff again; one lost at
            # once (a fault that repeats) does not spin.
            if time.monotonic() - since > 10 * self.backoff_s[1]:
                delay = self.backoff_s[0]
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.backoff_s[1])
