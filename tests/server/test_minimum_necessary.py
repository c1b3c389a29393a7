"""Minimum necessary (issue 12, item 5): a clinician lists and reads only the clients
assigned to them or with an appointment of theirs in the last 12 months or to come, and
only their own schedule; admins and schedulers see all. Another clinician's record named
by id is 404, as a missing one, and the attempt is audited.

Every route is walked: each one is either client data with the rule that limits a
clinician on it (and where that rule is tested), or named here as not client data. A new
route that is in neither fails ``test_every_route_has_a_rule``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from tests.seeding import seed
from tlh.domain.links import Channel, LinkPurpose, ParticipantKind
from tlh.domain.models import Appointment, Modality, Status
from tlh.server.http import ROLES_ATTR
from tlh.server.keys import STORE
from tlh.services.context import new_id
from tlh.services.links import make_link
from tlh.store.base import Put

from .conftest import Practice
from .outreach_helpers import add_appointment, add_client, add_clinician
from .rooms_helpers import Peer, arrive
from .test_roles import OWN_OR_OTHER

#: Client-data routes, and what limits a clinician on each:
#: ``by-id``: another's record is 404 (tested here); ``list``: a clinician's own only
#: (tested here); ``own-or-other``: an action on a record by id (``test_roles``
#: OWN_OR_OTHER); ``not-clinicians``: the route refuses clinicians (its declared roles,
#: checked here; enforced by ``test_roles``); ``own-sessions``, ``own-reports``,
#: ``rooms``, ``events``: a clinician's own (tested where named).
CLIENT_DATA = {
    "GET /api/v1/clients": "list",
    "POST /api/v1/clients/search": "list",
    "POST /api/v1/clients/lookup": "list",
    "POST /api/v1/clients": "not-clinicians",
    "GET /api/v1/clients/{id}": "by-id",
    "PATCH /api/v1/clients/{id}": "not-clinicians",
    "POST /api/v1/clients/{id}/contacts": "own-or-other",
    "GET /api/v1/appointments": "list",
    "POST /api/v1/appointments": "not-clinicians",
    "GET /api/v1/appointments/export": "not-clinicians",
    "POST /api/v1/appointments/import": "not-clinicians",
    "GET /api/v1/appointments/{id}": "by-id",
    "PATCH /api/v1/appointments/{id}": "not-clinicians",
    "POST /api/v1/appointments/{id}/cancel": "not-clinicians",
    "GET /api/v1/appointments/{id}/eligibility": "by-id",
    "GET /api/v1/appointments/{id}/links": "own-or-other",
    "POST /api/v1/appointments/{id}/status": "own-or-other",
    "POST /api/v1/slots/book": "not-clinicians",
    "POST /api/v1/reschedule-requests": "not-clinicians",
    "POST /api/v1/reschedule-requests/{id}/accept": "not-clinicians",
    "POST /api/v1/reschedule-requests/{id}/decline": "not-clinicians",
    "GET /api/v1/consents": "list",
    "GET /api/v1/consents/export": "not-clinicians",
    "POST /api/v1/consents/send": "own-or-other",
    "POST /api/v1/consents/verbal": "own-or-other",
    "POST /api/v1/consents/revoke": "own-or-other",
    "POST /api/v1/invites": "own-or-other",
    "POST /api/v1/invites/link": "own-or-other",
    "POST /api/v1/invites/quick": "own-or-other",
    "POST /api/v1/invites/day": "not-clinicians",
    "POST /api/v1/links/{id}/resend": "not-clinicians",
    "POST /api/v1/links/{id}/revoke": "not-clinicians",
    "GET /api/v1/outbox": "not-clinicians",
    "GET /api/v1/outbox/{id}": "not-clinicians",
    "GET /api/v1/audit": "not-clinicians",
    "GET /api/v1/audit/export": "not-clinicians",
    "GET /api/v1/admin/backup": "not-clinicians",
    "POST /api/v1/sessions": "own-or-other",
    "POST /api/v1/sessions/{id}/end": "own-or-other",
    "POST /api/v1/call-links": "own-or-other",
    "GET /api/v1/sessions": "own-sessions",  # test_roles: lists their own sessions only
    "GET /api/v1/call/ws": "own-sessions",  # test_roles: cannot join another's call
    "GET /api/v1/reports/attendance": "own-reports",  # test_reports
    "GET /api/v1/reports/sessions": "own-reports",  # test_reports
    "GET /api/v1/rooms": "rooms",  # here: the shared queue by first names
    "GET /api/v1/events": "events",  # test_event_audience
    "POST /api/v1/rooms/admit-all": "rooms",  # their own room (scope.check_room)
    "POST /api/v1/rooms/next": "rooms",
    "POST /api/v1/rooms/message": "rooms",
    "POST /api/v1/rooms/entries/{id}/admit": "rooms",
    "POST /api/v1/rooms/entries/{id}/deny": "rooms",
    "POST /api/v1/rooms/entries/{id}/message": "rooms",
    "POST /api/v1/rooms/entries/{id}/return": "rooms",
    "POST /api/v1/rooms/entries/{id}/transfer": "rooms",
    # The client portal's staff side (issue 13).
    "POST /api/v1/portal/invite": "not-clinicians",
    "GET /api/v1/portal/access": "not-clinicians",
    "POST /api/v1/portal/revoke": "not-clinicians",
}
#: Routes that carry no client's data to staff, and why.
NOT_CLIENT_DATA = {
    "GET /healthz": "liveness",
    "GET /readyz": "readiness: the store and the outbox sender",
    "GET /metrics": "counts and latencies, no names or ids (its own token)",
    "GET /j": "the client page (static)",
    "GET /c": "the call page (static)",
    "GET /{name}": "static files",
    "GET /api/v1/me": "the caller's own staff record",
    "PATCH /api/v1/me": "the caller's own staff record",
    "GET /api/v1/practice": "practice settings",
    "PATCH /api/v1/practice": "practice settings",
    "GET /api/v1/staff": "staff, not clients",
    "POST /api/v1/staff": "staff, not clients",
    "GET /api/v1/staff/{ref}": "staff, not clients",
    "PATCH /api/v1/staff/{ref}": "staff, not clients",
    "POST /api/v1/staff/{ref}/disable": "staff, not clients",
    "POST /api/v1/staff/{ref}/token": "staff, not clients",
    "GET /api/v1/availability": "clinicians' hours",
    "POST /api/v1/availability": "clinicians' hours",
    "DELETE /api/v1/availability/{id}": "clinicians' hours",
    "POST /api/v1/rooms/presence": "the clinician's own presence",
    "POST /api/v1/invites/guest": "a guest link into the caller's own room",
    "GET /api/v1/invites/website": "a room's website snippet",
    "GET /api/v1/audit/verify": "the chain's integrity, no entries",
    "GET /api/v1/admin/doctor": "the installation",
    "POST /api/v1/admin/doctor/call": "a self-test call",
    "POST /api/v1/media/echo": "a connection test",
    "POST /api/v1/media/echo/end": "a connection test",
    "POST /api/v1/call-links/redeem": "a staff call link's holder: scoped by the link",
    "POST /api/v1/call-links/logout": "a staff call link's holder: scoped by the link",
    "POST /api/v1/link/redeem": "a client's link: scoped by the link",
    "GET /api/v1/link/state": "a client's link: scoped by the link",
    "GET /api/v1/link/ws": "a client's link: scoped by the link",
    "GET /api/v1/link/consent": "a client's link: scoped by the link",
    "POST /api/v1/link/consent": "a client's link: scoped by the link",
    "POST /api/v1/link/identity": "a client's link: scoped by the link",
    "POST /api/v1/link/identity/code": "a client's link: scoped by the link",
    "POST /api/v1/link/conntest/offer": "a client's link: scoped by the link",
    "POST /api/v1/link/conntest/result": "a client's link: scoped by the link",
    "GET /a": "the confirm/cancel page (static)",
    "POST /api/v1/actions/look": "a client's confirm/cancel link: scoped by the link",
    "POST /api/v1/actions/use": "a client's confirm/cancel link: scoped by the link",
    # issue 13 item 8 (p-i18n)
    "GET /i18n/{language}.json": "the pages' words in a language (static catalogue)",
    # The client portal (issue 13): the signed-in person's own clients only.
    "GET /p": "the client portal page (static)",
    "POST /api/v1/portal/code": "the portal: nobody signed in yet",
    "POST /api/v1/portal/sign-in": "the portal: scoped by the person signed in",
    "GET /api/v1/portal/me": "the portal: scoped by the person signed in",
    "POST /api/v1/portal/sign-out": "the portal: scoped by the person signed in",
    "GET /api/v1/portal/appointments": "the portal: scoped by the person signed in",
    "POST /api/v1/portal/join": "the portal: scoped by the person signed in",
    # Passkeys on the portal (issue 13): the signed-in person's own passkeys; no client data.
    "POST /api/v1/portal/passkeys/options": "the portal: scoped by the person signed in",
    "POST /api/v1/portal/passkeys": "the portal: scoped by the person signed in",
    "GET /api/v1/portal/passkeys": "the portal: scoped by the person signed in",
    "DELETE /api/v1/portal/passkeys/{id}": "the portal: scoped by the person signed in",
    "POST /api/v1/portal/passkeys/sign-in-options": "the portal: nobody signed in yet",
    "POST /api/v1/portal/passkeys/sign-in": "the portal: scoped by the person signed in",
    # The portal's Confirm and Cancel (issue 13 item 4): their own clients' appointments.
    "POST /api/v1/portal/appointments/{id}/confirm": "the portal: scoped by the person signed in",
    "POST /api/v1/portal/appointments/{id}/cancel": "the portal: scoped by the person signed in",
    # Self-scheduling on the portal (issue 13 item 5): their own clients only.
    "GET /api/v1/portal/booking": "the portal: scoped by the person signed in",
    "GET /api/v1/portal/slots": "the portal: scoped by the person signed in",
    "POST /api/v1/portal/bookings": "the portal: scoped by the person signed in",
    "POST /api/v1/portal/appointments/{id}/reschedule": "the portal: scoped by the person signed in",
    "GET /api/v1/slots": "clinicians' open hours, no clients",
    "GET /api/v1/reschedule-requests": "ids and times only; a clinician: their own visits'",
    # Issue 13 item 7 (policy ask_location): the holder's own last location only.
    "GET /api/v1/link/location": "a client's link: scoped by the link",
    "POST /api/v1/link/location": "a client's link: scoped by the link",
}


def _declared(practice: Practice) -> dict[str, frozenset[str] | None]:
    found: dict[str, frozenset[str] | None] = {}
    for route in practice.client.app.router.routes():
        if route.method == "HEAD" or route.resource is None:
            continue
        roles = getattr(route.handler, ROLES_ATTR, None)
        names = None if roles is None else frozenset(r.value for r in roles)
        found[f"{route.method} {route.resource.canonical}"] = names
    return found


async def test_every_route_has_a_rule(practice: Practice) -> None:
    routes = _declared(practice)
    unruled = sorted(set(routes) - set(CLIENT_DATA) - set(NOT_CLIENT_DATA))
    assert unruled == [], "a new route: say whether it is client data, and its rule"
    assert sorted(set(CLIENT_DATA) - set(routes)) == []  # no stale rule
    assert not set(CLIENT_DATA) & set(NOT_CLIENT_DATA)
    acted = {f"{m} {p.split('?')[0]}" for m, p, *_ in OWN_OR_OTHER}
    for key, rule in CLIENT_DATA.items():
        roles = routes[key]
        if rule == "not-clinicians":
            assert roles is not None, key
            assert "clinician" not in roles, key
        if rule == "own-or-other":
            pattern = key.replace("{id}", "{appointment}")
            assert key in acted or pattern in acted or _session_or_client(key) in acted, key


def _session_or_client(key: str) -> str:
    return key.replace("{id}", "{client}" if "/clients/" in key else "{session}")


@dataclass
class Caseload:
    """Lee's clients by why (or why not) they are his; every id by name."""

    clients: dict[str, str]
    appointments: dict[str, str]


