"""Staff websockets end with the sign-in they were opened with: a new token, a disabled
staff member, a role the route does not take, a logged-out page. Nobody else's socket
is touched, and the socket closes before the admin's request is answered."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import WSServerHandshakeError

from .call_helpers import (
    close_frame,
    cookie_headers,
    make_call_link,
    next_frame,
    redeem_call,
    staff_cookie,
)
from .conftest import Practice

CALL = "/api/v1/call/ws"
EVENTS = "/api/v1/events"


async def _room_session(practice: Practice, role: str = "clinician") -> str:
    response = await practice.client.post(
        "/api/v1/sessions", json={"room": True}, headers=practice.auth(role)
    )
    assert response.status == 201, await response.text()
    return str((await response.json())["session"]["id"])


async def _participants(practice: Practice, session_id: str) -> list[dict[str, object]]:
    status, found = await practice.call("GET", "/api/v1/sessions")
    assert status == 200
    segment = next(s for s in found["items"] if s["id"] == session_id)
    return list(segment["participants"])


SIGNED_OUT = (1008, "signed out")


def _still_open(ws: aiohttp.ClientWebSocketResponse) -> bool:
    return not ws.closed and ws.close_code is None


async def test_a_new_token_closes_the_old_tokens_sockets_and_no_one_elses(
    practice: Practice,
) -> None:
    session_id = await _room_session(practice)
    old = practice.auth("clinician")
    events = await practice.client.ws_connect(EVENTS + "?dashboard=1", headers=old)
    call = await practice.client.ws_connect(CALL, headers=old)
    others = await practice.client.ws_connect(EVENTS, headers=practice.auth("scheduler"))
    try:
        await next_frame(events, "events.ready")
        await next_frame(call, "admitted")
        await next_frame(others, "events.ready")
        status, made = await practice.call("POST", "/api/v1/staff/lee@example.org/token")
        assert status == 200
        # Closed before the answer: nothing more reaches the old token's holder.
        assert await close_frame(events) == SIGNED_OUT
        assert await close_frame(call) == SIGNED_OUT
        assert _still_open(others)
        # The clinician left the call (attendance recorded), and the old token is refused.
        [me] = await _participants(practice, session_id)
        assert me["left_at"] is not None
        with pytest.raises(WSServerHandshakeError) as refused:
            await practice.client.ws_connect(EVENTS, headers=old)
        assert refused.value.status == 401
        fresh = {"Authorization": f"Bearer {made['token']}"}
        async with practice.client.ws_connect(CALL, headers=fresh) as again:
            assert (await next_frame(again, "admitted"))["session_id"] == session_id
    finally:
        for ws in (events, call, others):
            await ws.close()


async def test_disabling_closes_token_and_page_sockets_without_a_frame(
    practice: Practice,
) -> None:
    cookie = await staff_cookie(practice)
    page = await practice.client.ws_connect(CALL, headers=cookie_headers(practice, cookie))
    events = await practice.client.ws_connect(EVENTS, headers=practice.auth("clinician"))
    try:
        await next_frame(page, "status")
        await next_frame(events, "events.ready")
        status, _ = await practice.call("POST", "/api/v1/staff/lee@example.org/disable")
        assert status == 200
        # No frame sent first: the sockets do not wait for the next message to notice.
        assert await close_frame(page) == SIGNED_OUT
        assert await close_frame(events) == SIGNED_OUT
        me = await practice.client.get("/api/v1/me", headers=cookie_headers(practice, cookie))
        assert me.status == 401
    finally:
        await page.close()
        await events.close()


async def test_a_role_change_closes_only_the_routes_the_new_role_may_not_use(
    practice: Practice,
) -> None:
    headers = practice.auth("clinician")
    call = await practice.client.ws_connect(CALL, headers=headers)
    events = await practice.client.ws_connect(EVENTS, headers=headers)
    try:
        await next_frame(call, "status")
        await next_frame(events, "events.ready")
        status, _ = await practice.call(
            "PATCH", "/api/v1/staff/lee@example.org", json={"role": "scheduler"}
        )
        assert status == 200
        assert await close_frame(call) == SIGNED_OUT  # schedulers do not take calls
        assert _still_open(events)  # every staff role follows the events
    finally:
        await call.close()
        await events.close()


async def test_logging_a_page_out_closes_that_pages_socket_only(practice: Practice) -> None:
    first, second = await staff_cookie(practice), await staff_cookie(practice)
    one = await practice.client.ws_connect(CALL, headers=cookie_headers(practice, first))
    two = await practice.client.ws_connect(CALL, headers=cookie_headers(practice, second))
    by_token = await practice.client.ws_connect(CALL, headers=practice.auth("clinician"))
    try:
        for ws in (one, two, by_token):
            await next_frame(ws, "status")
        out = await practice.client.post(
            "/api/v1/call-links/logout", headers=cookie_headers(practice, first)
        )
        assert out.status == 204
        assert await close_frame(one) == SIGNED_OUT
        assert _still_open(two)
        assert _still_open(by_token)
    finally:
        for ws in (one, two, by_token):
            await ws.close()


async def test_a_new_token_ends_the_page_sessions_the_old_one_signed_in(
    practice: Practice,
) -> None:
    """A call page signed in through a leaked token dies with that token: its cookie is
    refused at once and its call and event sockets close before the admin is answered.
    A login link the old token asked for and nobody redeemed yet is dead too."""
    cookie = await staff_cookie(practice)
    unredeemed = await make_call_link(practice)
    headers = cookie_headers(practice, cookie)
    call = await practice.client.ws_connect(CALL, headers=headers)
    events = await practice.client.ws_connect(EVENTS, headers=headers)
    try:
        await next_frame(call, "status")
        await next_frame(events, "events.ready")
        assert (await practice.client.get("/api/v1/clients", headers=headers)).status == 200
        status, made = await practice.call("POST", "/api/v1/staff/lee@example.org/token")
        assert status == 200
        assert await close_frame(call) == SIGNED_OUT
        assert await close_frame(events) == SIGNED_OUT
        refused = await practice.client.get("/api/v1/clients", headers=headers)
        assert refused.status == 401
        assert (await redeem_call(practice, unredeemed)).status == 404
        for path in (CALL, EVENTS):
            with pytest.raises(WSServerHandshakeError) as again:
                await practice.client.ws_connect(path, headers=headers)
            assert again.value.status == 401
        # The new token signs a page in as before.
        practice.tokens["clinician"] = made["token"]
        fresh = cookie_headers(practice, await staff_cookie(practice))
        assert (await practice.client.get("/api/v1/me", headers=fresh)).status == 200
    finally:
        await call.close()
        await events.close()


async def test_a_role_change_ends_the_page_sessions_of_the_old_role(practice: Practice) -> None:
    cookie = await staff_cookie(practice)
    headers = cookie_headers(practice, cookie)
    events = await practice.client.ws_connect(EVENTS, headers=headers)
    try:
        await next_frame(events, "events.ready")
        status, _ = await practice.call(
            "PATCH", "/api/v1/staff/lee@example.org", json={"role": "admin"}
        )
        assert status == 200
        assert await close_frame(events) == SIGNED_OUT
        assert (await practice.client.get("/api/v1/me", headers=headers)).status == 401
    finally:
        await events.close()


async def test_renaming_keeps_the_page_signed_in(practice: Practice) -> None:
    headers = cookie_headers(practice, await staff_cookie(practice))
    status, _ = await practice.call(
        "PATCH", "/api/v1/staff/lee@example.org", json={"name": "Dr Lee"}
    )
    assert status == 200
    assert (await practice.client.get("/api/v1/me", headers=headers)).status == 200
