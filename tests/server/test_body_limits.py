"""Request bodies are bounded as they stream, per route, chunked or not (issue 19, item 7).

Against the app served as ``tlh serve`` serves it, through raw sockets: what counts is
how much of a body the server takes in, which the sender sees as how much it could
write before the server closed the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from .served import Served, serving

#: What one sender offers: far more than any limit but the server's own 64 MiB.
OFFERED = 60 * 1024 * 1024
#: What the server may take in past a limit: its own receive buffer and ours
#: (Linux autotunes loopback buffers up to a few MB each).
SLACK = 12 * 1024 * 1024
CHUNK = 64 * 1024


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    async with serving(tmp_path / "data") as server:
        yield server


async def send_chunked(
    server: Served, path: str, headers: dict[str, str], total: int = OFFERED
) -> tuple[int, bytes]:
    """POST ``total`` bytes chunked on a new connection; how many bytes went out before
    the server stopped taking them, and everything it answered."""
    head = [f"POST {path} HTTP/1.1", f"Host: {server.host}:{server.port}"]
    headers = {"Content-Type": "application/json", **headers}
    head += ["Transfer-Encoding: chunked", *(f"{k}: {v}" for k, v in headers.items())]
    frame = b"%x\r\n%s\r\n" % (CHUNK, b" " * CHUNK)
    loop = asyncio.get_running_loop()
    # A plain socket, not asyncio's streams: a reset after the answer must not hide
    # the answer already received (the kernel hands it over before the error).
    with socket.create_connection((server.host, server.port)) as sock:
        sock.setblocking(False)
        sent = 0
        try:
            await loop.sock_sendall(sock, ("\r\n".join(head) + "\r\n\r\n").encode())
            while sent < total:
                await asyncio.wait_for(loop.sock_sendall(sock, frame), 30)
                sent += CHUNK
            await loop.sock_sendall(sock, b"0\r\n\r\n")
        except ConnectionError:
            pass  # the server closed the connection: the point of the test
        answer = b""
        with contextlib.suppress(ConnectionError):
            while data := await asyncio.wait_for(loop.sock_recv(sock, 65536), 30):
                answer += data
    return sent, answer


def status_and_body(answer: bytes) -> tuple[int, dict[str, object]]:
    head, _, rest = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(rest)


async def test_a_chunked_redeem_past_its_limit_is_413_and_not_read(served: Served) -> None:
    sent, answer = await send_chunked(served, "/api/v1/link/redeem", {"Origin": served.url})
    status, body = status_and_body(answer)
    assert status == 413
    assert body["error"]["code"] == "too_large"  # type: ignore[index]
    assert b"Connection: close" in answer
    assert sent < SLACK, f"the server took in {sent} bytes of a 4 KiB route"


async def test_twelve_at_once_stay_bounded(served: Served) -> None:
    sends = [send_chunked(served, "/api/v1/link/redeem", {"Origin": served.url}) for _ in range(12)]
    results = await asyncio.gather(*sends)
    assert [status_and_body(answer)[0] for _, answer in results] == [413] * 12
    assert sum(sent for sent, _ in results) < 12 * SLACK


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        # Refused before the body is looked at (no Origin; a wrong token), or a route
        # that reads no body: the rest must not be read for aiohttp's 10 s linger either.
        ("/api/v1/link/redeem", {}, 403),
        ("/api/v1/clients", {"Authorization": "Bearer tlh_wrong"}, 401),
        ("/api/v1/call-links/logout", {"Origin": "{url}"}, 204),
    ],
)
async def test_a_body_left_unread_is_not_read_past_the_limit(
    served: Served, path: str, headers: dict[str, str], status: int
) -> None:
    headers = {k: v.format(url=served.url) for k, v in headers.items()}
    sent, answer = await send_chunked(served, path, headers)
    assert int(answer.split()[1]) == status
    assert sent < SLACK


async def test_a_staff_route_reads_at_most_its_limit(served: Served) -> None:
    auth = {"Authorization": f"Bearer {served.token}"}
    sent, answer = await send_chunked(served, "/api/v1/clients", auth)
    status, body = status_and_body(answer)
    assert status == 413
    assert body["error"]["message"].endswith("(1048576 bytes)")  # type: ignore[index]
    assert sent < 1024 * 1024 + SLACK


async def test_the_import_takes_the_servers_limit(tmp_path: Path) -> None:
    async with serving(tmp_path / "data", max_body_bytes=2 * 1024 * 1024) as server:
        auth = {"Authorization": f"Bearer {server.token}", "Content-Type": "text/csv"}
        sent, answer = await send_chunked(server, "/api/v1/appointments/import", auth)
    assert status_and_body(answer)[0] == 413
    assert sent < 2 * 1024 * 1024 + SLACK


async def test_a_generator_body_gets_the_413(served: Served) -> None:
    async def forever() -> AsyncIterator[bytes]:
        for _ in range(OFFERED // CHUNK):
            yield b" " * CHUNK

    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{served.url}/api/v1/call-links/redeem", data=forever(), headers={"Origin": served.url}
        ) as response,
    ):
        assert response.status == 413
        assert (await response.json())["error"]["code"] == "too_large"


async def test_a_declared_length_over_the_limit_is_refused_unread(served: Served) -> None:
    reader, writer = await asyncio.open_connection(served.host, served.port)
    host = f"{served.host}:{served.port}"
    writer.write(
        f"POST /api/v1/link/redeem HTTP/1.1\r\nHost: {host}\r\nOrigin: {served.url}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {OFFERED}\r\n\r\n".encode()
    )
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 30)  # the server closes after it
    writer.close()
    status, body = status_and_body(answer)
    assert status == 413
    assert "(4096 bytes)" in body["error"]["message"]  # type: ignore[index]


async def test_a_small_refused_body_keeps_the_connection(served: Served) -> None:
    """Within its limit, an unread body is read to its end: the connection stays
    usable for the next request (no reset under a browser's keep-alive)."""
    reader, writer = await asyncio.open_connection(served.host, served.port)
    body = b'{"name": "x"}'
    request = (
        b"POST /api/v1/clients HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tlh_wrong\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    for _ in range(2):
        writer.write(request)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert head.startswith(b"HTTP/1.1 401")
        assert b"Connection: close" not in head
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
    writer.close()


async def test_no_traceback_in_the_log(served: Served, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    await send_chunked(served, "/api/v1/link/redeem", {"Origin": served.url})
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
