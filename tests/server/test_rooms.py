"""The rooms REST API against live participant sockets."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from .call_helpers import eligible_appointment, next_frame
from .conftest import Practice
from .outreach_helpers import add_appointment, add_client, add_clinician
from .rooms_helpers import (
    act,
    admit,
    appointment_link,
    arrive,
    connect,
    events,
    guest,
    guest_cookie,
    room_entries,
    start_room_session,
)


async def test_deny_with_a_message(practice: Practice) -> None:
    stream = await events(practice)
    peer, status = await guest(practice)
    entry_id = status["entry_id"]
    await stream.next("room.joined", entry_id=entry_id)
    code, view = await act(practice, "deny", entry_id, message="Please book a visit")
    assert code == 200, view
    assert view["state"] == "denied"
    final = await peer.next("status")
    # The words ride in the last status, which the page keeps on screen.
    assert (final["state"], final["message"]) == ("denied", "Please book a visit")
    assert (await stream.next("room.denied", entry_id=entry_id))["by"] == practice.ids["clinician"]
    assert await room_entries(practice) == []


async def test_leave_while_waiting(practice: Practice) -> None:
    stream = await events(practice)
    peer, status = await guest(practice)
    await peer.send({"type": "leave"})
    await stream.next("room.left", entry_id=status["entry_id"])
    assert await room_entries(practice) == []


async def test_reconnect_within_grace_keeps_the_place(practice: Practice) -> None:
    stream = await events(practice)
    _first, _ = await guest(practice, "dev_first")
    cookie = await guest_cookie(practice)
    peer = await connect(practice, cookie)
    status = await peer.hello("dev_1")
    assert status["position"] == 2
    await peer.ws.close()
    await stream.next("room.updated", entry_id=status["entry_id"], online=False)
    again = await connect(practice, cookie)
    resumed = await again.hello("dev_1")
    assert resumed["entry_id"] == status["entry_id"]
    assert resumed["position"] == 2
    await stream.next("room.reconnected", entry_id=status["entry_id"])
    entries = await room_entries(practice)
    assert [e["id"] for e in entries].count(status["entry_id"]) == 1
    assert len(entries) == 2


async def test_second_device_is_flagged_and_needs_approval(practice: Practice) -> None:
    cookie = await guest_cookie(practice)
    one = await connect(practice, cookie)
    s1 = await one.hello("phone")
    two = await connect(practice, cookie)
    s2 = await two.hello("laptop")
    assert s2["entry_id"] != s1["entry_id"]
    assert s2["second_device"] is True
    code, err = await admit(practice, s2["entry_id"])
    assert code == 409
    assert err["error"]["code"] == "second_device"
    code, view = await admit(practice, s2["entry_id"], approve_second_device=True)
    assert code == 200, view
    assert view["state"] == "admitted"
    assert (await two.next("admitted"))["peer_id"] == s2["entry_id"]


async def test_a_second_device_takes_the_place_of_the_first_once_it_is_gone(
    practice: Practice,
) -> None:
    """Phone first, then the laptop (needs approval while the phone is there); the
    phone's connection goes: the laptop simply takes its place, no approval needed."""
    stream = await events(practice)
    other, _ = await guest(practice, "someone-else")  # a later arrival in the same room
    cookie = await guest_cookie(practice)
    phone = await connect(practice, cookie)
    s1 = await phone.hello("phone")
    laptop = await connect(practice, cookie)
    s2 = await laptop.hello("laptop")
    assert s2["second_device"] is True
    await phone.ws.close()
    now = await laptop.next("status")
    assert now["entry_id"] == s2["entry_id"]
    assert now["second_device"] is False
    assert now["position"] == 2  # the phone's place, behind the earlier arrival
    assert (await stream.next("room.left", entry_id=s1["entry_id"]))["reason"] == "replaced"
    ids = [e["id"] for e in await room_entries(practice)]
    assert s1["entry_id"] not in ids
    code, view = await admit(practice, s2["entry_id"])  # no approval needed
    assert code == 200, view
    await other.ws.close()


