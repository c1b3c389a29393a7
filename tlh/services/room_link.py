"""The waiting rooms of several servers sharing one store: replicas and forwarded commands.

An entry is owned by the server its page's socket is on, so the check-and-set rules of
``Admission`` (no ``await`` between the check and the set) keep deciding every race:
they run in one process. Every other server holds a *replica* of it in its
``RoomState`` (marked with the owner's id), so its staff see the same rooms, lines and
places: the owner posts each change on the channel (topic ``room``, before the
``room.*`` event that tells dashboards, so a dashboard's ``GET /rooms`` after the event
finds it), and a server that starts, or may have missed messages (a gap), asks the
others for all of theirs (``sync``).

A staff command on a replica (admit, deny, send back, message, transfer) is forwarded to
its owner as a request with a correlation id (topic ``room.ask``); the owner runs it as
its own staff would, with the same role and room checks, and answers (``room.answer``)
with the entry as it left it or the error. Two servers admitting the same entry at once
thus reach one ``Admission``: one wins, the other gets ``already_admitted``. An owner
that does not answer within ``timeout_s`` is an ``OwnerUnavailable`` (503).

One server (the embedded store, no channel) has no link: nothing is posted or forwarded.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from tlh.domain.rooms import Presence, RoomEntry
from tlh.errors import TlhError, Unavailable
from tlh.services.channel import Channel
from tlh.services.context import Actor
from tlh.services.waiting_state import RoomState

log = logging.getLogger("tlh.rooms")

CHANGES, ASKS, ANSWERS = "room", "room.ask", "room.answer"

#: Runs a forwarded staff command on this server: ``(op, actor, entry_id, args)``.
Run = Callable[[str, Actor, str, dict[str, Any]], Awaitable[RoomEntry | None]]


class OwnerUnavailable(Unavailable):
    """The server owning a waiting entry did not answer a forwarded command in time."""

    code = "room_owner_unavailable"


class _Put(msgspec.Struct, tag="put"):
    owner: str
    entry: RoomEntry
    segment_id: str | None = None


class _Gone(msgspec.Struct, tag="gone"):
    owner: str
    entry_id: str


class _Presence(msgspec.Struct, tag="presence"):
    """A clinician's presence as one server has it: a page open there, what they chose."""

    owner: str
    clinician_id: str
    connected: bool
    chosen: Presence | None = None


class _Sync(msgspec.Struct, tag="sync"):
    """A server asks every other one for all of its entries."""

    sender: str


class _Ask(msgspec.Struct):
    id: str
    to: str
    sender: str
    op: str
    actor: Actor
    entry_id: str
    args: dict[str, Any] = {}


class _Answer(msgspec.Struct):
    id: str
    to: str
    entry: RoomEntry | None = None
    error_code: str | None = None
    error_message: str = ""
    error_status: int = 500


_change = msgspec.json.Decoder(_Put | _Gone | _Sync | _Presence)
_ask = msgspec.json.Decoder(_Ask)
_answer = msgspec.json.Decoder(_Answer)
_encode = msgspec.json.Encoder().encode


def _error(code: str, message: str, status: int) -> TlhError:
    """The owner's error as the same class here (a ``Conflict`` stays one), by code."""
    todo: list[type[TlhError]] = [TlhError]
    while todo:
        cls = todo.pop()
        if cls.code == code and cls.status == status:
            with contextlib.suppress(TypeError):
                return cls(message)
        todo.extend(cls.__subclasses__())
    found: type[TlhError] = type("RemoteError", (TlhError,), {"code": code, "status": status})
    return found(message)


