"""The client's location at session start (issue 13, item 7; policy ``ask_location``):
the waiting room's hello is refused until it is given, the form is filled from last time,
it reaches staff (rooms, the segment, the sessions report) and the audit log, and never a
client's or a guest's page, a log line or an error message."""

from __future__ import annotations

import csv
import io
import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.seeding import seed
from tlh.domain.links import Channel, LinkPurpose, ParticipantKind
from tlh.server.keys import STORE
from tlh.services.links import make_link
from tlh.store.base import Put

from .call_helpers import eligible_appointment, next_frame
from .conftest import Practice
from .outreach_helpers import add_appointment, add_client, origin
from .rooms_helpers import (
    Events,
    Peer,
    admit,
    appointment_link,
    connect,
    guest,
    guest_cookie,
    redeemed,
    room_entries,
)

PLACE = "12 Harbour Lane, Portland, ME"
PHONE_TYPED = "(207) 555-0143"
PHONE = "+12075550143"
LOCATION_CLOSED = 4428


async def ask_location(practice: Practice, value: str = "telehealth") -> None:
    code, answer = await practice.call("PATCH", "/api/v1/practice", json={"ask_location": value})
    assert code == 200, answer
    assert answer["ask_location"] == value


async def opened(practice: Practice, appointment_id: str) -> str:
    """The appointment's client opens a new join link: the link cookie."""
    return await redeemed(practice, (await appointment_link(practice, appointment_id))["url"])


def _headers(practice: Practice, cookie: str) -> dict[str, str]:
    return {"Origin": origin(practice), "Cookie": f"__Host-tlh_link={cookie}"}


async def link_get(practice: Practice, cookie: str, path: str) -> tuple[int, Any]:
    response = await practice.client.get(path, headers=_headers(practice, cookie))
    return response.status, await response.json()


async def give(practice: Practice, cookie: str, place: str, phone: str) -> tuple[int, Any]:
    response = await practice.client.post(
        "/api/v1/link/location",
        json={"place": place, "phone": phone},
        headers=_headers(practice, cookie),
    )
    return response.status, (await response.json() if response.status != 204 else None)


async def refused_hello(practice: Practice, cookie: str) -> Peer:
    peer = await connect(practice, cookie)
    await peer.send({"type": "hello", "device_id": "dev_1"})
    assert await peer.closed() == LOCATION_CLOSED
    assert peer.ws.close_code == LOCATION_CLOSED
    return peer


async def test_the_policy_is_off_by_default_and_takes_only_its_values(
    practice: Practice,
) -> None:
    _, policy = await practice.call("GET", "/api/v1/practice")
    assert policy["ask_location"] == "off"
    code, err = await practice.call("PATCH", "/api/v1/practice", json={"ask_location": "always"})
    assert code == 422, err
    await ask_location(practice)


async def test_hello_is_refused_until_the_location_is_given_then_staff_see_it(
    practice: Practice,
) -> None:
    await ask_location(practice)
    appointment_id = await eligible_appointment(practice)
    cookie = await opened(practice, appointment_id)
    _, state = await link_get(practice, cookie, "/api/v1/link/state")
    assert state["ask_location"] is True

    refused = await refused_hello(practice, cookie)
    assert refused.seen == []  # nothing said before the refusal
    assert await room_entries(practice) == []

    assert await give(practice, cookie, f"  {PLACE} ", PHONE_TYPED) == (204, None)
    _, state = await link_get(practice, cookie, "/api/v1/link/state")
    assert "ask_location" not in state  # given: the page goes on
    peer = await connect(practice, cookie)
    status = await peer.hello()
    assert status["state"] == "waiting"
    [entry] = await room_entries(practice)
    assert entry["location"]["place"] == PLACE
    assert entry["location"]["phone"] == PHONE
    await peer.ws.close()