NOW = datetime.now(UTC)


async def _past(practice: Practice, client_id: str, clinician_id: str, days: int) -> str:
    """A visit ``days`` ago (booked straight into the store: the API books forward)."""
    start = NOW - timedelta(days=days)
    appt = Appointment(
        id=new_id("apt"),
        modality=Modality.TELEHEALTH,
        status=Status.OCCURRED,
        clinician_ids=(clinician_id,),
        client_ids=(client_id,),
        start=start,
        duration_min=50,
        created_at=start,
        updated_at=start,
    )
    await seed(practice.client.app[STORE], [Put(appt)])
    return appt.id


async def _caseload(practice: Practice) -> Caseload:
    lee = practice.ids["clinician"]
    kim = await add_clinician(practice)
    load = Caseload({}, {})
    for name in ("old", "recent", "upcoming", "assigned", "kims"):
        load.clients[name] = await add_client(practice, name=f"{name.title()} Client")
    load.appointments["old"] = await _past(practice, load.clients["old"], lee, 400)
    load.appointments["recent"] = await _past(practice, load.clients["recent"], lee, 300)
    booked = await add_appointment(practice, load.clients["upcoming"])  # Lee's, in 2 days
    load.appointments["upcoming"] = booked["id"]
    kims = await add_appointment(practice, load.clients["kims"], clinicians=[kim["staff"]["id"]])
    load.appointments["kims"] = kims["id"]
    status, _ = await practice.call(
        "PATCH", f"/api/v1/clients/{load.clients['assigned']}", json={"clinicians": [lee]}
    )
    assert status == 200
    return load


