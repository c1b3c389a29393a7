"""The staff call websocket: the clinician page's (or a headless staff peer's) signalling.

Authenticated before the upgrade by the staff cookie (Origin checked by the auth
middleware) or a Bearer token. On open the staff member joins the segment named by
``?session=ID`` (ids are not PHI), else their most recent open one, as peer
``staff_id``; with none open the socket says ``no_session`` and joins the next segment
they start. ``?resume=ID``: the page still holds its media connections in that segment's
call (its socket came back), so the others are told to keep theirs (``resumed``). A clinician joins only their own sessions (another's is as unknown as a
missing one); an admin may join any, audited. Frames follow the participant socket's
rules (``tlh.server.wsproto``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import web

from tlh.api.frames import Admitted, Ended, Join, Leave, Signal, StaffCallFrame, Status
from tlh.domain.models import Staff
from tlh.domain.sessions import Participation, SessionSegment
from tlh.errors import NotFound, TlhError, Unauthenticated
from tlh.server import wsproto
from tlh.server.http import actor, ctx, requires
from tlh.server.keys import (
    BUS,
    CALL_HUB,
    ICE,
    METRICS,
    STAFF_SESSION,
    STAFF_SOCKETS,
    STAFF_WEB,
    WEBSOCKETS,
)
from tlh.server.origin import check_origin
from tlh.server.routes.call_links import CALLERS
from tlh.services import sessions
from tlh.services.callhub import SessionFull
from tlh.services.events import Subscription
from tlh.services.ice_plan import visit_end
from tlh.services.staff import find_staff
from tlh.services.staff_web import session_actor

routes = web.RouteTableDef()
log = logging.getLogger(__name__)

NO_SESSION = Status(state="no_session")


class StaffCall:
    """One staff socket's place in at most one segment's call."""

    def __init__(self, request: web.Request, ws: web.WebSocketResponse, staff: Staff) -> None:
        self.request = request
        self.ws = ws
        self.staff = staff
        self.who = actor(request)
        self.c = ctx(request)
        self.hub = request.app[CALL_HUB]
        #: What the hub writes with (at once while the socket keeps up); the same
        #: function joins and leaves, as the hub knows a peer's connection by it.
        self.out = wsproto.Writer(ws, request)
        self.send = wsproto.sender(self.out)
        self.session_cookie = request.get(STAFF_SESSION)
        self.current: str | None = None
        self._lock = asyncio.Lock()

    async def latest(self) -> SessionSegment | None:
        """The staff member's most recently started open segment."""
        live = await sessions.open_segments_of(self.c, self.staff.id)
        return max(live, key=lambda s: s.started_at) if live else None

    async def enter(self, segment: SessionSegment | None, *, resumed: bool = False) -> None:
        """Join ``segment``'s call (leaving any other); ``no_session`` when there is none.
        ``resumed``: the page still holds its media connections in that call (its socket
        came back after a blip or a restart), so the others keep theirs."""
        async with self._lock:
            if segment is not None and segment.id == self.current:
                return
            await self._leave()
            if segment is None or not await sessions.may_join(self.c, self.who, segment):
                await self.send(NO_SESSION)
                return
            # Recorded first, so "admitted" means the attendance row exists.
            me = Participation(
                peer_id=self.staff.id,
                kind="staff",
                staff_id=self.staff.id,
                joined_at=self.c.clock(),
            )
            try:
                await sessions.staff_joined(self.c, self.who, segment, me)
                peers = self.hub.join(
                    segment.id, self.staff.id, self.staff.name, "staff", self.out, resumed=resumed
                )
            except NotFound:  # ended and gone meanwhile
                await self.send(NO_SESSION)
                return
            except SessionFull:
                await sessions.left(self.c, segment.id, self.staff.id, self.c.clock())
                await self.send(Status(state="no_session", reason="session_full"))
                return
            # Through the hub's queue, so it reaches the page before any peer's frame.
            self.hub.send_to(
                segment.id,
                self.staff.id,
                Admitted(
                    peer_id=self.staff.id,
                    session_id=segment.id,
                    peers=peers,
                    ice_servers=self.request.app[ICE].servers(
                        self.staff.id, await visit_end(self.c, segment.appointment_id)
                    ),
                ),
            )
            self.current = segment.id
            if self.session_cookie is not None:
                self.request.app[STAFF_WEB].pin(self.session_cookie)

    async def leave(self) -> None:
        """Leave the current call (if any); the socket stays open."""
        async with self._lock:
            await self._leave()

    async def ended(self, session_id: str) -> None:
        """The segment was ended elsewhere: forget it (the hub normally said ``ended``)."""
        async with self._lock:
            if session_id != self.current:
                return
            if self.hub.leave(session_id, self.staff.id, self.out):
                await self.send(Ended())  # ended without the hub being told
            self._release()

    async def _leave(self) -> None:
        session_id = self.current
        if session_id is None:
            return
        self.hub.leave(session_id, self.staff.id, self.out)
        self._release()
        with contextlib.suppress(NotFound):
            await sessions.left(self.c, session_id, self.staff.id, self.c.clock())

    def _release(self) -> None:
        self.current = None
        if self.session_cookie is not None:
            self.request.app[STAFF_WEB].unpin(self.session_cookie)

    async def watch(self, sub: Subscription) -> None:
        """Follow session starts and ends that concern this socket."""
        while True:
            event = await sub.get()
            data = event.data
            try:
                if event.type == "session.ended":
                    await self.ended(str(data.get("session_id")))
                elif (
                    event.type == "session.started"
                    and self.current is None
                    and data.get("clinician_id") == self.staff.id
                ):
                    found = await sessions.find_segment(self.c, str(data.get("session_id")))
                    if found is not None:
                        await self.enter(found)
            except (TlhError, ConnectionError) as exc:
                # One failed join must not stop the socket following later sessions.
                log.warning("staff call socket: %s handling %s", type(exc).__name__, event.type)

    async def on_frame(self, frame: StaffCallFrame) -> None:
        """Act on one decoded frame (``wsproto.FrameRejected`` closes the socket); ``hello`` and
        ``media`` are accepted and ignored, so the page and the headless participant can
        share the participant socket's code."""
        if isinstance(frame, Signal):
            wsproto.check_signal(frame)
            if self.current is not None:
                # A late candidate for a peer that just left is not the sender's fault.
                with contextlib.suppress(NotFound):
                    self.hub.relay(self.current, self.staff.id, frame.to, frame.data)
        elif isinstance(frame, Join):
            await self.enter(await sessions.find_segment(self.c, frame.session_id))
        elif isinstance(frame, Leave):
            await self.leave()
            await self.send(NO_SESSION)