async def test_the_form_is_filled_from_last_time_and_asked_again_each_visit(
    practice: Practice,
) -> None:
    await ask_location(practice)
    client_id = await add_client(practice)
    first = await add_appointment(practice, client_id)
    cookie = await opened(practice, first["id"])
    assert await link_get(practice, cookie, "/api/v1/link/location") == (
        200,
        {"required": True, "place": "", "phone": ""},
    )
    assert (await give(practice, cookie, PLACE, PHONE_TYPED))[0] == 204
    assert await link_get(practice, cookie, "/api/v1/link/location") == (
        200,
        {"required": False, "place": PLACE, "phone": PHONE},
    )

    second = await add_appointment(practice, client_id, datetime.now(UTC) + timedelta(days=9))
    later = await opened(practice, second["id"])
    # Another visit: asked again, with last time's answer ready to confirm.
    assert await link_get(practice, later, "/api/v1/link/location") == (
        200,
        {"required": True, "place": PLACE, "phone": PHONE},
    )
    await refused_hello(practice, later)

    _, log = await practice.call("GET", "/api/v1/audit")
    gave = [e for e in log["items"] if e["action"] == "location.give"]
    assert {e["target"] for e in gave} == {client_id, first["id"]}
    assert all(e["actor"]["kind"] == "client_link" for e in gave)
    read = [e for e in log["items"] if e["action"] == "location.read"]
    assert read
    assert {e["target"] for e in read} == {client_id}


@pytest.mark.parametrize(
    ("place", "phone", "says"),
    [
        ("", PHONE_TYPED, "please say where you are"),
        ("   ", PHONE_TYPED, "please say where you are"),
        ("12 Harbour Lane\nPortland", PHONE_TYPED, "one line"),
        ("x" * 201, PHONE_TYPED, "at most 200 characters"),
        (PLACE, "555-01", "invalid phone number"),
        (PLACE, "call me maybe", "invalid phone number"),
        (PLACE, "9" * 41, "invalid phone number"),
    ],
)
async def test_bad_input_is_one_clear_line_that_never_echoes_it(
    practice: Practice, place: str, phone: str, says: str
) -> None:
    await ask_location(practice)
    client_id = await add_client(practice)
    cookie = await opened(practice, (await add_appointment(practice, client_id))["id"])
    assert (await give(practice, cookie, "Old Town, ME", PHONE_TYPED))[0] == 204
    code, err = await give(practice, cookie, place, phone)
    assert code == 422, err
    message = err["error"]["message"]
    assert says in message
    assert "\n" not in message
    for given in (place.strip(), phone):
        if given:
            assert given not in message
    # Nothing stored is lost: last time's answer stands.
    _, shown = await link_get(practice, cookie, "/api/v1/link/location")
    assert (shown["place"], shown["phone"]) == ("Old Town, ME", PHONE)


async def test_no_one_is_asked_when_the_policy_is_off_nor_a_guest_when_it_is_on(
    practice: Practice,
) -> None:
    appointment_id = await eligible_appointment(practice)
    cookie = await opened(practice, appointment_id)
    code, err = await give(practice, cookie, PLACE, PHONE_TYPED)
    assert code == 403, err
    peer = await connect(practice, cookie)
    assert (await peer.hello())["state"] == "waiting"
    await peer.ws.close()

    await ask_location(practice)
    guest_peer, status = await guest(practice)
    assert status["state"] == "waiting"  # guests are not asked
    await guest_peer.ws.close()