MINE = {"recent", "upcoming", "assigned"}


def _audit(practice: Practice) -> list[tuple[str, str, str]]:
    path = practice.data_dir / "audit" / "audit.jsonl"
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    return [(e["actor"]["id"], e["action"], e["target"]) for e in entries]


async def test_a_clinician_lists_only_their_own_clients(practice: Practice) -> None:
    load = await _caseload(practice)
    every = {"ids": sorted(load.clients.values())}
    for path, body in (
        ("/api/v1/clients", None),
        ("/api/v1/clients/search", {"q": "client"}),
        ("/api/v1/clients/lookup", every),
    ):
        method = "POST" if body else "GET"
        for role, wanted in (
            ("clinician", MINE),
            ("admin", set(load.clients)),
            ("scheduler", set(load.clients)),
        ):
            status, found = await practice.call(method, path, role=role, json=body)
            assert status == 200, found
            ids = {c["id"] for c in found["items"]}
            assert ids & set(load.clients.values()) == {load.clients[n] for n in wanted}, role
    status, listed = await practice.call("GET", "/api/v1/consents", role="clinician")
    assert status == 200
    shown = {c["client_id"] for c in listed["items"]}
    assert shown == {load.clients[n] for n in MINE}


@pytest.mark.parametrize("path", ["/api/v1/clients/{id}", "/api/v1/consents?client={id}"])
async def test_a_clinician_reads_a_client_of_theirs_and_no_other(
    practice: Practice, path: str
) -> None:
    load = await _caseload(practice)
    for name, client_id in load.clients.items():
        before = len(_audit(practice))
        status, found = await practice.call("GET", path.format(id=client_id), role="clinician")
        if name in MINE:
            assert status == 200, (name, found)
            continue
        assert status == 404, (name, found)
        assert found["error"] == {
            "code": "not_found",
            "message": f"no client {client_id}",
            "details": None,
        }
        # Audited: who asked for which record; nothing was read.
        lee = practice.ids["clinician"]
        assert _audit(practice)[before:] == [(lee, "scope.denied", client_id)]
    # A client that does not exist answers the same (and is not audited as a denial).
    status, missing = await practice.call("GET", path.format(id="cli_nope"), role="clinician")
    assert (status, missing["error"]["message"]) == (404, "no client cli_nope")
    for role in ("admin", "scheduler"):
        for client_id in load.clients.values():
            status, _ = await practice.call("GET", path.format(id=client_id), role=role)
            assert status == 200, role


