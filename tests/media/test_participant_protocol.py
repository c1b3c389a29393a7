"""The participant's side of the protocol (docs/API.md, "Websockets") against a small
stand-in server: the redeemed cookie is carried by hand, hello, waiting, admission,
offers to listed peers, answers to newcomers, reload of a peer, ``ended``.

The real room server is exercised in test_participant.py; this one pins down the
client's behaviour on its own and runs even while that server is being written.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

from tlh.errors import TlhError, Unauthenticated
from tlh.media.joining import LINK_COOKIE
from tlh.media.participant import Participant


class StandIn:
    """Redeem + participant socket + signal relay, admitting on the test's word."""

    def __init__(self) -> None:
        self.sockets: dict[str, web.WebSocketResponse] = {}
        self.admitted: list[str] = []
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.app = web.Application()
        self.app.router.add_post("/api/v1/link/redeem", self.redeem)
        self.app.router.add_get("/api/v1/link/ws", self.socket)

    async def redeem(self, request: web.Request) -> web.Response:
        if request.headers.get("Origin") != f"http://{request.host}":
            return web.json_response(
                {"error": {"code": "forbidden", "message": "origin"}}, status=403
            )
        token = (await request.json())["token"]
        if token == "bad":
            invalid = {"code": "invalid_link", "message": "This link is not valid."}
            return web.json_response({"error": invalid}, status=404)
        if token == "stale":  # a cookie the socket will not accept
            token = "-stale"
        response = web.json_response({"purpose": "join", "state": "ok", "next": "waiting"})
        response.set_cookie(
            LINK_COOKIE, f"s-{token}", secure=True, httponly=True, samesite="Strict"
        )
        return response

    async def socket(self, request: web.Request) -> web.WebSocketResponse:
        cookie = request.cookies.get(LINK_COOKIE, "")
        if (
            not cookie.startswith("s-")
            or "stale" in cookie
            or request.headers.get("Origin") != f"http://{request.host}"
        ):
            raise web.HTTPUnauthorized()
        entry = "ent_" + cookie[2:]
        ws = web.WebSocketResponse(compress=False)
        await ws.prepare(request)
        self.sockets[entry] = ws
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                break
            frame = msg.json()
            self.received.append((entry, frame))
            if frame["type"] == "hello":
                await ws.send_json(
                    {"type": "status", "state": "waiting", "entry_id": entry, "position": 1}
                )
            elif frame["type"] == "signal" and entry in self.admitted:
                target = self.sockets[frame["to"]]
                await target.send_json({"type": "signal", "from": entry, "data": frame["data"]})
        return ws

    async def admit(self, entry: str) -> None:
        if entry in self.admitted:  # a reload: the same peer id comes back
            self.admitted.remove(entry)
        peers = [{"peer_id": p, "label": "", "kind": "client"} for p in self.admitted]
        for other in self.admitted:
            await self.sockets[other].send_json(
                {"type": "peer.joined", "peer_id": entry, "label": "", "kind": "client"}
            )
        self.admitted.append(entry)
        await self.sockets[entry].send_json(
            {
                "type": "admitted",
                "peer_id": entry,
                "session_id": "ses_1",
                "peers": peers,
                "ice_servers": [],
            }
        )

    async def end(self) -> None:
        for entry in self.admitted:
            await self.sockets[entry].send_json({"type": "ended"})


@pytest.fixture
async def stand_in() -> AsyncIterator[tuple[StandIn, str]]:
    server = StandIn()
    test_server = TestServer(server.app, host="127.0.0.1")
    await test_server.start_server()
    try:
        yield server, str(test_server.make_url("/")).rstrip("/")
    finally:
        await test_server.close()


async def test_join_wait_admit_connect_reload_and_end(stand_in: tuple[StandIn, str]) -> None:
    server, url = stand_in
    seen: list[str] = []
    a = Participant(url, link_token="a", observer=lambda state, _: seen.append(state))
    b = Participant(url, link_token="b")
    try:
        for p in (a, b):
            await p.start()
            await p.wait_state("waiting", within=5)
        assert ("ent_a", {"type": "hello", "device_id": a.device_id}) in server.received
        await server.admit("ent_a")
        await a.wait_state("admitted", within=5)
        await server.admit("ent_b")  # the newcomer offers; the first answers
        await a.wait_frames(2, within=10)
        await b.wait_frames(2, within=10)
        assert a.peers["ent_b"].state == "connected"
        assert ("ent_a", {"type": "media", "state": "connected"}) in server.received

        # b reloads: a new page, the same peer id; a drops the old leg and answers anew.
        old_leg = a.peers["ent_b"]
        await b.close()
        b = Participant(url, link_token="b")
        await b.start()
        await b.wait_state("waiting", within=5)
        await server.admit("ent_b")
        await b.wait_connected(1, within=10)
        await a.wait_connected(1, within=10)
        assert a.peers["ent_b"] is not old_leg
        assert old_leg.state == "closed"

        await server.end()
        await a.wait_state("ended", within=5)
        assert a.peers == {}
        assert seen[:3] == ["redeemed", "connected_ws", "waiting"]
    finally:
        await a.close()
        await b.close()


@pytest.mark.parametrize(
    ("token", "error", "message"),
    [
        ("bad", TlhError, "This link is not valid"),
        ("stale", Unauthenticated, "refused the call socket"),
    ],
)
async def test_refusals_are_one_line_errors_without_the_token(
    stand_in: tuple[StandIn, str], token: str, error: type[TlhError], message: str
) -> None:
    _, url = stand_in
    p = Participant(url, link_token=token)
    try:
        with pytest.raises(error, match=message) as raised:
            await p.start()
        assert token not in raised.value.message
    finally:
        await p.close()
    assert p.state == "closed"