async def test_the_location_goes_to_staff_and_the_report_but_never_to_a_page(
    practice: Practice, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await ask_location(practice)
    appointment_id = await eligible_appointment(practice)
    cookie = await opened(practice, appointment_id)
    code, err = await give(practice, cookie, PLACE, PHONE_TYPED[:-3])  # a typo first
    assert code == 422, err
    assert (await give(practice, cookie, PLACE, PHONE_TYPED))[0] == 204
    client = await connect(practice, cookie)
    status = await client.hello()
    code, _ = await admit(practice, status["entry_id"])
    assert code == 200
    visit = (await client.next("admitted"))["session_id"]
    lee = await practice.client.ws_connect(
        f"/api/v1/call/ws?session={visit}", headers=practice.auth("clinician")
    )
    await next_frame(lee, "admitted")
    # A guest (an interpreter) let into the same call.
    guest_link_cookie = await guest_cookie(practice)
    other = await connect(practice, guest_link_cookie)
    guest_status = await other.hello()
    code, _ = await admit(practice, guest_status["entry_id"])
    assert code == 200
    assert (await other.next("admitted"))["session_id"] == visit
    await client.next("peer.joined", peer_id=guest_status["entry_id"])

    _, sessions = await practice.call("GET", "/api/v1/sessions", role="clinician")
    [segment] = [s for s in sessions["items"] if s["appointment_id"] == appointment_id]
    [mine] = [p for p in segment["participants"] if p["kind"] == "client"]
    assert (mine["location"]["place"], mine["location"]["phone"]) == (PLACE, PHONE)
    code, _ = await practice.call("POST", f"/api/v1/sessions/{segment['id']}/end", role="clinician")
    assert code == 200
    await client.next("status", state="ended")
    await other.next("status", state="ended")

    # Neither page heard it, not even the client's own; nor the guest's link state.
    for peer in (client, other):
        said = repr(peer.seen)
        assert PLACE not in said
        assert PHONE not in said
    _, guest_state = await link_get(practice, guest_link_cookie, "/api/v1/link/state")
    assert PLACE not in repr(guest_state)

    # The report's days are the practice's: at 01:00 UTC it is still yesterday in New York.
    _, policy = await practice.call("GET", "/api/v1/practice")
    started = datetime.fromisoformat(segment["started_at"])
    day = started.astimezone(ZoneInfo(policy["timezone"])).date().isoformat()
    query = f"from={day}&to={day}"
    _, report = await practice.call("GET", f"/api/v1/reports/sessions?{query}")
    [row] = [r for r in report["items"] if r["session_id"] == segment["id"]]
    [where] = row["locations"]
    assert (where["kind"], where["place"], where["phone"]) == ("client", PLACE, PHONE)
    response = await practice.client.get(
        f"/api/v1/reports/sessions?{query}&format=csv", headers=practice.auth()
    )
    rows = list(csv.DictReader(io.StringIO(await response.text())))
    [line] = [r for r in rows if r["session_id"] == segment["id"]]
    assert line["locations"] == f"{PLACE} · {PHONE}"

    # Every log line of the visit (the access log included) went by without it.
    logged = caplog.text + repr([r.args for r in caplog.records])
    assert "/api/v1/link/location" in caplog.text  # the access log was captured
    for secret in (PLACE, PHONE, PHONE_TYPED, "5550143", "555-0143", "Harbour"):
        assert secret not in logged, secret
    await client.ws.close()
    await other.ws.close()
    await lee.close()


async def test_someone_already_waiting_keeps_their_place_when_the_practice_starts_asking(
    practice: Practice,
) -> None:
    appointment_id = await eligible_appointment(practice)
    cookie = await opened(practice, appointment_id)
    first = await connect(practice, cookie)
    status = await first.hello()
    await ask_location(practice)
    await first.ws.close()  # a network blip
    back = await connect(practice, cookie)
    again = await back.hello()
    assert (again["state"], again["entry_id"]) == ("waiting", status["entry_id"])
    await back.ws.close()


async def test_the_shared_queue_keeps_where_someone_is_from_clinicians_not_theirs(
    practice: Practice,
) -> None:
    """Every clinician sees the practice's shared queue (by first name): where a client
    who is not theirs waits from is not theirs to see, in the listing or its events."""
    await ask_location(practice)
    client_id = await add_client(practice)  # not Lee's
    now = datetime.now(UTC)
    made = make_link(
        purpose=LinkPurpose.JOIN,
        participant=ParticipantKind.CLIENT,
        channel=Channel.COPY,
        created_by=practice.ids["admin"],
        now=now,
        valid=(now - timedelta(hours=1), now + timedelta(hours=1)),
        client_id=client_id,
    )
    await seed(practice.client.app[STORE], [Put(made.link)])
    cookie = await redeemed(practice, f"/j#{made.token}")
    assert (await give(practice, cookie, PLACE, PHONE_TYPED))[0] == 204
    lee_ws = await practice.client.ws_connect("/api/v1/events", headers=practice.auth("clinician"))
    assert (await lee_ws.receive_json(timeout=5))["type"] == "events.ready"
    peer = await connect(practice, cookie)
    assert (await peer.hello())["state"] == "waiting"
    joined = await Events(lee_ws).next("room.joined")
    assert joined["entry"]["client_id"] == client_id
    assert joined["entry"]["location"] is None

    _, lee_sees = await practice.call("GET", "/api/v1/rooms", role="clinician")
    [queued] = lee_sees["queue"]
    assert queued["location"] is None
    _, desk_sees = await practice.call("GET", "/api/v1/rooms", role="scheduler")
    [queued] = desk_sees["queue"]
    assert queued["location"]["place"] == PLACE
    await peer.ws.close()
    await lee_ws.close()
