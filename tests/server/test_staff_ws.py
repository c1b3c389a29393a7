"""Staff cookie sessions on every staff endpoint, and the staff call websocket."""

from __future__ import annotations

import pytest
from aiohttp import WSServerHandshakeError

from .call_helpers import (
    closed_with,
    cookie_headers,
    eligible_appointment,
    install_clock,
    next_frame,
    staff_cookie,
)
from .conftest import Practice
from .outreach_helpers import origin

WS = "/api/v1/call/ws"


async def _room_session(practice: Practice, headers: dict[str, str]) -> str:
    response = await practice.client.post("/api/v1/sessions", json={"room": True}, headers=headers)
    assert response.status == 201, await response.text()
    return str((await response.json())["session"]["id"])


async def _segment(practice: Practice, session_id: str) -> dict[str, object]:
    status, found = await practice.call("GET", "/api/v1/sessions?clinician=lee@example.org")
    assert status == 200
    return next(s for s in found["items"] if s["id"] == session_id)


# -- the cookie on ordinary endpoints -------------------------------------------------


async def test_unsafe_cookie_requests_need_this_servers_origin(practice: Practice) -> None:
    cookie = await staff_cookie(practice)
    for headers in (
        {**cookie_headers(practice, cookie), "Origin": "https://evil.example"},
        cookie_headers(practice, cookie, origin_header=False),
    ):
        refused = await practice.client.post(
            "/api/v1/sessions", json={"room": True}, headers=headers
        )
        assert refused.status == 403
        assert (await refused.json())["error"]["code"] == "forbidden"
    _, listed = await practice.call("GET", "/api/v1/sessions")
    assert listed["items"] == []
    await _room_session(practice, cookie_headers(practice, cookie))
    # A read is fine without Origin (SameSite=Strict already keeps other sites out).
    read = await practice.client.get(
        "/api/v1/sessions", headers=cookie_headers(practice, cookie, origin_header=False)
    )
    assert read.status == 200
    assert len((await read.json())["items"]) == 1


async def test_the_cookie_acts_with_its_staff_members_role(practice: Practice) -> None:
    cookie = await staff_cookie(practice)
    headers = cookie_headers(practice, cookie)
    admin_only = await practice.client.get("/api/v1/audit", headers=headers)
    assert admin_only.status == 403
    admin_cookie = await staff_cookie(practice, "admin")
    allowed = await practice.client.get(
        "/api/v1/audit", headers=cookie_headers(practice, admin_cookie)
    )
    assert allowed.status == 200


async def test_a_bearer_token_wins_over_the_cookie(practice: Practice) -> None:
    cookie = await staff_cookie(practice)
    as_admin = await practice.client.get(
        "/api/v1/me", headers={**cookie_headers(practice, cookie), **practice.auth("admin")}
    )
    assert (await as_admin.json())["id"] == practice.ids["admin"]
    wrong = await practice.client.get(
        "/api/v1/me",
        headers={**cookie_headers(practice, cookie), "Authorization": "Bearer tlh_wrong"},
    )
    assert wrong.status == 401


async def test_idle_sessions_are_signed_out(practice: Practice) -> None:
    clock = install_clock(practice)
    cookie = await staff_cookie(practice)
    headers = cookie_headers(practice, cookie)
    for _ in range(3):  # every request refreshes the session
        clock.advance(minutes=14)
        assert (await practice.client.get("/api/v1/me", headers=headers)).status == 200
    clock.advance(minutes=15)
    idle = await practice.client.get("/api/v1/me", headers=headers)
    assert idle.status == 401
    assert (await idle.json())["error"] == {
        "code": "unauthenticated",
        "message": "signed out after 15 minutes idle",
        "details": None,
    }
    assert (await practice.client.get("/api/v1/me", headers=headers)).status == 401


async def test_a_forged_cookie_is_refused(practice: Practice) -> None:
    response = await practice.client.get("/api/v1/me", headers=cookie_headers(practice, "A" * 43))
    assert response.status == 401


# -- the staff call websocket ---------------------------------------------------------


async def test_the_socket_is_refused_before_the_upgrade(practice: Practice) -> None:
    cookie = await staff_cookie(practice)
    cases = [
        ({"Origin": origin(practice)}, 401),
        ({**cookie_headers(practice, cookie), "Origin": "https://evil.example"}, 403),
        ({**practice.auth("clinician"), "Origin": "https://evil.example"}, 403),
        (practice.auth("scheduler"), 403),
    ]
    for headers, status in cases:
        with pytest.raises(WSServerHandshakeError) as refused:
            await practice.client.ws_connect(WS, headers=headers)
        assert refused.value.status == status, headers
    with pytest.raises(WSServerHandshakeError) as unknown:
        await practice.client.ws_connect(
            WS + "?session=ses_nope", headers=practice.auth("clinician")
        )
    assert unknown.value.status == 404


async def test_the_socket_joins_the_session_the_clinician_starts(practice: Practice) -> None:
    cookie = await staff_cookie(practice)
    headers = cookie_headers(practice, cookie)
    async with practice.client.ws_connect(WS, headers=headers) as ws:
        assert await next_frame(ws, "status") == {"type": "status", "state": "no_session"}
        session_id = await _room_session(practice, headers)
        admitted = await next_frame(ws, "admitted")
        assert admitted == {
            "type": "admitted",
            "peer_id": practice.ids["clinician"],
            "session_id": session_id,
            "peers": [],
            "ice_servers": [],
        }
        segment = await _segment(practice, session_id)
        [me] = segment["participants"]  # type: ignore[misc]
        assert me["peer_id"] == practice.ids["clinician"]
        assert me["kind"] == "staff"
        assert me["left_at"] is None
        ended = await practice.client.post(f"/api/v1/sessions/{session_id}/end", headers=headers)
        assert ended.status == 200
        assert await next_frame(ws, "ended") == {"type": "ended"}
    segment = await _segment(practice, session_id)
    assert segment["participants"][0]["left_at"] is not None  # type: ignore[index]


