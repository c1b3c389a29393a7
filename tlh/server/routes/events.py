"""The staff event stream: a websocket per dashboard, authenticated at upgrade.

Each socket gets the events whose audience admits its staff member (role and id); an
event's ``shown`` part (a room entry's view, with a name) is audited as a read of its
clients before it is sent, like the ``GET /rooms`` that would show the same.
"""

import asyncio
import contextlib
import logging

from aiohttp import WSCloseCode, WSMsgType, web

from tlh.domain.audience import Viewer
from tlh.errors import TlhError
from tlh.server import wsproto
from tlh.server.http import ALL_STAFF, actor, ctx, requires
from tlh.server.keys import (
    BUS,
    DASHBOARDS,
    SETTINGS,
    STAFF_SESSION,
    STAFF_SOCKETS,
    WEBSOCKETS,
)
from tlh.server.origin import check_origin
from tlh.services.events import Event

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
#: Sent to a dashboard that another login of the same user replaced.
SUPERSEDED = '{"type":"dashboard.superseded","data":{}}'


@routes.get("/api/v1/events")
@requires(*ALL_STAFF)
async def events(request: web.Request) -> web.WebSocketResponse:
    check_origin(request, required=False)  # the CLI and dashboard send no Origin
    settings = request.app[SETTINGS]
    ws = wsproto.LeanWebSocket(
        heartbeat=settings.ws_heartbeat_s,
        compress=False,  # ~15 kB per idle client instead of ~113 kB
        max_msg_size=settings.ws_max_message_bytes,
    )
    await ws.prepare(request)
    request.app[WEBSOCKETS].add(ws)
    staff_id = actor(request).id
    await request.app[STAFF_SOCKETS].add(
        ws, request, staff_id, request.get(STAFF_SESSION), ALL_STAFF
    )
    # One dashboard per user: a new one (``?dashboard=1``) supersedes the previous one,
    # which is told so and closed; it stops receiving data at once.
    dashboard = request.query.get("dashboard") == "1"
    if dashboard:
        dashboards = request.app[DASHBOARDS]
        previous = dashboards.get(staff_id)
        dashboards[staff_id] = ws
        if previous is not None and not previous.closed:
            with contextlib.suppress(ConnectionResetError, RuntimeError):
                await previous.send_str(SUPERSEDED)
            await previous.close(code=WSCloseCode.POLICY_VIOLATION, message=b"superseded")
    who = actor(request)
    viewer = Viewer(who.id, who.role)
    sub = request.app[BUS].subscribe(viewer=viewer)
    audit = ctx(request).audit

    async def send(events: list[Event]) -> bool:
        """Audit what ``events`` show, then send them (``False``: the stream closed).
        A function of its own so a burst is not held while the next is awaited."""
        frames = [event.wire(viewer) for event in events]
        reads = [client for _, shown in frames for client in shown]
        if reads:
            # What they show (a name) is a read of those clients, as GET /rooms is:
            # one audit write for a burst of events, each read a line of it.
            try:
                await audit.append_many(who, "client.read", reads)
            except TlhError as exc:
                # Unaudited, it is not sent; closed, the dashboard reconnects and
                # resyncs rather than wait on a stream gone silent.
                log.warning("staff event stream closed: %s", type(exc).__name__)
                await ws.close(code=WSCloseCode.INTERNAL_ERROR)
                return False
        for text, _ in frames:
            await ws.send_str(text)
        return True

    async def pump() -> None:
        while await send(await sub.get_many()):
            pass

    sender = asyncio.create_task(pump())
    try:
        await ws.send_str('{"type":"events.ready","data":{}}')
        async for msg in ws:
            # Staff send nothing we act on yet; anything but text/ping closes nothing.
            if msg.type == WSMsgType.ERROR:
                break
    finally:
        sub.close()
        request.app[WEBSOCKETS].discard(ws)
        await request.app[STAFF_SOCKETS].discard(ws)
        if dashboard and request.app[DASHBOARDS].get(staff_id) is ws:
            del request.app[DASHBOARDS][staff_id]
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionResetError):
            await sender
        wsproto.release(request)
    return ws