async def _requested(request: web.Request) -> SessionSegment | None:
    """The segment named by ``?session=`` (checked before the upgrade), else ``None``."""
    session_id = request.query.get("session")
    if not session_id:
        return None
    found = await sessions.find_segment(ctx(request), session_id)
    if found is None or not await sessions.may_join(ctx(request), actor(request), found):
        raise NotFound("no open session with that id")
    return found


@routes.get("/api/v1/call/ws")
@requires(*CALLERS)
async def call_ws(request: web.Request) -> web.WebSocketResponse:
    """The staff call socket (see the module docstring)."""
    check_origin(request, required=False)  # Bearer clients send none; browsers always do
    staff = await find_staff(ctx(request), actor(request).id)
    first = await _requested(request)
    ws = await wsproto.open_call_socket(request)
    call = StaffCall(request, ws, staff)
    await request.app[STAFF_SOCKETS].add(ws, request, staff.id, request.get(STAFF_SESSION), CALLERS)
    sub = request.app[BUS].subscribe(maxsize=64)
    watcher = asyncio.create_task(call.watch(sub))
    staff_web, cookie = request.app[STAFF_WEB], request.get(STAFF_SESSION)
    guard = wsproto.FloodGuard()
    try:
        segment = first or await call.latest()
        resume = request.query.get("resume")
        await call.enter(segment, resumed=segment is not None and resume == segment.id)
        async for msg in ws:
            try:
                frame = wsproto.parse_frame(msg, StaffCallFrame, guard)
                if frame is None:
                    break
                if cookie is not None:
                    # Refreshes the session; idle, logged out or disabled closes the socket.
                    try:
                        await session_actor(ctx(request), staff_web, cookie, request.remote or "")
                    except Unauthenticated:
                        raise wsproto.FrameRejected("signed out") from None
                with request.app[METRICS].signal("staff", frame):
                    await call.on_frame(frame)
            except wsproto.FrameRejected as err:
                await wsproto.reject(ws, err)
                break
    finally:
        sub.close()
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        try:
            await call.leave()
        finally:  # even if leaving failed: a sign-out waiting on this socket moves on
            request.app[WEBSOCKETS].discard(ws)
            await request.app[STAFF_SOCKETS].discard(ws)
            wsproto.release(request)
    return ws