async def test_a_device_opened_while_the_first_is_offline_carries_on_in_its_place(
    practice: Practice,
) -> None:
    cookie = await guest_cookie(practice)
    phone = await connect(practice, cookie)
    s1 = await phone.hello("phone")
    await phone.ws.close()
    async with asyncio.timeout(5):
        while any(e["online"] for e in await room_entries(practice)):
            await asyncio.sleep(0.01)  # the server notices the closed socket
    laptop = await connect(practice, cookie)
    s2 = await laptop.hello("laptop")
    assert s2["entry_id"] == s1["entry_id"]
    assert s2["second_device"] is False
    [entry] = await room_entries(practice)
    assert (entry["device_id"], entry["online"]) == ("laptop", True)


async def test_two_admits_at_once_one_wins_and_the_other_names_who(practice: Practice) -> None:
    _, status = await guest(practice)
    entry_id = status["entry_id"]
    await start_room_session(practice)
    results = await asyncio.gather(
        admit(practice, entry_id, role="clinician"), admit(practice, entry_id, role="admin")
    )
    codes = sorted(code for code, _ in results)
    assert codes == [200, 409]
    [(_, err)] = [r for r in results if r[0] == 409]
    assert err["error"]["code"] == "already_admitted"
    winner = next(r for r in results if r[0] == 200)[1]["admitted_by"]
    _, staff = await practice.call("GET", f"/api/v1/staff/{winner}")
    assert err["error"]["message"] == f"already admitted by {staff['name']}"


async def test_admit_all_racing_an_admit_lets_each_person_in_once(practice: Practice) -> None:
    """Admit all admits one person after another, each after awaits (the session, the
    socket); an admit of the second person meanwhile must not be undone or repeated."""
    _, first = await guest(practice, "dev_a")
    _, second = await guest(practice, "dev_b")
    await start_room_session(practice)
    all_in, one = await asyncio.gather(
        practice.call("POST", "/api/v1/rooms/admit-all", role="clinician", json={}),
        admit(practice, second["entry_id"], role="admin"),
    )
    assert all_in[0] == 200, all_in
    by_all = {e["id"] for e in all_in[1]["admitted"]}
    assert first["entry_id"] in by_all
    admitted_alone = one[0] == 200
    # The second person was let in exactly once: by the admin, or by "admit all".
    assert admitted_alone != (second["entry_id"] in by_all)
    entries = {e["id"]: e for e in await room_entries(practice)}
    assert entries[second["entry_id"]]["state"] == "admitted"


async def test_send_back_puts_the_entry_first_in_line(practice: Practice) -> None:
    a, sa = await guest(practice, "dev_a")
    b, sb = await guest(practice, "dev_b")
    code, _ = await admit(practice, sa["entry_id"])
    assert code == 200
    await b.next("status", position=1)
    code, view = await act(practice, "return", sa["entry_id"])
    assert code == 200, view
    assert view["state"] == "waiting"
    assert view["position"] == 1
    assert (await a.next("status", state="waiting"))["position"] == 1
    assert (await b.next("status", position=2))["entry_id"] == sb["entry_id"]


async def test_transfer_to_another_clinician(practice: Practice) -> None:
    kim = (await add_clinician(practice))["staff"]["id"]
    peer, status = await guest(practice)
    code, view = await act(
        practice, "transfer", status["entry_id"], "scheduler", to="kim@example.org"
    )
    assert code == 200, view
    assert view["clinician_id"] == kim
    assert view["arrived_at"] == (await room_entries(practice, "admin"))[0]["arrived_at"]
    assert (await peer.next("status", clinician_name="Kim"))["position"] == 1
    # Lee no longer sees the entry in their room.
    assert await room_entries(practice) == []


