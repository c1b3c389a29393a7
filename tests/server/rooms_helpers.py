"""Shared steps for the waiting-room tests: guest links, participant sockets, events."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import ClientWebSocketResponse, WSMsgType

from .conftest import Practice
from .outreach_helpers import origin, redeem, token_in

WAIT_S = 3.0


async def guest_link(practice: Practice, clinician: str = "lee@example.org") -> dict[str, Any]:
    """A new guest link into the clinician's room: the invite's answer (link, url)."""
    status, made = await practice.call(
        "POST", "/api/v1/invites/guest", json={"clinician": clinician}
    )
    assert status == 201, made
    return dict(made)


async def appointment_link(practice: Practice, appointment_id: str) -> dict[str, Any]:
    """A new join link for the appointment's client: the invite's answer (link, url)."""
    status, made = await practice.call(
        "POST", "/api/v1/invites/link", json={"appointment_id": appointment_id}
    )
    assert status == 201, made
    return dict(made)


async def redeemed(practice: Practice, url: str) -> str:
    """The link in ``url`` opened by its holder: the link cookie."""
    response = await redeem(practice, token_in(url))
    assert response.status == 200, await response.text()
    return str(response.cookies["__Host-tlh_link"].value)


async def guest_cookie(practice: Practice, clinician: str = "lee@example.org") -> str:
    """A guest link into the clinician's room, redeemed: the link cookie."""
    return await redeemed(practice, (await guest_link(practice, clinician))["url"])


class Peer:
    """A participant socket with a receive buffer; every wait has a timeout."""

    def __init__(self, ws: ClientWebSocketResponse) -> None:
        self.ws = ws
        self.seen: list[dict[str, Any]] = []

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send_str(json.dumps(frame))

    async def next(self, kind: str | None = None, **match: Any) -> dict[str, Any]:
        """The next frame of ``kind`` (and matching fields), skipping others."""

        async def find() -> dict[str, Any]:
            while True:
                msg = await self.ws.receive()
                assert msg.type == WSMsgType.TEXT, f"socket ended: {msg.type} {msg.data}"
                frame = json.loads(msg.data)
                self.seen.append(frame)
                if (kind is None or frame["type"] == kind) and all(
                    frame.get(k) == v for k, v in match.items()
                ):
                    return dict(frame)

        return await asyncio.wait_for(find(), WAIT_S)

    async def hello(self, device_id: str = "dev_1", **extra: Any) -> dict[str, Any]:
        await self.send({"type": "hello", "device_id": device_id, **extra})
        return await self.next("status")

    async def closed(self) -> int | None:
        """Wait for the server to close the socket; its close code."""

        async def drain() -> int | None:
            while True:
                msg = await self.ws.receive()
                if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING):
                    return self.ws.close_code
                if msg.type == WSMsgType.ERROR:
                    return self.ws.close_code
                self.seen.append(json.loads(msg.data))

        return await asyncio.wait_for(drain(), WAIT_S)


async def connect(practice: Practice, cookie: str | None, **headers: str) -> Peer:
    """Open the participant socket with the link cookie and this server's Origin."""
    sent = {"Origin": origin(practice), **headers}
    if cookie is not None:
        sent["Cookie"] = f"__Host-tlh_link={cookie}"
    ws = await practice.client.ws_connect("/api/v1/link/ws", headers=sent)
    return Peer(ws)


async def arrive(
    practice: Practice, url: str, device_id: str = "dev_1", **extra: Any
) -> tuple[Peer, dict[str, Any]]:
    """The holder of the link in ``url`` opens it and says hello: the socket and its
    first status."""
    peer = await connect(practice, await redeemed(practice, url))
    return peer, await peer.hello(device_id, **extra)


async def guest(
    practice: Practice, device_id: str = "dev_1", **extra: Any
) -> tuple[Peer, dict[str, Any]]:
    """A new guest waiting in Lee's room: the socket and its first status."""
    return await arrive(practice, (await guest_link(practice))["url"], device_id, **extra)


async def room_entries(practice: Practice, role: str = "clinician") -> list[dict[str, Any]]:
    """The live entries of the rooms the staff member sees (the shared queue aside)."""
    status, rooms = await practice.call("GET", "/api/v1/rooms", role=role)
    assert status == 200, rooms
    return [e for room in rooms["items"] for e in room["entries"]]


class Events:
    """The staff event stream, filtered by type with a timeout."""

    def __init__(self, ws: ClientWebSocketResponse) -> None:
        self.ws = ws

    async def next(self, kind: str, **match: Any) -> dict[str, Any]:
        async def find() -> dict[str, Any]:
            while True:
                msg = await self.ws.receive()
                assert msg.type == WSMsgType.TEXT
                event = json.loads(msg.data)
                data = event.get("data", {})
                if event["type"] == kind and all(data.get(k) == v for k, v in match.items()):
                    return dict(data)

        return await asyncio.wait_for(find(), WAIT_S)


async def events(practice: Practice) -> Events:
    ws = await practice.client.ws_connect("/api/v1/events", headers=practice.auth())
    ready = await ws.receive_json(timeout=WAIT_S)
    assert ready["type"] == "events.ready"
    return Events(ws)


async def start_room_session(practice: Practice) -> dict[str, Any]:
    """Lee opens a room session (for guests); the segment."""
    status, made = await practice.call(
        "POST", "/api/v1/sessions", role="clinician", json={"room": True}
    )
    assert status == 201, made
    return dict(made["session"])


async def act(
    practice: Practice, action: str, entry_id: str, role: str = "clinician", **body: Any
) -> Any:
    """Staff act on an entry (admit, deny, return, message, transfer): status, answer."""
    return await practice.call(
        "POST", f"/api/v1/rooms/entries/{entry_id}/{action}", role=role, json=body
    )


async def admit(practice: Practice, entry_id: str, role: str = "clinician", **body: Any) -> Any:
    return await act(practice, "admit", entry_id, role, **body)