async def test_signals_relay_between_staff_peers(practice: Practice) -> None:
    session_id = await _room_session(practice, practice.auth("clinician"))
    lee = await practice.client.ws_connect(WS, headers=practice.auth("clinician"))
    admin = await practice.client.ws_connect(
        f"{WS}?session={session_id}", headers=practice.auth("admin")
    )
    try:
        assert (await next_frame(lee, "admitted"))["peers"] == []
        joined = await next_frame(admin, "admitted")
        assert joined["peers"] == [
            {"peer_id": practice.ids["clinician"], "label": "Clinician", "kind": "staff"}
        ]
        seen = await next_frame(lee, "peer.joined")
        assert seen["peer_id"] == practice.ids["admin"]
        offer = {"description": {"type": "offer", "sdp": "v=0\r\n" + "a" * 3000}}
        await admin.send_json({"type": "signal", "to": practice.ids["clinician"], "data": offer})
        relayed = await next_frame(lee, "signal")
        assert relayed == {"type": "signal", "from": practice.ids["admin"], "data": offer}
        # A peer that is not there: dropped, and the socket stays open.
        await admin.send_json({"type": "signal", "to": "ent_gone", "data": {"candidate": None}})
        await admin.send_json({"type": "leave"})
        assert (await next_frame(lee, "peer.left"))["peer_id"] == practice.ids["admin"]
        assert (await next_frame(admin, "status"))["state"] == "no_session"
        await admin.send_json({"type": "join", "session_id": session_id})
        assert (await next_frame(admin, "admitted"))["session_id"] == session_id
    finally:
        await lee.close()
        await admin.close()


async def test_join_switches_segments(practice: Practice) -> None:
    appt_id = await eligible_appointment(practice)
    room_id = await _room_session(practice, practice.auth("clinician"))
    async with practice.client.ws_connect(
        f"{WS}?session={room_id}", headers=practice.auth("clinician")
    ) as ws:
        assert (await next_frame(ws, "admitted"))["session_id"] == room_id
        status, made = await practice.call(
            "POST", "/api/v1/sessions", role="clinician", json={"appointment_id": appt_id}
        )
        assert status == 201
        appt_session = made["session"]["id"]
        await ws.send_json({"type": "join", "session_id": appt_session})
        assert (await next_frame(ws, "admitted"))["session_id"] == appt_session
        await ws.send_json({"type": "join", "session_id": "ses_nope"})
        assert (await next_frame(ws, "status"))["state"] == "no_session"
    room = await _segment(practice, room_id)
    assert room["participants"][0]["left_at"] is not None  # type: ignore[index]


@pytest.mark.parametrize(
    ("send", "code"),
    [
        (lambda ws: ws.send_bytes(b"\x00\x01"), 1008),
        (lambda ws: ws.send_str("{not json"), 1008),
        (lambda ws: ws.send_json({"type": "admit"}), 1008),
        (lambda ws: ws.send_json({"type": "signal", "to": "x"}), 1008),
        (lambda ws: ws.send_str('{"type":"hello","pad":"' + "x" * 17000 + '"}'), 1009),
    ],
)
async def test_bad_frames_close_that_socket_only(
    practice: Practice, send: object, code: int
) -> None:
    async with practice.client.ws_connect(WS, headers=practice.auth("clinician")) as other:
        await next_frame(other, "status")
        async with practice.client.ws_connect(WS, headers=practice.auth("admin")) as ws:
            await next_frame(ws, "status")
            await send(ws)  # type: ignore[operator]
            assert await closed_with(ws) == code
        await other.send_json({"type": "hello"})
        await other.send_json({"type": "leave"})
        assert (await next_frame(other, "status"))["state"] == "no_session"


async def test_a_flood_closes_the_socket(practice: Practice) -> None:
    async with practice.client.ws_connect(WS, headers=practice.auth("clinician")) as ws:
        await next_frame(ws, "status")
        for _ in range(60):
            await ws.send_json({"type": "hello"})
        assert await closed_with(ws) == 1008


async def test_an_idle_cookie_closes_the_socket_but_not_during_a_call(practice: Practice) -> None:
    clock = install_clock(practice)
    cookie = await staff_cookie(practice)
    headers = cookie_headers(practice, cookie)
    session_id = await _room_session(practice, headers)
    async with practice.client.ws_connect(WS, headers=headers) as ws:
        await next_frame(ws, "admitted")
        clock.advance(minutes=40)  # a long quiet call keeps the page signed in
        assert (await practice.client.get("/api/v1/me", headers=headers)).status == 200
        await practice.client.post(f"/api/v1/sessions/{session_id}/end", headers=headers)
        await next_frame(ws, "ended")
        clock.advance(minutes=16)
        await ws.send_json({"type": "hello"})
        assert await closed_with(ws) == 1008
    assert (await practice.client.get("/api/v1/me", headers=headers)).status == 401


async def test_logout_leaves_other_pages_alone(practice: Practice) -> None:
    first = await staff_cookie(practice)
    second = await staff_cookie(practice)
    await practice.client.post("/api/v1/call-links/logout", headers=cookie_headers(practice, first))
    ok = await practice.client.get("/api/v1/me", headers=cookie_headers(practice, second))
    assert ok.status == 200
