"""The staff event websocket: authenticated at upgrade, Origin checked, pushes changes."""

from __future__ import annotations

import asyncio
import json

import aiohttp

from .conftest import Practice


async def _next_event(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, object]:
    async with asyncio.timeout(5):
        while True:
            msg = await ws.receive()
            assert msg.type == aiohttp.WSMsgType.TEXT, msg
            event = json.loads(msg.data)
            if event["type"] == kind:
                return event


async def test_changes_are_pushed_with_ids_only(practice: Practice) -> None:
    async with practice.client.ws_connect(
        "/api/v1/events", headers=practice.auth("scheduler")
    ) as ws:
        await _next_event(ws, "events.ready")
        status, client = await practice.call(
            "POST", "/api/v1/clients", json={"name": "Jordan Rivera", "email": "j@example.org"}
        )
        assert status == 201
        event = await _next_event(ws, "client.created")
        assert event["data"] == {"id": client["id"]}
        assert "Jordan" not in json.dumps(event)
        status, made = await practice.call(
            "POST",
            "/api/v1/appointments",
            json={
                "client_ids": [client["id"]],
                "clinicians": ["lee@example.org"],
                "start": "2030-01-07T09:00",
                "duration_min": 50,
                "modality": "telehealth",
            },
        )
        assert status == 201, made
        appt_id = made["items"][0]["id"]
        created = await _next_event(ws, "appointment.created")
        assert created["data"]["id"] == appt_id
        status, _ = await practice.call(
            "POST", f"/api/v1/appointments/{appt_id}/status", json={"status": "confirmed"}
        )
        assert status == 200
        changed = await _next_event(ws, "appointment.status")
        assert changed["data"]["status"] == "confirmed"


async def test_upgrade_needs_a_token(practice: Practice) -> None:
    response = await practice.client.get(
        "/api/v1/events",
        headers={
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
    )
    assert response.status == 401


async def test_foreign_origin_is_refused(practice: Practice) -> None:
    headers = {**practice.auth(), "Origin": "https://evil.example"}
    response = await practice.client.get(
        "/api/v1/events",
        headers={
            **headers,
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
    )
    assert response.status == 403
    assert (await response.json())["error"]["code"] == "forbidden"


async def test_oversized_message_closes_only_that_socket(practice: Practice) -> None:
    async with (
        practice.client.ws_connect("/api/v1/events", headers=practice.auth()) as big,
        practice.client.ws_connect("/api/v1/events", headers=practice.auth()) as other,
    ):
        await _next_event(big, "events.ready")
        await _next_event(other, "events.ready")
        await big.send_str("x" * (128 * 1024))
        async with asyncio.timeout(5):
            msg = await big.receive()
        assert msg.type in (
            aiohttp.WSMsgType.CLOSE,
            aiohttp.WSMsgType.CLOSED,
            aiohttp.WSMsgType.CLOSING,
        )
        status, _ = await practice.call("POST", "/api/v1/clients", json={"name": "Still Here"})
        assert status == 201
        await _next_event(other, "client.created")


async def test_a_second_dashboard_supersedes_the_first(practice: Practice) -> None:
    url = "/api/v1/events?dashboard=1"
    first = await practice.client.ws_connect(url, headers=practice.auth("clinician"))
    await _next_event(first, "events.ready")
    # Another user's dashboard and a plain event stream of the same user are left alone.
    other = await practice.client.ws_connect(url, headers=practice.auth("admin"))
    await _next_event(other, "events.ready")
    plain = await practice.client.ws_connect("/api/v1/events", headers=practice.auth("clinician"))
    await _next_event(plain, "events.ready")
    second = await practice.client.ws_connect(url, headers=practice.auth("clinician"))
    await _next_event(second, "events.ready")
    await _next_event(first, "dashboard.superseded")
    async with asyncio.timeout(5):
        closing = await first.receive()
    assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert first.closed or closing.extra == "superseded"
    status, _ = await practice.call(
        "PATCH", "/api/v1/practice", json={"timezone": "America/Chicago"}
    )
    assert status == 200
    for ws in (second, other, plain):
        await _next_event(ws, "practice.updated")
        await ws.close()
