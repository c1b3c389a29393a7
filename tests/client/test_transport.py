"""The h11 transport and TlhClient's error mapping, against a small aiohttp app served
with ``tlh serve``'s runner settings (keep-alive timeout, access log)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest
from aiohttp import web

from tests.keepalive import idle_connections_closed
from tests.serving import free_port
from tlh.client import Endpoint, TlhClient, Transport
from tlh.errors import InvalidInput, NotFound, TlhError, Unauthenticated, Unavailable
from tlh.server.run import bound_port, start
from tlh.server.settings import Settings

TOKEN = "tlh_secret_token_value"


def _app(never: asyncio.Event, peers: list[object], uploads: list[int]) -> web.Application:
    async def health(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername") if request.transport else None)
        return web.json_response({"ok": True, "version": "0.1.0"})

    async def missing(request: web.Request) -> web.Response:
        envelope = {
            "error": {"code": "not_found", "message": "no appointment apt_x", "details": None}
        }
        return web.json_response(envelope, status=404)

    async def auth(request: web.Request) -> web.Response:
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        envelope = {
            "error": {"code": "unauthenticated", "message": "token revoked", "details": None}
        }
        return web.json_response(envelope, status=401)

    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=502, text="<html>bad gateway</html>")

    async def slow(request: web.Request) -> web.Response:
        await never.wait()
        return web.Response()

    async def upload(request: web.Request) -> web.Response:
        data = await request.read()
        uploads.append(len(data))
        report = {"dry_run": True, "created": len(data), "updated": 0, "unchanged": 0}
        report |= {"rejected": 0, "rows": []}
        return web.json_response(report)

    async def change(request: web.Request) -> web.Response:
        uploads.append(len(await request.read()))
        return web.json_response({"changed": request.method})

    async def drop(request: web.Request) -> web.Response:
        # The request arrived and was acted on, then the connection died before the answer.
        uploads.append(len(await request.read()))
        assert request.transport is not None
        request.transport.close()
        await never.wait()
        return web.Response()

    async def chunked(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        for _ in range(3):
            await response.write(b"x" * 1000)
        await response.write_eof()
        return response

    app = web.Application(client_max_size=10 * 1024 * 1024)
    app.router.add_get("/healthz", health)
    app.router.add_get("/api/v1/appointments/apt_x", missing)
    app.router.add_get("/api/v1/me", auth)
    app.router.add_get("/api/v1/practice", broken)
    app.router.add_get("/api/v1/staff", slow)
    app.router.add_post("/api/v1/appointments/import", upload)
    app.router.add_get("/api/v1/admin/backup", chunked)
    app.router.add_route("*", "/api/v1/change", change)
    app.router.add_post("/api/v1/drop", drop)
    return app


Served = tuple[str, list[object], list[int]]


async def _serve(tmp_path: Path, keepalive_s: float | None = None) -> AsyncIterator[Served]:
    """The test app on a free port with ``tlh serve``'s runner (its keep-alive unless
    ``keepalive_s`` shortens it)."""
    peers: list[object] = []
    uploads: list[int] = []
    settings = Settings(data_dir=tmp_path, port=0)
    if keepalive_s is not None:
        settings = Settings(data_dir=tmp_path, port=0, keepalive_timeout_s=keepalive_s)
    never = asyncio.Event()
    runner = await start(settings, _app(never, peers, uploads))
    try:
        yield f"http://127.0.0.1:{bound_port(runner)}", peers, uploads
    finally:
        never.set()
        await runner.cleanup()


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    async for found in _serve(tmp_path):
        yield found


@pytest.fixture
async def quick_close(tmp_path: Path) -> AsyncIterator[Served]:
    """A server that closes idle connections after 0.3 s (``tlh serve``: 75 s)."""
    async for found in _serve(tmp_path, keepalive_s=0.3):
        yield found


async def test_typed_answer_and_keep_alive(served: Served) -> None:
    url, peers, _ = served
    async with TlhClient(url, TOKEN) as client:
        first = await client.health()
        await client.health()
    assert first.ok is True
    assert first.version == "0.1.0"
    assert len(peers) == 2
    assert peers[0] == peers[1], "the second request should reuse the connection"


@pytest.mark.parametrize("method", ["POST", "PATCH", "GET"])
async def test_a_request_after_the_server_closed_the_idle_connection_goes_through_once(
    quick_close: Served, method: str
) -> None:
    """The dashboard's first admit after a quiet minute: the pooled connection was closed
    by the server's keep-alive timeout; the request must go out on a fresh one, once."""
    url, _, changes = quick_close
    async with TlhClient(url, TOKEN) as client:
        assert (await client.health()).ok
        await idle_connections_closed(url)
        status, body = await client.request(method, "/api/v1/change", {"n": 1})
    assert status == 200
    assert msgspec.json.decode(body) == {"changed": method}
    assert changes == [len(b'{"n":1}')], "sent exactly once"


