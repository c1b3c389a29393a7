"""The portal's upcoming appointments and Join (issue 13): what a client and a caregiver
see, Join from the window's opening into the link's own flow, someone else's client 404."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tlh.domain.links import Channel, JoinLink
from tlh.server.keys import STORE

from .conftest import Practice
from .outreach_helpers import (
    add_appointment,
    add_client,
    add_clinician,
    delivered_token,
    redeem,
    token_in,
)
from .portal_helpers import headers, signed_in


async def _appointments(practice: Practice, cookie: str) -> list[dict[str, Any]]:
    answer = await practice.client.get(
        "/api/v1/portal/appointments", headers=headers(practice, cookie)
    )
    assert answer.status == 200, await answer.text()
    return list((await answer.json())["items"])


async def _join(practice: Practice, cookie: str, appt_id: str) -> Any:
    return await practice.client.post(
        "/api/v1/portal/join", json={"appointment_id": appt_id}, headers=headers(practice, cookie)
    )


async def _add_contact(practice: Practice, client_id: str, **fields: Any) -> dict[str, Any]:
    body = {"name": "Pat Parent", "email": "pat@example.org", **fields}
    status, made = await practice.call("POST", f"/api/v1/clients/{client_id}/contacts", json=body)
    assert status == 201, made
    return dict(made["contacts"][-1])


async def test_a_client_sees_upcoming_appointments_and_joins_one_in_its_window(
    practice: Practice,
) -> None:
    client_id = await add_client(practice)
    now = datetime.now(UTC)
    soon = await add_appointment(practice, client_id, now + timedelta(minutes=5))
    later = await add_appointment(practice, client_id, now + timedelta(days=3))
    past = await add_appointment(practice, client_id, now - timedelta(days=3))
    cookie = await signed_in(practice, "ana@example.org")
    listed = await _appointments(practice, cookie)
    assert [a["id"] for a in listed] == [soon["id"], later["id"]]
    first = listed[0]
    assert first["clinician_name"] == "Clinician"
    assert (first["modality"], first["status"]) == ("telehealth", "confirmed")
    assert first["client_id"] == client_id
    assert datetime.fromisoformat(first["join_opens_at"]) < now  # the window is open
    assert past["id"] not in {a["id"] for a in listed}

    joined = await _join(practice, cookie, soon["id"])
    assert joined.status == 201
    token = (await joined.json())["token"]
    # The token is a link of its own for this client: redeeming it is the link's flow.
    redeemed = await redeem(practice, token)
    assert redeemed.status == 200
    assert (await redeemed.json())["next"] in ("consent", "waiting")
    links = [
        link
        for link in await practice.client.app[STORE].all(JoinLink)
        if isinstance(link, JoinLink) and link.channel is Channel.PORTAL
    ]
    assert [(link.client_id, link.appointment_id) for link in links] == [(client_id, soon["id"])]
    assert token not in repr(links)

    # Before the window opens Join is refused, with why.
    early = await _join(practice, cookie, later["id"])
    assert early.status == 409
    assert "opens" in (await early.json())["error"]["message"]


async def test_every_occurrence_of_a_series_is_listed_and_joinable_in_its_window(
    practice: Practice,
) -> None:
    client_id = await add_client(practice)
    start = (datetime.now(UTC) + timedelta(minutes=5)).replace(second=0, microsecond=0)
    await add_appointment(practice, client_id, start, rrule="FREQ=DAILY;COUNT=3")
    cookie = await signed_in(practice, "ana@example.org")
    listed = await _appointments(practice, cookie)
    assert len(listed) == 3
    assert (await _join(practice, cookie, listed[0]["id"])).status == 201
    assert (await _join(practice, cookie, listed[1]["id"])).status == 409  # tomorrow


async def test_a_caregiver_sees_and_joins_for_their_client_only(practice: Practice) -> None:
    child = await add_client(practice, name="Kid Client", email="kid@example.org")
    other = await add_client(practice, name="Other Client", email="other@example.org")
    contact = await _add_contact(practice, child, portal=True)
    # A contact without portal access on another client gives nothing.
    await _add_contact(practice, other)
    now = datetime.now(UTC)
    mine = await add_appointment(practice, child, now + timedelta(minutes=5))
    await add_clinician(practice)
    theirs = await add_appointment(
        practice, other, now + timedelta(minutes=5), clinicians=["kim@example.org"]
    )
    cookie = await signed_in(practice, "pat@example.org")
    me = await practice.client.get("/api/v1/portal/me", headers=headers(practice, cookie))
    body = await me.json()
    assert body["kind"] == "contact"
    assert body["clients"] == [{"id": child, "name": "Kid Client", "relation": "contact"}]
    assert [a["id"] for a in await _appointments(practice, cookie)] == [mine["id"]]
    # Someone else's client's appointment: 404, as one that does not exist.
    refused = await _join(practice, cookie, theirs["id"])
    missing = await _join(practice, cookie, "apt_doesnotexist")
    assert (refused.status, missing.status) == (404, 404)
    assert await refused.json() == await missing.json()
    joined = await _join(practice, cookie, mine["id"])
    assert joined.status == 201
    link = next(
        x for x in await practice.client.app[STORE].all(JoinLink) if x.channel is Channel.PORTAL
    )
    assert (link.participant.value, link.contact_id) == ("contact", contact["id"])


async def test_an_in_person_or_cancelled_visit_shows_why_it_cannot_be_joined(
    practice: Practice,
) -> None:
    client_id = await add_client(practice)
    soon = datetime.now(UTC) + timedelta(minutes=5)
    in_person = await add_appointment(practice, client_id, soon, modality="in_person")
    cookie = await signed_in(practice, "ana@example.org")
    [listed] = await _appointments(practice, cookie)
    assert (listed["join_blocked"], listed.get("join_opens_at")) == ("in person", None)
    answer = await _join(practice, cookie, in_person["id"])
    assert answer.status == 409


async def test_portal_required_sends_an_emailed_link_through_portal_sign_in_first(
    practice: Practice,
) -> None:
    status, _ = await practice.call("PATCH", "/api/v1/practice", json={"portal_required": True})
    assert status == 200
    client_id = await add_client(practice)
    appt = await add_appointment(practice, client_id, datetime.now(UTC) + timedelta(minutes=5))
    status, sent = await practice.call(
        "POST", "/api/v1/invites", json={"appointment_id": appt["id"]}
    )
    assert status == 201, sent
    token = await delivered_token(practice, sent["messages"][0]["id"])

    first = await redeem(practice, token)
    assert first.status == 200
    body = await first.json()
    assert (body["next"], body["appointment_id"]) == ("portal", appt["id"])
    assert "__Host-tlh_link" not in first.cookies  # no link session before sign-in

    # Signed in to the portal as that client, the same link goes on as usual.
    cookie = await signed_in(practice, "ana@example.org")
    again = await redeem(practice, token, Cookie=f"__Host-tlh_portal={cookie}")
    assert again.status == 200
    assert (await again.json())["next"] in ("consent", "waiting")
    assert "__Host-tlh_link" in again.cookies

    # A link the staff copied by hand, and the portal's own, are not sent round again.
    status, copied = await practice.call(
        "POST", "/api/v1/invites/link", json={"appointment_id": appt["id"]}
    )
    assert status == 201
    assert (await (await redeem(practice, token_in(copied["url"]))).json())["next"] != "portal"
    joined = await _join(practice, cookie, appt["id"])
    portal_token = (await joined.json())["token"]
    assert (await (await redeem(practice, portal_token)).json())["next"] != "portal"


async def test_clients_sharing_one_email_address_are_all_seen_by_its_holder(
    practice: Practice,
) -> None:
    parent = await add_client(practice, name="Ana Client", email="family@example.org")
    child = await add_client(practice, name="Kid Client", email="family@example.org")
    soon = datetime.now(UTC) + timedelta(minutes=5)
    await add_clinician(practice)
    mine = await add_appointment(practice, parent, soon)
    theirs = await add_appointment(practice, child, soon, clinicians=["kim@example.org"])
    cookie = await signed_in(practice, "family@example.org")
    me = await (
        await practice.client.get("/api/v1/portal/me", headers=headers(practice, cookie))
    ).json()
    assert {(c["id"], c["relation"]) for c in me["clients"]} == {
        (parent, "self"),
        (child, "self"),
    }
    listed = {a["id"] for a in await _appointments(practice, cookie)}
    assert listed == {mine["id"], theirs["id"]}
    assert (await _join(practice, cookie, theirs["id"])).status == 201
    # Revoking one ends the session; signed in again, the other is still theirs.
    status, done = await practice.call("POST", "/api/v1/portal/revoke", json={"client_id": child})
    assert (status, done) == (200, {"sessions_ended": 1})
    again = await signed_in(practice, "family@example.org")
    me = await (
        await practice.client.get("/api/v1/portal/me", headers=headers(practice, again))
    ).json()
    assert [c["id"] for c in me["clients"]] == [parent]
