"""The wsproto websocket over the REST transport: the upgrade (headers, no Origin, TLS
with the CA file), refusals, pings both ways, close codes and the message-size cap,
against small aiohttp apps served with ``tlh serve``'s runner."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiohttp import WSCloseCode, web

from tlh.client import Transport
from tlh.client.websocket import TOO_BIG, Closed, WebSocket
from tlh.errors import Forbidden, Unauthenticated, Unavailable
from tlh.server.run import bound_port, start
from tlh.server.settings import Settings

TOKEN = "tlh_secret_token_value"
AUTH = [("Authorization", f"Bearer {TOKEN}")]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def serve(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[str]]]:
    """Serve one handler at ``/ws`` (optionally over TLS); gives the server's URL."""
    runners: list[web.AppRunner] = []

    async def served(handler: Handler, context: ssl.SSLContext | None = None) -> str:
        app = web.Application()
        app.router.add_get("/ws", handler)
        host = "localhost" if context else "127.0.0.1"
        settings = Settings(data_dir=tmp_path, port=0, host=host)
        runner = await start(settings, app, ssl_context=context)
        runners.append(runner)
        scheme = "https" if context else "http"
        return f"{scheme}://{host}:{bound_port(runner)}"

    yield served
    for runner in runners:
        await runner.cleanup()


async def accept(request: web.Request, **options: Any) -> web.WebSocketResponse:
    """The upgrade, answered as the server's event stream does (no compression)."""
    ws = web.WebSocketResponse(compress=False, **options)
    await ws.prepare(request)
    return ws


async def echo_headers(request: web.Request) -> web.WebSocketResponse:
    ws = await accept(request)
    seen = {k: request.headers.get(k) for k in ("Authorization", "Origin", "User-Agent")}
    await ws.send_json(seen)
    await ws.send_str("second")
    await ws.close()
    return ws


async def test_upgrade_carries_the_token_and_no_origin(
    serve: Callable[..., Awaitable[str]],
) -> None:
    transport = Transport(await serve(echo_headers))
    socket = await WebSocket.connect(transport, "/ws", AUTH)
    first = await socket.receive()
    assert first == (
        f'{{"Authorization": "Bearer {TOKEN}", "Origin": null, "User-Agent": "tlh-client"}}'
    )
    assert await socket.receive() == "second"
    with pytest.raises(Closed) as closed:
        await socket.receive()
    assert closed.value.code == WSCloseCode.OK
    await socket.close()


async def test_tls_trusts_the_ca_file(serve: Callable[..., Awaitable[str]], tmp_path: Path) -> None:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)
    url = await serve(echo_headers, context)
    with pytest.raises(Unavailable, match="TLS certificate not trusted"):
        await WebSocket.connect(Transport(url), "/ws", AUTH)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    socket = await WebSocket.connect(Transport(url, ca_file=str(tmp_path / "ca.pem")), "/ws", AUTH)
    assert TOKEN in await socket.receive()
    await socket.close()


@pytest.mark.parametrize(
    ("status", "error", "words"),
    [
        (401, Unauthenticated, "bad token"),
        (403, Forbidden, "refused the event stream"),
        (404, Unavailable, "HTTP 404"),
        (502, Unavailable, "HTTP 502"),
    ],
)
async def test_a_refused_upgrade_is_its_error(
    serve: Callable[..., Awaitable[str]], status: int, error: type[Exception], words: str
) -> None:
    async def refuse(request: web.Request) -> web.Response:
        return web.json_response({"error": {"code": "x", "message": "no"}}, status=status)

    with pytest.raises(error, match=words) as raised:
        await WebSocket.connect(Transport(await serve(refuse)), "/ws", AUTH)
    assert TOKEN not in str(raised.value)


async def test_unreachable_is_unavailable_and_says_where() -> None:
    with pytest.raises(Unavailable, match=r"cannot reach the tlh server at http://127.0.0.1:1: "):
        await WebSocket.connect(Transport("http://127.0.0.1:1"), "/ws", AUTH)


async def test_pings_are_answered(serve: Callable[..., Awaitable[str]]) -> None:
    """The server pings every 0.1 s and closes a socket whose pong is 0.05 s late; a
    message after a second of that still arrives."""

    async def pinging(request: web.Request) -> web.WebSocketResponse:
        ws = await accept(request, heartbeat=0.1)
        reading = asyncio.create_task(ws.receive())  # takes the pongs, then the close
        done, _ = await asyncio.wait({reading}, timeout=1.0)  # a second of pings
        await ws.send_str("closed" if done or ws.closed else "still here")
        await reading
        return ws

    socket = await WebSocket.connect(Transport(await serve(pinging)), "/ws", AUTH)
    assert await asyncio.wait_for(socket.receive(), 5) == "still here"
    await socket.close()


async def test_a_silent_server_is_pinged_then_given_up(
    serve: Callable[..., Awaitable[str]],
) -> None:
    never = asyncio.Event()

    async def silent(request: web.Request) -> web.WebSocketResponse:
        ws = await accept(request, autoping=False)
        await never.wait()  # never reads, so never answers the client's ping
        return ws

    socket = await WebSocket.connect(Transport(await serve(silent)), "/ws", AUTH, heartbeat=0.2)
    try:
        with pytest.raises(Unavailable, match=r"no answer within 0\.3 s"):
            await asyncio.wait_for(socket.receive(), 5)
    finally:
        never.set()
        await socket.close()


async def test_a_message_over_the_cap_closes_the_socket(
    serve: Callable[..., Awaitable[str]],
) -> None:
    async def big(request: web.Request) -> web.WebSocketResponse:
        ws = await accept(request)
        await ws.send_str("x" * 100)
        await ws.send_str("y" * 5000)
        await ws.receive()  # the client's close
        return ws

    url = await serve(big)
    socket = await WebSocket.connect(Transport(url), "/ws", AUTH, max_message_bytes=1024)
    assert await socket.receive() == "x" * 100
    with pytest.raises(Closed) as closed:
        await socket.receive()
    assert closed.value.code == TOO_BIG


async def test_the_server_closing_with_a_code_is_closed_with_it(
    serve: Callable[..., Awaitable[str]],
) -> None:
    async def superseding(request: web.Request) -> web.WebSocketResponse:
        ws = await accept(request)
        await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"superseded")
        return ws

    socket = await WebSocket.connect(Transport(await serve(superseding)), "/ws", AUTH)
    with pytest.raises(Closed) as closed:
        await socket.receive()
    assert (closed.value.code, closed.value.reason) == (1008, "superseded")


async def test_a_dropped_connection_is_unavailable(
    serve: Callable[..., Awaitable[str]],
) -> None:
    async def dropping(request: web.Request) -> web.WebSocketResponse:
        ws = await accept(request)
        assert request.transport is not None
        request.transport.close()  # no close frame
        return ws

    socket = await WebSocket.connect(Transport(await serve(dropping)), "/ws", AUTH)
    with pytest.raises(Unavailable, match="the connection was closed"):
        await asyncio.wait_for(socket.receive(), 5)


async def test_a_server_that_is_not_a_websocket_is_unavailable(
    serve: Callable[..., Awaitable[str]],
) -> None:
    async def plain(request: web.Request) -> web.Response:
        return web.Response(status=101, text="not an upgrade")

    with pytest.raises(Unavailable, match="did not answer the event stream as tlh does"):
        await WebSocket.connect(Transport(await serve(plain)), "/ws", AUTH)