@pytest.mark.parametrize(
    "path", ["/api/v1/appointments/{id}", "/api/v1/appointments/{id}/eligibility"]
)
async def test_a_clinician_reads_their_own_appointments_only(practice: Practice, path: str) -> None:
    load = await _caseload(practice)
    for name, appt_id in load.appointments.items():
        status, found = await practice.call("GET", path.format(id=appt_id), role="clinician")
        if name != "kims":
            assert status == 200, (name, found)
        else:
            assert status == 404, found
            assert found["error"]["message"] == "no appointment with that id"
            assert _audit(practice)[-1] == (practice.ids["clinician"], "scope.denied", appt_id)
    for role in ("admin", "scheduler"):
        status, _ = await practice.call("GET", path.format(id=load.appointments["kims"]), role=role)
        assert status == 200


async def test_a_clinician_sees_their_own_schedule(practice: Practice) -> None:
    load = await _caseload(practice)
    day = (NOW + timedelta(days=2)).date().isoformat()
    span = f"/api/v1/appointments?from={NOW.date() - timedelta(days=1)}&to={day}"
    status, listed = await practice.call("GET", span, role="clinician")
    assert status == 200, listed
    ids = {a["id"] for a in listed["items"]}
    assert load.appointments["upcoming"] in ids
    assert load.appointments["kims"] not in ids
    status, refused = await practice.call(
        "GET", f"{span}&clinician=kim@example.org", role="clinician"
    )
    assert (status, refused["error"]["code"]) == (403, "forbidden")
    for role in ("admin", "scheduler"):
        status, listed = await practice.call("GET", span, role=role)
        assert {load.appointments["upcoming"], load.appointments["kims"]} <= {
            a["id"] for a in listed["items"]
        }


