"""Empty room sessions are closed after the last person leaves and a grace, and a restart
leaves none open for ever (issue 18, item 10)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.serving import free_port, stop, wait_healthy
from tlh.server.keys import IDLE_SESSIONS
from tlh.services.bootstrap import init_practice

from .conftest import Practice
from .rooms_helpers import admit, guest, start_room_session

GRACE = 300.0


async def segment(practice: Practice, session_id: str) -> dict[str, Any]:
    _, found = await practice.call("GET", "/api/v1/sessions")
    return next(s for s in found["items"] if s["id"] == session_id)


async def test_a_room_session_closes_once_empty_for_the_grace(practice: Practice) -> None:
    idle = practice.client.app[IDLE_SESSIONS]
    session = await start_room_session(practice)
    assert session["id"] in idle.watching()
    peer, status = await guest(practice)
    code, admitted = await admit(practice, status["entry_id"])
    assert code == 200, admitted
    await peer.next("admitted")
    # Someone in the call keeps it, however long.
    assert await idle.sweep(1_000.0) == []
    assert await idle.sweep(1_000.0 + 10 * GRACE) == []
    await peer.send({"type": "leave"})
    await peer.next("status", state="left")
    assert await idle.sweep(2_000.0) == []  # empty from now
    assert await idle.sweep(2_000.0 + GRACE - 1) == []
    assert await idle.sweep(2_000.0 + GRACE) == [session["id"]]
    closed = await segment(practice, session["id"])
    assert closed["ended_at"] is not None
    assert closed["ended_by"] == "system"
    assert idle.watching() == set()
    _, log = await practice.call("GET", "/api/v1/audit")
    assert [e["actor"]["id"] for e in log["items"] if e["action"] == "session.end"] == ["system"]


async def test_a_guest_back_within_the_grace_keeps_the_session(practice: Practice) -> None:
    idle = practice.client.app[IDLE_SESSIONS]
    session = await start_room_session(practice)
    assert await idle.sweep(0.0) == []  # nobody has come yet: empty from now
    peer, status = await guest(practice)
    code, _ = await admit(practice, status["entry_id"])
    assert code == 200
    await peer.next("admitted")
    assert await idle.sweep(GRACE + 1) == []  # someone came: the clock starts again
    assert (await segment(practice, session["id"]))["ended_at"] is None
    # Ended by staff meanwhile: it is no longer watched, and nothing is closed twice.
    code, _ = await practice.call("POST", f"/api/v1/sessions/{session['id']}/end")
    assert code == 200
    assert await idle.sweep(10 * GRACE) == []
    await peer.ws.close()


def _serve(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tlh", "serve", "--data-dir", str(data_dir), "--port", str(port)],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def _call(url: str, token: str, method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        url + path,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


async def test_a_restart_leaves_no_room_session_open_for_ever(tmp_path: Path) -> None:
    """A real ``tlh serve``, stopped while a room session is open and started again: the
    session is closed once its grace has passed (1 s here, from ``tlh.toml``)."""
    data_dir = tmp_path / "data"
    token = await init_practice(data_dir, "Idle Practice", "UTC", "admin@example.org")
    (data_dir / "tlh.toml").write_text("[rooms]\nempty_session_grace_s = 1\n")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    proc = _serve(data_dir, port, log)
    try:
        wait_healthy(url, proc, log=log)
        lee = _call(url, token, "POST", "/api/v1/staff",
                    {"email": "lee@example.org", "name": "Lee", "role": "clinician",
                     "telehealth": True})  # fmt: skip
        started = _call(url, lee["token"], "POST", "/api/v1/sessions", {"room": True})
        session_id = started["session"]["id"]
    finally:
        stop(proc)
    proc = _serve(data_dir, port, log)
    try:
        wait_healthy(url, proc, log=log)
        deadline = time.monotonic() + 20
        while True:
            found = _call(url, token, "GET", "/api/v1/sessions")["items"]
            [mine] = [s for s in found if s["id"] == session_id]
            if mine["ended_at"] is not None:
                break
            assert time.monotonic() < deadline, "the empty room session was never closed"
            time.sleep(0.1)  # polling a server in another process, bounded by the deadline
        assert mine["ended_by"] == "system"
    finally:
        stop(proc)
