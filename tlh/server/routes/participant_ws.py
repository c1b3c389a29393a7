"""The participant's websocket: waiting-room status, messages and call signalling.

Authenticated by the link cookie and the Origin header before the upgrade (plain 401 /
403 answers). Every frame is validated by ``tlh.server.wsproto``; a bad frame, a flood
or signalling before admission closes this socket only.
"""

from __future__ import annotations

import contextlib

from aiohttp import web

from tlh.api.frames import (
    DeviceCheckDone,
    Hello,
    Leave,
    MediaState,
    ParticipantFrame,
    Reply,
    Signal,
)
from tlh.domain.links import JoinLink, LinkPurpose, RedeemState
from tlh.errors import Forbidden, NotFound, TlhError
from tlh.server import wsproto
from tlh.server.http import answers_itself, ctx, public
from tlh.server.keys import HELLOS, METRICS, ROOMS, WEBSOCKETS
from tlh.server.middleware import answer, unexpected
from tlh.server.origin import check_origin
from tlh.server.routes.link_identity import verified
from tlh.server.routes.links import COOKIE, cookie_link
from tlh.services import locations
from tlh.services.frame_outbox import Outbox
from tlh.services.links import get_link, redeemable
from tlh.services.waiting import Connection, NotAdmitted, Rooms

routes = web.RouteTableDef()

#: The close code and reason of a hello refused until the person says where they are
#: (policy ``ask_location``): 4000-4999 are the application's own; 4428 echoes HTTP 428
#: "precondition required".
LOCATION_REQUIRED_CODE = 4428
LOCATION_REQUIRED = "location_required"


async def participant_link(request: web.Request) -> JoinLink:
    """The live join link behind the cookie: 401 without one, 403 for a consent link."""
    link, _ = await cookie_link(request)
    if link.purpose is LinkPurpose.CONSENT:
        raise Forbidden("this link is for the consent form only")
    return link


@routes.get("/api/v1/link/ws")
@public
@answers_itself
async def participant_ws(request: web.Request) -> web.StreamResponse:
    """One page's socket into the waiting room and, once admitted, the call.

    It answers its own refusals (``answers_itself``): nothing stays suspended around a
    waiting page's socket but this handler.
    """
    try:
        link = await participant_link(request)
        check_origin(request)
        if not await verified(request.app, link.id, request.cookies.get(COOKIE)):
            raise Forbidden("please confirm who you are first")
        ws = await wsproto.open_call_socket(request)
    except Exception as exc:
        return await answer(request, exc)
    rooms = request.app[ROOMS]
    conn = Connection(outbox=Outbox(wsproto.Writer(ws, request)), close=ws.close)
    guard = wsproto.FloodGuard()
    try:
        async for msg in ws:
            try:
                # What a participant may send; anything else (staff types included)
                # closes the socket.
                frame = wsproto.parse_frame(msg, ParticipantFrame, guard)
                if frame is None:
                    break
                with request.app[METRICS].signal("participant", frame):
                    await _handle(request, rooms, link, conn, frame)
            except wsproto.FrameRejected as err:
                await wsproto.reject(ws, err)
                break
            except NotAdmitted:
                await wsproto.reject(ws, wsproto.FrameRejected("not admitted"))
                break
            except TlhError:
                # A malformed value (device check, media state): refused like a bad frame.
                await wsproto.reject(ws, wsproto.FrameRejected("invalid message"))
                break
    except Exception as exc:
        # A bug: logged (``unexpected``: never its message), and the socket closes;
        # the page comes back and keeps its place.
        unexpected(request, exc)
    finally:
        await rooms.participants.connection_closed(conn)
        conn.outbox.finish()
        request.app[WEBSOCKETS].discard(ws)
        wsproto.release(request)
    return ws


async def _hello(
    request: web.Request, rooms: Rooms, link: JoinLink, conn: Connection, frame: Hello
) -> None:
    c = ctx(request)
    link = await get_link(c, link.id)  # as stored now: revoked since the upgrade counts
    verdict = await redeemable(c, link, c.clock())
    if verdict.state is RedeemState.INVALID:
        raise wsproto.FrameRejected("link no longer valid")
    if await locations.required(c, link) and not rooms.state.of_link(link.id):
        # The page skipped the step (or the policy was turned on meanwhile): it asks
        # where the person is, then says hello again. Someone already waiting or in the
        # call on this link (a socket back after a blip) keeps their place.
        raise wsproto.FrameRejected(LOCATION_REQUIRED, LOCATION_REQUIRED_CODE)
    await rooms.participants.hello(
        link,
        frame.device_id,
        conn,
        display_name=frame.display_name or "",
        opens_at=verdict.opens_at,
        resume=frame.resume,
        location=await locations.for_link(c, link),
    )


async def _handle(
    request: web.Request, rooms: Rooms, link: JoinLink, conn: Connection, frame: ParticipantFrame
) -> None:
    if isinstance(frame, Hello):
        if conn.entry_id is not None and rooms.state.get(conn.entry_id) is not None:
            return  # already here: hello again changes nothing
        # A burst of hellos takes turns (``[rooms] hello_concurrency``): the rest wait
        # here with their one frame read, not all at once with everything a hello holds
        # until its entry is written (memory the server would keep after the burst).
        turns = request.app[HELLOS]
        if turns.locked():
            request.app[METRICS].hellos_queued.inc()
        async with turns:
            # Its checks, the room and the page's status read the same few records (a
            # database is asked for each once).
            with ctx(request).reading_once():
                await _hello(request, rooms, link, conn, frame)
        return
    entry_id = conn.entry_id
    if isinstance(frame, Signal):
        wsproto.check_signal(frame)
        if entry_id is None:
            raise NotAdmitted("signalling is only allowed after admission")
        # A peer that just left makes its offer/candidate moot, not an error.
        with contextlib.suppress(NotFound):
            rooms.participants.signal(entry_id, frame.to, frame.data)
        return
    if entry_id is None:
        if isinstance(frame, Leave):
            return
        raise wsproto.FrameRejected("say hello first")
    if isinstance(frame, DeviceCheckDone):
        await rooms.participants.device_check(entry_id, frame)
    elif isinstance(frame, MediaState):
        await rooms.participants.media(entry_id, frame.state)
    elif isinstance(frame, Reply):
        await rooms.participants.reply(entry_id, frame.text)
    else:
        await rooms.participants.leave(entry_id)
