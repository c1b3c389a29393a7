"""Input at the edges gets a clear error, never a 500 (issue 19, item 9): years at the
ends of ``datetime`` and JSON nested deeper than the decoder's recursion limit, on
REST, in an import and on every websocket."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from tlh.domain.audience import EVERYONE
from tlh.server.keys import BUS

from .call_helpers import closed_with, next_frame
from .conftest import Practice
from .outreach_helpers import add_client
from .rooms_helpers import events, guest

#: Far past the recursion limit msgspec decodes within, small enough for any socket.
NESTED = "[" * 5000 + "]" * 5000
EDGE_STARTS = [
    "9999-12-31T23:00",
    "0001-01-01T00:30",
    "9999-12-31T23:30Z",
    "0001-01-01T00:00+05:00",
]


@pytest.fixture(autouse=True)
def quiet_log(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Whatever the test sends, the server logs no error, no traceback, no name."""
    caplog.set_level(logging.INFO)
    yield
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert "Traceback" not in caplog.text
    assert "Ana Client" not in caplog.text


async def _appointment_body(practice: Practice, start: str) -> dict[str, Any]:
    return {
        "client_ids": [await add_client(practice)],
        "clinicians": ["lee@example.org"],
        "start": start,
        "duration_min": 50,
    }


@pytest.mark.parametrize("start", EDGE_STARTS)
async def test_an_appointment_at_the_end_of_time_is_refused(practice: Practice, start: str) -> None:
    status, answer = await practice.call(
        "POST", "/api/v1/appointments", json=await _appointment_body(practice, start)
    )
    assert status == 422, answer
    assert answer["error"]["message"] == "start must be in the years 1900 to 2199"
    _, listed = await practice.call("GET", "/api/v1/appointments?from=2026-01-01&to=2027-12-31")
    assert listed["items"] == []


async def test_a_reschedule_to_year_9999_changes_nothing(practice: Practice) -> None:
    status, made = await practice.call(
        "POST", "/api/v1/appointments", json=await _appointment_body(practice, "2026-03-02T10:00")
    )
    assert status == 201, made
    before = made["items"][0]
    status, answer = await practice.call(
        "PATCH", f"/api/v1/appointments/{before['id']}", json={"start": "9999-12-31T23:30"}
    )
    assert (status, answer["error"]["code"]) == (422, "invalid")
    _, after = await practice.call("GET", f"/api/v1/appointments/{before['id']}")
    assert after == before


@pytest.mark.parametrize(
    ("method", "path", "payload", "field"),
    [
        ("GET", "/api/v1/appointments?date=9999-12-31", None, "date"),
        ("GET", "/api/v1/appointments?from=9999-12-30&to=9999-12-31", None, "from"),
        ("GET", "/api/v1/appointments?from=0001-01-01&to=0001-01-02", None, "from"),
        ("GET", "/api/v1/appointments/export?from=2026-01-01&to=9999-12-31", None, "to"),
        ("GET", "/api/v1/reports/sessions?from=9999-12-30&to=9999-12-31", None, "from"),
        ("GET", "/api/v1/reports/attendance?from=2026-01-01&to=9999-12-31", None, "to"),
        ("POST", "/api/v1/invites/day", {"date": "9999-12-31"}, "date"),
        ("GET", "/api/v1/audit?since=9999-12-31T23:59-05:00", None, "since"),
    ],
)
async def test_a_day_at_the_end_of_time_is_refused(
    practice: Practice, method: str, path: str, payload: Any, field: str
) -> None:
    status, answer = await practice.call(method, path, json=payload)
    assert status == 422, answer
    assert answer["error"]["message"] == f"{field} must be in the years 1900 to 2199"


async def test_eligibility_at_the_end_of_time_is_refused(practice: Practice) -> None:
    status, made = await practice.call(
        "POST", "/api/v1/appointments", json=await _appointment_body(practice, "2026-03-02T10:00")
    )
    assert status == 201, made
    appt_id = made["items"][0]["id"]
    status, answer = await practice.call(
        "GET", f"/api/v1/appointments/{appt_id}/eligibility?at=9999-12-31T23:00"
    )
    assert status == 422
    assert answer["error"]["message"] == "at must be in the years 1900 to 2199"