async def test_clinician_cannot_act_in_another_room(practice: Practice) -> None:
    await add_clinician(practice)
    _, status = await guest(practice)
    code, err = await act(practice, "transfer", status["entry_id"], to="kim@example.org")
    assert code == 200, err
    # Another clinician's room's entry is as unknown as a missing one (ids not probed).
    code, err = await admit(practice, status["entry_id"])
    assert (code, err["error"]["message"]) == (404, f"no live room entry {status['entry_id']}")


async def test_message_one_reaches_only_that_socket(practice: Practice) -> None:
    a, sa = await guest(practice, "dev_a")
    b, _ = await guest(practice, "dev_b")
    response = await practice.client.post(
        f"/api/v1/rooms/entries/{sa['entry_id']}/message",
        headers=practice.auth("scheduler"),
        json={"text": "Two minutes"},
    )
    assert response.status == 204
    assert (await a.next("message"))["text"] == "Two minutes"
    _code, sent = await practice.call(
        "POST", "/api/v1/rooms/message", role="clinician", json={"text": "Hello all"}
    )
    assert sent == {"sent": 2}
    assert (await b.next("message"))["text"] == "Hello all"
    assert "Two minutes" not in str(b.seen)


async def test_next_admits_the_first_in_line(practice: Practice) -> None:
    code, err = await practice.call("POST", "/api/v1/rooms/next", role="clinician")
    assert code == 404
    assert err["error"]["code"] == "nobody_waiting"
    a, sa = await guest(practice, "dev_a")
    await guest(practice, "dev_b")
    code, view = await practice.call("POST", "/api/v1/rooms/next", role="clinician")
    assert code == 200, view
    assert view["id"] == sa["entry_id"]
    assert (await a.next("admitted"))["peer_id"] == sa["entry_id"]


async def test_waiting_room_off_admits_on_arrival_when_a_session_is_open(
    practice: Practice,
) -> None:
    code, _ = await practice.call(
        "PATCH", f"/api/v1/staff/{practice.ids['clinician']}", json={"waiting_room": False}
    )
    assert code == 200
    await start_room_session(practice)
    peer, _ = await guest(practice)
    admitted = await peer.next("admitted")
    assert admitted["peers"] == []


async def test_waiting_room_off_admits_when_the_session_starts(practice: Practice) -> None:
    code, _ = await practice.call(
        "PATCH", f"/api/v1/staff/{practice.ids['clinician']}", json={"waiting_room": False}
    )
    assert code == 200
    peer, status = await guest(practice)
    assert status["state"] == "waiting"
    await start_room_session(practice)
    assert (await peer.next("admitted"))["peer_id"] == status["entry_id"]


async def test_end_takes_the_call_out_and_leaves_waiting_entries(practice: Practice) -> None:
    a, sa = await guest(practice, "dev_a")
    b, sb = await guest(practice, "dev_b")
    code, _view = await admit(practice, sa["entry_id"])
    assert code == 200
    session_id = (await a.next("admitted"))["session_id"]
    code, _ = await practice.call("POST", f"/api/v1/sessions/{session_id}/end", role="clinician")
    assert code == 200
    assert (await a.next("status", state="ended"))["entry_id"] == sa["entry_id"]
    ids = [e["id"] for e in await room_entries(practice)]
    assert ids == [sb["entry_id"]]
    assert "ended" not in [f.get("state") for f in b.seen]


async def test_presence_reaches_waiting_clients_and_the_room_view(practice: Practice) -> None:
    peer, _ = await guest(practice)
    code, room = await practice.call(
        "POST", "/api/v1/rooms/presence", role="clinician", json={"presence": "late"}
    )
    assert code == 200, room
    assert room["presence"] == "late"
    assert room["waiting_room"] is True
    assert [e["position"] for e in room["entries"]] == [1]
    assert (await peer.next("status", presence="late"))["state"] == "waiting"
    code, _ = await practice.call(
        "POST", "/api/v1/rooms/presence", role="clinician", json={"presence": "asleep"}
    )
    assert code == 422


