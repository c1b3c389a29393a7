"""Server websockets keep aiohttp's attributes in slots (``wsproto.LeanWebSocket``): a
waiting page's socket lives as long as the page waits, and a dict of its 36 attributes
cost 1.6 kB of it. The heartbeat, whose state the slots hold, still pings and still
closes a page that stopped answering."""

from __future__ import annotations

import sys

from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient, TestServer

from tlh.server.keys import WEBSOCKETS
from tlh.server.wsproto import LeanWebSocket

from .conftest import Practice
from .rooms_helpers import WAIT_S, connect, guest_cookie


async def test_a_waiting_page_s_socket_keeps_its_attributes_in_slots(practice: Practice) -> None:
    sockets = practice.client.server.app[WEBSOCKETS]
    peer = await connect(practice, await guest_cookie(practice))
    await peer.hello()
    [page] = list(sockets)
    assert isinstance(page, LeanWebSocket)
    assert vars(page) == {}
    staff = await practice.client.ws_connect("/api/v1/events", headers=practice.auth())
    assert (await staff.receive_json(timeout=WAIT_S))["type"] == "events.ready"
    [dashboard] = [ws for ws in sockets if ws is not page]
    assert vars(dashboard) == {}
    # What a socket holds, all told: its slots (~0.4 kB), not a 1.6 kB dict besides.
    assert sys.getsizeof(page) < 600
    await staff.close()
    await peer.ws.close()


async def _echo(request: web.Request) -> web.WebSocketResponse:
    ws = LeanWebSocket(heartbeat=0.2, compress=False)
    await ws.prepare(request)
    async for msg in ws:
        await ws.send_str(msg.data)
    return ws


async def test_the_heartbeat_pings_and_closes_a_page_that_stopped_answering() -> None:
    app = web.Application()
    app.router.add_get("/ws", _echo)
    async with TestClient(TestServer(app)) as client:
        ws = await client.ws_connect("/ws", autoping=False)
        await ws.send_str("hello")
        assert (await ws.receive(timeout=WAIT_S)).data == "hello"
        for _ in range(2):  # answered: the next ping follows
            assert (await ws.receive(timeout=WAIT_S)).type is WSMsgType.PING
            await ws.pong()
        assert (await ws.receive(timeout=WAIT_S)).type is WSMsgType.PING
        # Not answered: the server gives up on it within half a heartbeat.
        closing = await ws.receive(timeout=WAIT_S)
        assert closing.type is WSMsgType.CLOSED
        assert ws.closed
