"""``wsproto.Writer``: the call sockets' frames written straight to the transport.

Checked on the wire, by aiohttp's own client parser: what the writer writes is the frame
aiohttp's writer would (every length form), in order with frames aiohttp writes itself;
and a socket whose reader stops makes the writer hand back the drain to wait on (not an
ever-growing buffer), and loses nothing once it reads again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import msgspec
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tlh.api.frames import Signalled
from tlh.server import wsproto

Handler = Callable[[web.WebSocketResponse, Callable[[Signalled], Any]], Awaitable[None]]


def frame(n: int, size: int) -> Signalled:
    """A relayed signal whose JSON is about ``size`` bytes, numbered ``n``."""
    return Signalled(from_=f"p{n}", data=msgspec.Raw(msgspec.json.encode({"sdp": "x" * size})))


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    """Serve one websocket route running ``handler`` with the socket's writer."""
    servers: list[TestServer] = []

    async def start(handler: Handler) -> str:
        async def route(request: web.Request) -> web.WebSocketResponse:
            ws = web.WebSocketResponse(compress=False)
            await ws.prepare(request)
            await handler(ws, wsproto.Writer(ws, request))
            await ws.close()
            return ws

        app = web.Application()
        app.router.add_get("/ws", route)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return str(server.make_url("/ws"))

    yield start
    for server in servers:
        await server.close()


async def test_frames_of_every_length_form_arrive_whole_and_in_order(
    serve: Callable[[Handler], Awaitable[str]],
) -> None:
    sizes = [0, 90, 126, 3_000, 65_600, 200_000]  # 7-bit, 16-bit and 64-bit lengths

    async def handler(ws: web.WebSocketResponse, send: Callable[[Signalled], Any]) -> None:
        for n, size in enumerate(sizes):
            assert send(frame(n, size)) is None  # a reader keeping up: written at once
            await ws.send_str(f'{{"aiohttp": {n}}}')  # aiohttp's own frames, between

    url = await serve(handler)
    async with aiohttp.ClientSession() as http, http.ws_connect(url, max_msg_size=0) as ws:
        got = [msg.data async for msg in ws if msg.type == aiohttp.WSMsgType.TEXT]
    expected = []
    for n, size in enumerate(sizes):
        expected += [msgspec.json.encode(frame(n, size)).decode(), f'{{"aiohttp": {n}}}']
    assert got == expected


async def test_a_reader_that_stops_gets_the_drain_and_loses_nothing(
    serve: Callable[[Handler], Awaitable[str]],
) -> None:
    backed_up, reading = asyncio.Event(), asyncio.Event()
    written: list[int] = []
    waited: list[bool] = []

    async def handler(ws: web.WebSocketResponse, send: Callable[[Signalled], Any]) -> None:
        for n in range(2_000):  # 32 MB at most: the socket buffers fill long before
            result = send(frame(n, 16_000))
            written.append(n)
            if result is not None:
                backed_up.set()
                await result  # until the reader has taken enough
                waited.append(reading.is_set())
                break

    url = await serve(handler)
    async with aiohttp.ClientSession() as http, http.ws_connect(url, max_msg_size=0) as ws:
        conn = ws._response.connection  # the client's connection: it reads nothing meanwhile
        assert conn is not None
        assert conn.transport is not None
        conn.transport.pause_reading()
        await asyncio.wait_for(backed_up.wait(), 30)
        reading.set()
        conn.transport.resume_reading()
        got = [msg.data async for msg in ws if msg.type == aiohttp.WSMsgType.TEXT]
    assert 0 < len(written) < 2_000  # it stopped writing at once before the end
    assert waited == [True]  # and the drain it gave lasted until the reader read again
    assert [msgspec.json.decode(text)["from"] for text in got] == [f"p{n}" for n in written]