async def test_roles_and_the_audited_listing(practice: Practice) -> None:
    _, status = await guest(practice)
    code, err = await admit(practice, status["entry_id"], role="scheduler")
    assert code == 403, err
    code, rooms = await practice.call("GET", "/api/v1/rooms", role="scheduler")
    assert code == 200
    assert rooms["queue"] == []
    assert [r["clinician_id"] for r in rooms["items"]] == [practice.ids["clinician"]]
    code, audit = await practice.call("GET", "/api/v1/audit", params={"action": "room.read"})
    assert code == 200, audit
    assert any(e["action"] == "room.read" for e in audit["items"])


async def test_admit_before_the_session_can_start_leaves_the_client_waiting(
    practice: Practice,
) -> None:
    client_id = await add_client(practice)
    appt = await add_appointment(practice, client_id)  # in two days: window not open
    _, status = await arrive(practice, (await appointment_link(practice, appt["id"]))["url"])
    assert status["opens_at"]
    code, err = await admit(practice, status["entry_id"])
    assert code == 409, err
    assert err["error"]["code"] == "not_eligible"
    assert err["error"]["details"]
    [entry] = await room_entries(practice)
    assert entry["state"] == "waiting"
    assert entry["label"] == "Ana Client"
    assert entry["consent"] is not None


async def test_a_guest_let_in_during_a_visit_joins_it_but_never_walks_in_alone(
    practice: Practice,
) -> None:
    """With the waiting room off, a guest link does not open another client's visit; let
    in by the clinician, the guest (an interpreter, a family member) joins the visit the
    clinician is in, not a second, empty room session."""
    code, _ = await practice.call(
        "PATCH", f"/api/v1/staff/{practice.ids['clinician']}", json={"waiting_room": False}
    )
    assert code == 200
    appointment_id = await eligible_appointment(practice)
    code, started = await practice.call(
        "POST", "/api/v1/sessions", role="clinician", json={"appointment_id": appointment_id}
    )
    assert code == 201, started
    visit = started["session"]["id"]
    async with practice.client.ws_connect(
        f"/api/v1/call/ws?session={visit}", headers=practice.auth("clinician")
    ) as lee:
        await next_frame(lee, "admitted")
        peer, status = await guest(practice)
        assert status["state"] == "waiting"
        [entry] = await room_entries(practice)
        assert entry["state"] == "waiting"  # not auto-admitted into the visit
        code, _ = await admit(practice, status["entry_id"])
        assert code == 200
        assert (await peer.next("admitted"))["session_id"] == visit
        joined = await next_frame(lee, "peer.joined")
        assert joined["peer_id"] == status["entry_id"]


async def test_an_arrival_ahead_of_others_tells_only_those_it_moved_back(
    practice: Practice,
) -> None:
    """A guest arriving now stands before a client who came early for a visit in eight
    minutes: that client moves back and is told; the guest already first is not told
    again (a page hears of its place when it changes, not once per arrival)."""
    first, first_status = await guest(practice, "dev_first")
    client_id = await add_client(practice)
    code, made = await practice.call(
        "POST", "/api/v1/consents/verbal", json={"client_id": client_id, "note": "read aloud"}
    )
    assert code == 201, made
    soon = datetime.now(UTC) + timedelta(minutes=8)
    appt = await add_appointment(practice, client_id, start=soon)
    early, early_status = await arrive(
        practice, (await appointment_link(practice, appt["id"]))["url"]
    )
    assert (first_status["position"], early_status["position"]) == (1, 2)
    _, middle = await guest(practice, "dev_middle")
    assert middle["position"] == 2
    moved = await early.next("status")
    assert moved["position"] == 3
    # The next thing the first page hears is the next change, not its unchanged place.
    code, _ = await practice.call(
        "POST", "/api/v1/rooms/presence", role="clinician", json={"presence": "late"}
    )
    assert code == 200
    told = await first.next("status")
    assert (told["position"], told["presence"]) == (1, "late")