async def test_a_post_that_may_have_reached_the_server_is_not_resent(served: Served) -> None:
    """A reused connection dying after the request was written is not a stale connection:
    the server may have acted on it, so a POST is reported, never sent again."""
    url, _, changes = served
    async with TlhClient(url, TOKEN, timeout=5) as client:
        assert (await client.health()).ok
        with pytest.raises(Unavailable, match="the connection was closed"):
            await client.request("POST", "/api/v1/drop", {"n": 1})
        assert (await client.health()).ok, "the next request opens a new connection"
    assert changes == [len(b'{"n":1}')]


async def test_error_envelope_becomes_typed_error(
    served: Served,
) -> None:
    async with TlhClient(served[0], TOKEN) as client:
        with pytest.raises(NotFound, match="no appointment apt_x"):
            await client.appointments.get("apt_x")
        with pytest.raises(Unauthenticated, match="token revoked"):
            await client.staff.me()
        # the connection is still usable after error answers
        assert (await client.health()).ok


async def test_answer_without_envelope(served: Served) -> None:
    async with TlhClient(served[0], TOKEN) as client:
        with pytest.raises(TlhError, match="HTTP 502 without an error body"):
            await client.practice.get()


async def test_timeout_is_unavailable(served: Served) -> None:
    async with TlhClient(served[0], TOKEN, timeout=0.2) as client:
        with pytest.raises(Unavailable, match=r"no answer within 0\.2 s") as caught:
            await client.staff.list()
    assert TOKEN not in str(caught.value)


async def test_refused_is_unavailable_without_token() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    async with TlhClient(url, TOKEN) as client:
        with pytest.raises(Unavailable) as caught:
            await client.staff.me()
    message = str(caught.value)
    assert message == f"cannot reach the tlh server at {url}: connection refused"
    assert TOKEN not in message


async def test_upload_reports_progress(served: Served) -> None:
    url, _, uploads = served
    data = b"a" * (600 * 1024)
    seen: list[tuple[int, int]] = []
    async with TlhClient(url, TOKEN) as client:
        report = await client.appointments.import_file(
            data, "csv", dry_run=True, progress=lambda done, total: seen.append((done, total))
        )
    assert uploads == [len(data)]
    assert report.created == len(data)
    assert seen[-1] == (len(data), len(data))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert len(seen) >= 3


async def test_chunked_body_is_read_whole(served: Served) -> None:
    async with TlhClient(served[0], TOKEN) as client:
        assert await client.admin.backup() == b"x" * 3000


async def test_raw_request_returns_status_and_body(
    served: Served,
) -> None:
    async with TlhClient(served[0], TOKEN) as client:
        status, body = await client.request("GET", "/api/v1/appointments/apt_x")
    assert status == 404
    assert msgspec.json.decode(body)["error"]["code"] == "not_found"


@pytest.mark.parametrize("url", ["ftp://host", "localhost:8765", "http://", "http://h:notaport"])
def test_bad_urls_are_invalid_input(url: str) -> None:
    with pytest.raises(InvalidInput):
        Endpoint.parse(url)


def test_endpoint_keeps_a_path_prefix() -> None:
    end = Endpoint.parse("https://tlh.example.org/clinic/")
    assert (end.host, end.port, end.base_path, end.host_header) == (
        "tlh.example.org",
        443,
        "/clinic",
        "tlh.example.org",
    )


async def test_transport_close_is_idempotent() -> None:
    transport = Transport("http://127.0.0.1:1")
    await transport.close()
    await transport.close()


def test_importing_the_client_does_not_import_aiohttp() -> None:
    import subprocess
    import sys

    code = "import sys, tlh.client; print(sorted(m for m in ('aiohttp', 'tinydb', 'textual', 'wsproto') if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    )
    assert done.stdout.strip() == "[]"