CSV = (
    "external_id,client_name,clinician_email,start,duration_min\n"
    "ok-1,Ana Client,lee@example.org,2026-03-02T10:00,50\n"
    "bad-2,Ana Client,lee@example.org,9999-12-31T23:00,50\n"
)


async def _import(practice: Practice, data: str, query: str = "", kind: str = "text/csv") -> Any:
    response = await practice.client.post(
        f"/api/v1/appointments/import{query}",
        data=data.encode(),
        headers={**practice.auth(), "Content-Type": kind},
    )
    return response.status, await response.json()


async def test_an_import_row_at_the_end_of_time_is_a_row_error(practice: Practice) -> None:
    status, answer = await _import(practice, CSV)
    assert status == 422, answer
    assert answer["error"]["details"] == [
        {"row": 3, "column": "start", "reason": "start must be in the years 1900 to 2199"}
    ]
    status, report = await _import(practice, CSV, "?partial=1")
    assert status == 200, report
    assert (report["created"], report["rejected"]) == (1, 1)
    _, listed = await practice.call("GET", "/api/v1/appointments?date=2026-03-02")
    assert [a["external_id"] for a in listed["items"]] == ["ok-1"]


async def test_a_deeply_nested_import_is_refused(practice: Practice) -> None:
    status, answer = await _import(practice, NESTED, kind="application/json")
    assert status == 422
    assert "nested too deeply" in answer["error"]["message"]


NOT_AN_OBJECT = "the request body must be a JSON object"


@pytest.mark.parametrize(
    ("path", "role", "body", "message"),
    [
        # A nested array is refused at its first bracket: the body is not an object.
        ("/api/v1/clients", "admin", NESTED, NOT_AN_OBJECT),
        ("/api/v1/appointments", "admin", NESTED, NOT_AN_OBJECT),
        ("/api/v1/rooms/message", "clinician", NESTED, NOT_AN_OBJECT),
        # Nested inside a field the request ignores, it is read to its depth limit.
        (
            "/api/v1/rooms/message",
            "clinician",
            '{"text": "x", "extra": ' + NESTED + "}",
            "the request body is nested too deeply",
        ),
    ],
)
async def test_a_deeply_nested_body_is_400(
    practice: Practice, path: str, role: str, body: str, message: str
) -> None:
    response = await practice.client.post(
        path,
        data=body.encode(),
        headers={**practice.auth(role), "Content-Type": "application/json"},
    )
    assert response.status == 400
    error = (await response.json())["error"]
    assert (error["code"], error["message"]) == ("bad_request", message)


async def test_a_deeply_nested_frame_closes_only_that_participant_socket(
    practice: Practice,
) -> None:
    bystander, _ = await guest(practice, "dev_b")
    bad, _ = await guest(practice, "dev_a")
    await bad.ws.send_str(NESTED)
    assert await bad.closed() == 1008
    assert bad.ws.close_code == 1008
    status, _ = await practice.call(
        "POST", "/api/v1/rooms/message", role="clinician", json={"text": "Running late"}
    )
    assert status == 200
    assert (await bystander.next("message"))["text"] == "Running late"


async def test_a_deeply_nested_frame_closes_the_staff_call_socket(practice: Practice) -> None:
    async with practice.client.ws_connect(
        "/api/v1/call/ws", headers=practice.auth("clinician")
    ) as ws:
        await next_frame(ws, "status")
        await ws.send_str(NESTED)
        assert await closed_with(ws) == 1008
    # The handler ended cleanly: a new socket works.
    async with practice.client.ws_connect(
        "/api/v1/call/ws", headers=practice.auth("clinician")
    ) as ws:
        assert (await next_frame(ws, "status"))["state"] == "no_session"


async def test_a_deeply_nested_frame_leaves_the_event_stream_working(practice: Practice) -> None:
    stream = await events(practice)
    await stream.ws.send_str(NESTED)
    practice.client.app[BUS].publish("room.message", {"probe": 1}, EVERYONE)
    assert await stream.next("room.message") == {"probe": 1}
    await stream.ws.close()