class RoomLink:
    """This server's rooms as the other servers see them, and theirs as replicas here."""

    def __init__(self, channel: Channel, state: RoomState, *, timeout_s: float = 5.0) -> None:
        self.channel, self._state, self.timeout_s = channel, state, timeout_s
        self._run: Run | None = None
        self._waiting: dict[str, asyncio.Future[_Answer]] = {}
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()
        #: Told of each server seen owning entries (to watch whether it lives), and of
        #: a server whose entries another took over (no need to watch it any more).
        self.on_owner: Callable[[str], None] | None = None
        self.on_taken_over: Callable[[str], None] | None = None
        #: Told of an entry of this server's whose page reconnected to another server
        #: (it owns the entry now: this one lets its timer and old socket go).
        self.on_moved: Callable[[str], None] | None = None
        #: Told that a room's line or its clinician's presence changed on another server
        #: (``(clinician_id, everyone)``): this server's waiting pages hear their place.
        self.on_room_changed: Callable[[str | None, bool], None] | None = None
        #: Servers whose entries this one adopted: their late messages do not count.
        self._dead: set[str] = set()

    @property
    def server_id(self) -> str:
        return self.channel.server_id

    def start(self, run: Run) -> None:
        """Follow the other servers' rooms and ask for all of them (at start-up);
        forwarded commands are run with ``run``."""
        self._run = run
        self.channel.on(CHANGES, self._changed)
        self.channel.on(ASKS, self._asked)
        self.channel.on(ANSWERS, self._answered)
        self.channel.on_gap(self.resync)
        self.channel.post(CHANGES, _encode(_Sync(sender=self.server_id)))

    def resync(self) -> None:
        """Messages may have been missed: ask every server for its entries again
        (replicas that are no longer live are dropped when they say so)."""
        self.channel.post(CHANGES, _encode(_Sync(sender=self.server_id)))

    # --- this server's entries, told to the others ------------------------------------

    def changed(self, entry: RoomEntry) -> None:
        """An entry of this server's changed (or ended): the others' replicas follow."""
        if self._state.owner_of(entry.id) is not None:
            return  # a replica: its owner tells
        live = self._state.get(entry.id)
        if live is None:
            message: _Put | _Gone = _Gone(owner=self.server_id, entry_id=entry.id)
        else:
            message = _Put(
                owner=self.server_id, entry=live, segment_id=self._state.call_of(entry.id)
            )
        self.channel.post(CHANGES, _encode(message))

    def _changed(self, payload: bytes) -> None:
        message = _change.decode(payload)
        if isinstance(message, _Sync):
            for entry in self._state.entries():
                self.changed(entry)
            for clinician_id in self._state.staff_here():
                self.presence(clinician_id)
        elif isinstance(message, _Presence):
            if message.owner in self._dead:
                return
            self._state.set_connected_elsewhere(
                message.clinician_id, message.owner, message.connected
            )
            if message.chosen is not None:
                self._state.set_presence(message.clinician_id, message.chosen)
            if self.on_room_changed is not None:
                self.on_room_changed(message.clinician_id, True)
        elif isinstance(message, _Put):
            entry_id = message.entry.id
            if message.owner in self._dead:
                return  # a dead server's late word: its entries are ours now
            before = self._state.owner_of(entry_id)
            ours = self._state.get(entry_id) is not None and before is None
            self._state.put_replica(message.entry, message.owner, message.segment_id)
            if ours and self.on_moved is not None:
                self.on_moved(entry_id)  # its page is on the other server now
            if self.on_room_changed is not None:
                self.on_room_changed(message.entry.clinician_id, False)
            if before != message.owner:
                if self.on_owner is not None:
                    self.on_owner(message.owner)
                taken = before is not None and not self._state.replicas(before)
                if taken and before is not None and self.on_taken_over is not None:
                    self.on_taken_over(before)
        elif self._state.owner_of(message.entry_id) == message.owner:
            gone = self._state.entry(message.entry_id)
            self._state.forget_replica(message.entry_id)
            if self.on_room_changed is not None:
                self.on_room_changed(gone.clinician_id, False)

    def presence(self, clinician_id: str) -> None:
        """A clinician's presence changed here (a first page opened, the last closed,
        a choice made): the other servers' waiting pages show it too."""
        message = _Presence(
            owner=self.server_id,
            clinician_id=clinician_id,
            connected=self._state.connected_here(clinician_id),
            chosen=self._state.chosen(clinician_id),
        )
        self.channel.post(CHANGES, _encode(message))

    # --- forwarded commands -----------------------------------------------------------

    async def ask(
        self, owner: str, op: str, actor: Actor, entry_id: str, **args: Any
    ) -> RoomEntry | None:
        """Run a staff command on the server owning the entry; its answer, or its error
        raised here; ``OwnerUnavailable`` when it does not answer in time."""
        request = _Ask(
            id=f"{self.server_id}:{next(self._ids)}",
            to=owner,
            sender=self.server_id,
            op=op,
            actor=actor,
            entry_id=entry_id,
            args=args,
        )
        answer: asyncio.Future[_Answer] = asyncio.get_running_loop().create_future()
        self._waiting[request.id] = answer
        try:
            self.channel.post(ASKS, _encode(request))
            async with asyncio.timeout(self.timeout_s):
                got = await answer
        except TimeoutError:
            raise OwnerUnavailable(
                f"the server holding room entry {entry_id} did not answer; try again"
            ) from None
        finally:
            self._waiting.pop(request.id, None)
        if got.error_code is not None:
            raise _error(got.error_code, got.error_message, got.error_status)
        return got.entry

    def _asked(self, payload: bytes) -> None:
        request = _ask.decode(payload)
        if request.to != self.server_id or self._run is None:
            return
        task = asyncio.get_running_loop().create_task(self._answer(request, self._run))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, request: _Ask, run: Run) -> None:
        answer = _Answer(id=request.id, to=request.sender)
        try:
            answer.entry = await run(request.op, request.actor, request.entry_id, request.args)
        except TlhError as exc:
            answer.error_code, answer.error_message = exc.code, exc.message
            answer.error_status = exc.status
        except Exception:
            log.exception("a forwarded room command failed")
            answer.error_code, answer.error_message = "error", "the room command failed"
        self.channel.post(ANSWERS, _encode(answer))

    def _answered(self, payload: bytes) -> None:
        answer = _answer.decode(payload)
        if answer.to != self.server_id:
            return
        waiting = self._waiting.get(answer.id)
        if waiting is not None and not waiting.done():
            waiting.set_result(answer)

    # --- failover ----------------------------------------------------------------------

    def adopt(self, owner: str) -> list[str]:
        """The server ``owner`` is gone: its replicas here become this server's entries;
        returns their ids (the caller holds their places for the reconnect grace)."""
        self._dead.add(owner)
        self._state.server_gone(owner)
        ids = self._state.replicas(owner)
        for entry_id in ids:
            self._state.adopt(entry_id)
        return ids

    async def close(self) -> None:
        """Stop answering (server shutdown); commands waiting here fail at their timeout."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
