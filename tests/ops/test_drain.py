"""SIGTERM, as systemd stops ``tlh serve``: every socket is told the server is restarting
(close code 1012), the waiting keep their places across the restart, an import under
way is whole or absent, and the JSON log is one object per line with no patient's data.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import subprocess
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.serving import free_port
from tlh.services.bootstrap import init_practice

from .running import api, redeem, serving

pytestmark = pytest.mark.timeout(120)

NAME, EMAIL = "Philippa Quartermaine", "philippa.q@example.org"


@pytest.fixture
def practice(tmp_path: Path) -> tuple[Path, str]:
    data = tmp_path / "data"
    token = asyncio.run(init_practice(data, "Drain Practice", "UTC", "admin@example.org"))
    return data, token


async def participant(
    http: aiohttp.ClientSession, url: str, cookie: str
) -> tuple[aiohttp.ClientWebSocketResponse, dict[str, Any]]:
    headers = {"Origin": url, "Cookie": f"__Host-tlh_link={cookie}"}
    ws = await http.ws_connect(f"{url}/api/v1/link/ws", headers=headers)
    await ws.send_str(json.dumps({"type": "hello", "device_id": "dev_drain"}))
    while True:
        frame = json.loads((await ws.receive(timeout=10)).data)
        if frame["type"] == "status":
            return ws, frame


async def closed_with(ws: aiohttp.ClientWebSocketResponse) -> tuple[int | None, str]:
    """Read until the server closes the socket: its close code and reason."""
    while True:
        msg = await ws.receive(timeout=20)
        if msg.type == aiohttp.WSMsgType.CLOSE:
            return ws.close_code, str(msg.extra or "")
        assert msg.type == aiohttp.WSMsgType.TEXT, msg


def terminate(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=30)


async def test_sigterm_tells_everyone_and_the_waiting_keep_their_place(
    practice: tuple[Path, str], tmp_path: Path
) -> None:
    data, token = practice
    log = tmp_path / "first.log"
    with serving(data, "--log-format", "json", log=log) as (proc, url, _):
        async with aiohttp.ClientSession() as http:
            await api(
                http, url, token, "POST", "/api/v1/staff",
                json={"email": "lee@example.org", "name": "Lee", "role": "clinician", "telehealth": True},
            )  # fmt: skip
            await api(
                http, url, token, "POST", "/api/v1/clients", json={"name": NAME, "email": EMAIL}
            )
            made = await api(
                http,
                url,
                token,
                "POST",
                "/api/v1/invites/guest",
                json={"clinician": "lee@example.org"},
            )
            cookie = await redeem(http, url, made["url"])
            ws, before = await participant(http, url, cookie)
            assert before["state"] == "waiting"
            staff = await http.ws_connect(
                f"{url}/api/v1/events", headers={"Authorization": f"Bearer {token}"}
            )
            assert json.loads((await staff.receive(timeout=10)).data)["type"] == "events.ready"
            code = terminate(proc)
            assert await closed_with(ws) == (1012, "server restarting")
            assert await closed_with(staff) == (1012, "server restarting")
    assert code == 0
    text = log.read_text()
    lines = text.splitlines()
    assert all(json.loads(line)["msg"] for line in lines)  # one JSON object per line
    assert any(json.loads(line).get("path") == "/api/v1/clients" for line in lines)
    for private in (NAME, EMAIL, "Philippa", cookie, token):
        assert private not in text
    assert "Traceback" not in text

    port = free_port()
    with serving(data, port=port) as (_, url, _):
        async with aiohttp.ClientSession() as http:
            ws, after = await participant(http, url, cookie)
            assert after["entry_id"] == before["entry_id"]
            assert after["state"] == "waiting"
            assert after.get("position") == before.get("position")
            await ws.close()


def import_rows(rows: int) -> bytes:
    lines = ["external_id,client_external_id,client_name,clinician_email,start,duration_min"]
    for n in range(rows):
        lines.append(
            f"t{n},c{n % 40},Client {n % 40},lee@example.org,"
            f"2032-02-{1 + n // 60 % 28:02d}T{8 + n % 60 // 6:02d}:{n % 6 * 10:02d},10"
        )
    return ("\n".join(lines) + "\n").encode()


async def test_sigterm_during_an_import_leaves_it_whole_or_absent(
    practice: tuple[Path, str], tmp_path: Path
) -> None:
    data, token = practice
    rows = 1500  # 28 days of 60 slots hold them without overlap
    body = import_rows(rows)
    with serving(data, log=tmp_path / "import.log") as (proc, url, _):
        async with aiohttp.ClientSession() as http:
            await api(
                http, url, token, "POST", "/api/v1/staff",
                json={"email": "lee@example.org", "name": "Lee", "role": "clinician"},
            )  # fmt: skip
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=60) as sock:
            # A first request on the same connection, answered: the server holds this
            # connection (not a backlog the closing listener would reset).
            sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
            head = (
                f"POST /api/v1/appointments/import HTTP/1.1\r\nHost: {host}:{port}\r\n"
                f"Authorization: Bearer {token}\r\nContent-Type: text/csv\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            ).encode()
            sock.sendall(head + body)
            # The whole request is with the server: the stop lands while it is handled.
            code = terminate(proc)
            answer = b""
            with contextlib.suppress(OSError):
                while chunk := sock.recv(65536):
                    answer += chunk
    assert code == 0
    with serving(data) as (_, url, _):
        async with aiohttp.ClientSession() as http:
            found = await api(
                http, url, token, "GET", "/api/v1/appointments?from=2032-02-01&to=2032-02-28"
            )
    count = len(found["items"])
    assert count in (0, rows), f"the import is partial: {count} of {rows}"
    if answer.startswith(b"HTTP/1.1 200"):
        assert count == rows  # answered done: it is all there
    # The drain lets a request under way finish: it is not cut off.
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
