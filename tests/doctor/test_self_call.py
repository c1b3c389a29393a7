"""``tlh doctor``'s call to itself: the admin on the staff call socket and a headless
guest through a one-time link, let in from the waiting room, media both ways; nothing
is left behind (segment ended, link revoked, no row in the practice's reports)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

from typer.testing import CliRunner

from tlh.client import TlhClient

from .test_doctor import Practice, checks, loop, practice

__all__ = ["loop", "practice"]  # fixtures, imported for pytest


def _with_client(practice: Practice, work: Any) -> Any:
    async def go() -> Any:
        async with TlhClient(practice.url, practice.token) as client:
            return await work(client)

    return asyncio.run(go())


def test_the_call_goes_through_the_waiting_room_and_leaves_nothing_behind(
    practice: Practice,
) -> None:
    practice.serve()
    result = practice.doctor("--json")
    call = checks(result)["call"]
    assert call["status"] == "ok", call
    assert "let in from the waiting room" in call["detail"]
    assert "both ways directly" in call["detail"]

    async def look(client: TlhClient) -> tuple[Any, ...]:
        today = datetime.now(UTC).date()
        segments = await client.sessions.list(today)
        report = await client.reports.rows("sessions", today, today)
        audit = await client.audit.list(limit=500)
        rooms = await client.rooms.list()
        return segments, report, audit, rooms

    segments, report, audit, rooms = _with_client(practice, look)
    [segment] = segments
    assert segment.self_test
    assert segment.ended_at is not None
    # Both sides were in the call: the admin and the test guest.
    assert {p.kind for p in segment.participants} == {"staff", "guest"}
    assert all(p.left_at is not None for p in segment.participants)
    assert report == []  # not a visit
    assert all(not room.entries for room in rooms.items)
    actions = [e["action"] for e in audit]
    for action in ("doctor.call", "room.admit", "session.end", "link.revoke"):
        assert action in actions, action
    # `tlh session list` says what it was.
    from tlh.cli.main import app

    env = {"TLH_CONFIG": str(practice.root / "none.toml"), "COLUMNS": "200"}
    listed = CliRunner().invoke(
        app, ["--url", practice.url, "--token", practice.token, "session", "list"], env=env
    )
    assert listed.exit_code == 0, listed.stderr
    assert "(doctor test)" in listed.stdout


def test_under_relay_always_the_call_goes_through_the_relay(practice: Practice) -> None:
    practice.serve()
    _with_client(practice, lambda client: client.practice.update(relay="always"))
    call = checks(practice.doctor("--json"))["call"]
    assert call["status"] == "ok", call
    assert "through the server's relay" in call["detail"]


def test_the_admins_own_open_session_is_left_alone_and_no_one_else_joins_the_test(
    practice: Practice,
) -> None:
    """The admin has a room session open with a real guest let in: the test guest goes
    into the test segment only, and the real session keeps running untouched."""
    practice.serve()

    async def open_room(client: TlhClient) -> str:
        me = await client.staff.me()
        body = {"room": True, "clinician": me.id}
        status, raw = await client.request("POST", "/api/v1/sessions", body)
        assert status == 201, raw
        return str(json.loads(raw)["session"]["id"])

    session_id = _with_client(practice, open_room)
    call = checks(practice.doctor("--json"))["call"]
    assert call["status"] == "ok", call

    segments = _with_client(practice, lambda client: client.sessions.list())
    real = next(s for s in segments if s.id == session_id)
    test = next(s for s in segments if s.self_test)
    assert real.ended_at is None  # still open
    assert real.participants == ()  # the test guest never came in
    assert {p.kind for p in test.participants} == {"staff", "guest"}
    assert test.test_link_id is not None
