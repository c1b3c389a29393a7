"""The participant's websocket: waiting-room status, messages and call signalling.

Authenticated by the link cookie and the Origin header before the upgrade (plain 401 /
403 answers). Every frame is validated by ``tlh.server.wsproto``; a bad frame, a flood
or signalling before admission closes this socket only.
"""

from __future__ import annotations

import contextlib
from typing import Any

from aiohttp import web

from tlh.domain.links import JoinLink, LinkPurpose, RedeemState
from tlh.errors import Forbidden, NotFound, TlhError
from tlh.server.http import ctx, public
from tlh.server.keys import ROOMS, WEBSOCKETS
from tlh.server.origin import check_origin
from tlh.server.routes.link_identity import verified
from tlh.server.routes.links import COOKIE, live_link
from tlh.server.wsproto import (
    FloodGuard,
    FrameRejected,
    open_call_socket,
    parse_frame,
    reject,
    sender,
    signal_target,
)
from tlh.services.callhub import Outbox
from tlh.services.links import get_link, redeemable
from tlh.services.waiting import Connection, NotAdmitted, Rooms

routes = web.RouteTableDef()

#: What a participant may send; anything else (staff types included) closes the socket.
CLIENT_TYPES = frozenset({"hello", "device_check", "media", "signal", "leave"})
_MAX_DEVICE_ID = 100


def participant_link(request: web.Request) -> JoinLink:
    """The live join link behind the cookie: 401 without one, 403 for a consent link."""
    link, _ = live_link(request)
    if link.purpose is LinkPurpose.CONSENT:
        raise Forbidden("this link is for the consent form only")
    return link


@routes.get("/api/v1/link/ws")
@public
async def participant_ws(request: web.Request) -> web.WebSocketResponse:
    """One page's socket into the waiting room and, once admitted, the call."""
    link = participant_link(request)
    check_origin(request)
    if not verified(request.app, link.id, request.cookies.get(COOKIE)):
        raise Forbidden("please confirm who you are first")
    rooms = request.app[ROOMS]
    ws = await open_call_socket(request)

    async def close() -> None:
        await ws.close()

    conn = Connection(outbox=Outbox(sender(ws)), close=close)
    guard = FloodGuard()
    try:
        async for msg in ws:
            try:
                frame = parse_frame(msg, CLIENT_TYPES, guard)
                if frame is None:
                    break
                await _handle(request, rooms, link, conn, frame)
            except FrameRejected as err:
                await reject(ws, err)
                break
            except NotAdmitted:
                await reject(ws, FrameRejected("not admitted"))
                break
            except TlhError:
                # A malformed value (device check, media state): refused like a bad frame.
                await reject(ws, FrameRejected("invalid message"))
                break
    finally:
        rooms.participants.connection_closed(conn)
        conn.outbox.finish()
        request.app[WEBSOCKETS].discard(ws)
    return ws


async def _handle(
    request: web.Request, rooms: Rooms, link: JoinLink, conn: Connection, frame: dict[str, Any]
) -> None:
    kind = frame["type"]
    if kind == "hello":
        if conn.entry_id is not None and rooms.state.get(conn.entry_id) is not None:
            return  # already here: hello again changes nothing
        device_id = frame.get("device_id")
        if not isinstance(device_id, str) or not 0 < len(device_id) <= _MAX_DEVICE_ID:
            raise FrameRejected("hello needs a device_id")
        c = ctx(request)
        link = get_link(c, link.id)  # as stored now: revoked since the upgrade counts
        verdict = redeemable(c, link, c.clock())
        if verdict.state is RedeemState.INVALID:
            raise FrameRejected("link no longer valid")
        await rooms.participants.hello(
            link,
            device_id,
            conn,
            display_name=frame.get("display_name") or "",
            opens_at=verdict.opens_at,
        )
        return
    entry_id = conn.entry_id
    if kind == "signal":
        to, data = signal_target(frame)
        if entry_id is None:
            raise NotAdmitted("signalling is only allowed after admission")
        # A peer that just left makes its offer/candidate moot, not an error.
        with contextlib.suppress(NotFound):
            rooms.participants.signal(entry_id, to, data)
        return
    if entry_id is None:
        if kind == "leave":
            return
        raise FrameRejected("say hello first")
    if kind == "device_check":
        await rooms.participants.device_check(entry_id, frame)
    elif kind == "media":
        await rooms.participants.media(entry_id, frame.get("state"))
    elif kind == "leave":
        await rooms.participants.leave(entry_id)
