"""Bodies and frames decoded at the edge into the ``tlh.api`` structs: a body that does
not fit answers one line naming the field (never its value) and stores nothing; a frame
that does not fit closes its socket with the reason it always had."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .call_helpers import close_frame, cookie_headers, staff_cookie
from .conftest import Practice
from .rooms_helpers import Peer, connect, events, guest, guest_cookie

SECRET = "Jordan Secret"  # a client's name: must never come back in an error


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "message"),
    [
        ("POST", "/api/v1/clients", {"name": SECRET, "email": 12345}, 422,
         "email must be a string or null"),
        ("POST", "/api/v1/clients", {"name": SECRET, "reminders": [SECRET]}, 422,
         "reminders[0] must be one of email, sms"),
        ("POST", "/api/v1/clients", {"dob": "1990-04-12"}, 422, "name is required"),
        ("POST", "/api/v1/clients", {"name": SECRET, "shoe_size": SECRET}, 422,
         "unknown field 'shoe_size' (expected one of: clinicians, dob, email, external_id, "
         "language, name, phone, reminders)"),
        ("POST", "/api/v1/staff", {"email": "x@example.org", "name": "X", "role": SECRET}, 422,
         "role must be one of admin, scheduler, clinician"),
        ("PATCH", "/api/v1/practice", {"window_opens_before_min": "ten"}, 422,
         "window_opens_before_min must be a whole number"),
        ("POST", "/api/v1/appointments",
         {"clinicians": ["lee@example.org"], "start": "2031-01-01T10:00", "duration_min": [50]},
         422, "duration_min must be a whole number or a string"),
        ("POST", "/api/v1/rooms/entries/ent_x/transfer", {"to": ""}, 422, "to must not be empty"),
        ("PATCH", "/api/v1/me", {"name": 5}, 400, "name must be a string"),
        ("POST", "/api/v1/clients", [SECRET], 400, "the request body must be a JSON object"),
    ],
)  # fmt: skip
async def test_a_body_that_does_not_fit_names_the_field_and_stores_nothing(
    practice: Practice, method: str, path: str, body: Any, status: int, message: str
) -> None:
    got, answer = await practice.call(method, path, json=body)
    assert (got, answer["error"]["message"]) == (status, message)
    assert answer["error"]["code"] == ("invalid" if status == 422 else "bad_request")
    assert "jordan" not in json.dumps(answer).lower()
    _, listed = await practice.call("GET", "/api/v1/clients")
    assert listed["items"] == []


@pytest.mark.parametrize(
    ("frames", "reason"),
    [
        (['{"type": "teleport"}'], "unknown message type"),
        (['{"device_id": "dev_1"}'], "unknown message type"),
        (["[1, 2]"], "unknown message type"),
        (['{"type": "join", "session_id": "ses_x"}'], "unknown message type"),
        (['{"type": "hello"}'], "hello needs a device_id"),
        (['{"type": "hello", "device_id": ""}'], "hello needs a device_id"),
        (['{"type": "signal", "to": "ent_x"}'], "signal needs to and data"),
        (['{"type": "signal", "to": "", "data": {}}'], "signal needs to and data"),
        (['{"type": "signal", "to": "ent_x", "data": "v=0"}'], "signal needs to and data"),
        (['{"type": "signal", "to": "ent_x", "data": [{}]}'], "signal needs to and data"),
        (['{"type": "signal", "to": "ent_x", "data": null}'], "signal needs to and data"),
        (['{"type": "device_check", "camera": "ok"}'], "say hello first"),
        (['{"type": "hello", "device_id": "dev_1"}', '{"type": "device_check", "camera": "x"}'],
         "invalid message"),
        (['{"type": "hello", "device_id": "dev_1"}', '{"type": "media", "state": "dancing"}'],
         "invalid message"),
    ],
)  # fmt: skip
async def test_a_frame_that_does_not_fit_closes_with_its_reason(
    practice: Practice, frames: list[str], reason: str
) -> None:
    peer = await connect(practice, await guest_cookie(practice))
    for frame in frames:
        await peer.ws.send_str(frame)
    assert await close_frame(peer.ws) == (1008, reason)


async def test_frames_that_fit_are_acted_on(practice: Practice) -> None:
    peer, status = await guest(practice, display_name="  Sam \x07Guest ")
    assert status["state"] == "waiting"
    room = await events(practice)
    await peer.send({"type": "device_check", "camera": "ok", "microphone": "denied", "more": 1})
    await room.next("room.updated", entry_id=status["entry_id"])
    _, rooms = await practice.call("GET", "/api/v1/rooms")
    [entry] = [e for room in rooms["items"] for e in room["entries"]]
    assert entry["label"] == "Sam Guest"
    assert (entry["device_check"]["camera"], entry["device_check"]["speaker"]) == ("ok", "skipped")
    await peer.send({"type": "leave"})
    assert (await peer.next("status"))["state"] == "left"


async def test_the_staff_socket_ignores_hello_and_media_and_refuses_a_bare_join(
    practice: Practice,
) -> None:
    cookie = await staff_cookie(practice)
    async with practice.client.ws_connect(
        "/api/v1/call/ws", headers=cookie_headers(practice, cookie)
    ) as ws:
        assert json.loads((await ws.receive()).data) == {"type": "status", "state": "no_session"}
        await ws.send_str('{"type": "hello", "anything": 1}')
        await ws.send_str('{"type": "media", "state": "whatever"}')
        await ws.send_str('{"type": "leave"}')
        # Answered, so the two before it were taken and ignored.
        assert json.loads((await ws.receive()).data) == {"type": "status", "state": "no_session"}
        await ws.send_str('{"type": "join"}')
        assert await close_frame(ws) == (1008, "join needs session_id")


async def test_a_peer_helper_is_still_open_after_a_good_frame(practice: Practice) -> None:
    """The ``Peer`` helper and the frame structs agree on a waiting page's status."""
    peer, status = await guest(practice)
    assert isinstance(peer, Peer)
    assert set(status) >= {"type", "state", "entry_id", "clinician_name", "presence"}
    assert status["position"] == 1