async def test_assignment_is_checked_and_can_be_cleared(practice: Practice) -> None:
    client_id = await add_client(practice)
    status, refused = await practice.call(
        "PATCH", f"/api/v1/clients/{client_id}", json={"clinicians": ["admin@example.org"]}
    )
    assert status == 422
    assert refused["error"]["message"] == f"staff member {practice.ids['admin']} is not a clinician"
    status, made = await practice.call(
        "PATCH", f"/api/v1/clients/{client_id}", json={"clinicians": ["lee@example.org"]}
    )
    assert (status, made["clinician_ids"]) == (200, [practice.ids["clinician"]])
    assert (await practice.call("GET", f"/api/v1/clients/{client_id}", role="clinician"))[0] == 200
    status, made = await practice.call(
        "PATCH", f"/api/v1/clients/{client_id}", json={"clinicians": []}
    )
    assert (status, made["clinician_ids"]) == (200, [])
    assert (await practice.call("GET", f"/api/v1/clients/{client_id}", role="clinician"))[0] == 404


async def test_the_shared_queue_shows_others_clients_by_first_name(practice: Practice) -> None:
    load = await _caseload(practice)
    theirs = await _join_queue(practice, load.clients["kims"])
    mine = await _join_queue(practice, load.clients["upcoming"])
    try:
        status, rooms = await practice.call("GET", "/api/v1/rooms", role="clinician")
        assert status == 200, rooms
        labels = {e["client_id"]: e["label"] for e in rooms["queue"]}
        assert labels[load.clients["kims"]] == "Kims"
        assert labels[load.clients["upcoming"]] == "Upcoming Client"
        status, rooms = await practice.call("GET", "/api/v1/rooms", role="scheduler")
        labels = {e["client_id"]: e["label"] for e in rooms["queue"]}
        assert labels[load.clients["kims"]] == "Kims Client"
    finally:
        for peer in (theirs, mine):
            await peer.ws.close()


async def _join_queue(practice: Practice, client_id: str) -> Peer:
    """The client waits in the practice's shared queue (a link naming no clinician)."""
    made = make_link(
        purpose=LinkPurpose.JOIN,
        participant=ParticipantKind.CLIENT,
        channel=Channel.COPY,
        created_by=practice.ids["admin"],
        now=NOW,
        valid=(NOW - timedelta(hours=1), NOW + timedelta(hours=1)),
        client_id=client_id,
    )
    await seed(practice.client.app[STORE], [Put(made.link)])
    peer, status = await arrive(practice, f"/j#{made.token}")
    assert status["state"] == "waiting", status
    return peer
