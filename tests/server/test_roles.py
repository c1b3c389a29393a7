"""The whole role x route matrix: every route declares roles, and they are enforced."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import WSServerHandshakeError

from tlh.server.http import ROLES_ATTR

from .call_helpers import next_frame
from .conftest import Practice
from .outreach_helpers import add_appointment, add_client, add_clinician

ROLES = ("admin", "scheduler", "clinician")


def _routes(practice: Practice) -> list[tuple[str, str, frozenset[str] | None]]:
    found = []
    for route in practice.client.app.router.routes():
        if route.method == "HEAD":
            continue
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        roles = getattr(route.handler, ROLES_ATTR, "undeclared")
        assert roles != "undeclared", f"{route.method} {path} declares no roles"
        names = None if roles is None else frozenset(r.value for r in roles)
        found.append((route.method, re.sub(r"\{[^}]+\}", "nope", str(path)), names))
    return found


async def test_every_route_enforces_its_roles(practice: Practice) -> None:
    routes = _routes(practice)
    assert len(routes) > 20
    for method, path, allowed in routes:
        if allowed is None:
            continue
        anonymous = await practice.client.request(method, path)
        assert anonymous.status == 401, (method, path)
        for role in ROLES:
            response = await practice.client.request(
                method, path, headers=practice.auth(role), json={}
            )
            if role in allowed:
                assert response.status not in (401, 403), (method, path, role)
            else:
                assert response.status == 403, (method, path, role, response.status)
                body = await response.json()
                assert body["error"]["code"] == "forbidden"


async def test_an_admin_who_is_also_a_clinician_holds_both_roles(practice: Practice) -> None:
    """Issue 18, item 10: a solo practitioner is one account, admin and clinician at once:
    every route either role takes is open, and they are a clinician where it counts."""
    status, made = await practice.call(
        "POST",
        "/api/v1/staff",
        json={"email": "solo@example.org", "name": "Sol Solo", "role": "admin",
              "telehealth": True, "also_clinician": True},
    )  # fmt: skip
    assert status == 201, made
    assert made["staff"]["also_clinician"] is True
    practice.tokens["solo"] = made["token"]
    for method, path, allowed in _routes(practice):
        if allowed is None:
            continue
        response = await practice.client.request(
            method, path, headers=practice.auth("solo"), json={}
        )
        if allowed & {"admin", "clinician"}:
            assert response.status not in (401, 403), (method, path, response.status)
        else:
            assert response.status == 403, (method, path, response.status)
    # Booked as a visit's clinician (only clinicians can be), they lead its session...
    client_id = await add_client(practice)
    status, _ = await practice.call(
        "POST", "/api/v1/consents/verbal", json={"client_id": client_id, "note": "by phone"}
    )
    assert status == 201
    appt = await add_appointment(
        practice, client_id, start=datetime.now(UTC), clinicians=["solo@example.org"]
    )
    status, started = await practice.call(
        "POST", "/api/v1/sessions", role="solo", json={"appointment_id": appt["id"]}
    )
    assert status == 201, started
    assert started["session"]["clinician_id"] == made["staff"]["id"]
    # ... their room is their own without naming it, and they set their presence there.
    status, nobody = await practice.call("POST", "/api/v1/rooms/next", role="solo", json={})
    assert (status, nobody["error"]["code"]) == (404, "nobody_waiting")
    status, room = await practice.call(
        "POST", "/api/v1/rooms/presence", role="solo", json={"presence": "late"}
    )
    assert status == 200, room
    # As an admin they still read every room.
    status, rooms = await practice.call("GET", "/api/v1/rooms", role="solo")
    assert status == 200, rooms
    shown = {r["clinician_id"] for r in rooms["items"]}
    assert {made["staff"]["id"], practice.ids["clinician"]} <= shown


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer tlh_wrong", "Basic dGxoOnRsaA==", "bearer  "],
)
async def test_bad_credentials_are_401_with_one_message(practice: Practice, header: str) -> None:
    headers = {"Authorization": header} if header else {}
    response = await practice.client.get("/api/v1/clients", headers=headers)
    assert response.status == 401
    body = await response.json()
    assert body == {
        "error": {
            "code": "unauthenticated",
            "message": "invalid, revoked or missing API token",
            "details": None,
        }
    }


async def test_revoked_and_disabled_tokens_stop_working(practice: Practice) -> None:
    old = practice.tokens["clinician"]
    status, fresh = await practice.call("POST", f"/api/v1/staff/{practice.ids['clinician']}/token")
    assert status == 200
    revoked = await practice.client.get("/api/v1/me", headers={"Authorization": f"Bearer {old}"})
    assert revoked.status == 401
    ok = await practice.client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {fresh['token']}"}
    )
    assert ok.status == 200
    status, _ = await practice.call("POST", "/api/v1/staff/lee@example.org/disable")
    assert status == 200
    gone = await practice.client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {fresh['token']}"}
    )
    assert gone.status == 401


async def test_healthz_is_public(practice: Practice) -> None:
    response = await practice.client.get("/healthz")
    assert response.status == 200
    assert (await response.json())["ok"] is True


# --- A clinician acts on their own appointments, rooms and clients only -----------------


@dataclass
class Two:
    """Lee (the practice's clinician) and Kim, each with an appointment starting now whose
    client has consented, and Kim's session of it open."""

    practice: Practice
    kim_token: str
    appointment: dict[str, str]  # "own" (Lee's) / "other" (Kim's) appointment ids
    client: dict[str, str]  # "own" / "other" client ids
    session: dict[str, str]  # "own" / "other" open session ids
    clinician: dict[str, str]  # "own" / "other" staff emails

    def ref(self, template: str, whose: str) -> str:
        return template.format(
            appointment=self.appointment[whose],
            client=self.client[whose],
            session=self.session[whose],
            clinician=self.clinician[whose],
            own_client=self.client["own"],
        )


async def _two_clinicians(practice: Practice) -> Two:
    kim = await add_clinician(practice)
    two = Two(
        practice, kim["token"], {}, {}, {}, {"own": "lee@example.org", "other": "kim@example.org"}
    )
    for whose, email, token in (
        ("own", "lee@example.org", practice.tokens["clinician"]),
        ("other", "kim@example.org", kim["token"]),
    ):
        client_id = await add_client(practice)
        status, made = await practice.call(
            "POST", "/api/v1/consents/verbal", json={"client_id": client_id, "note": "by phone"}
        )
        assert status == 201, made
        appt = await add_appointment(
            practice, client_id, start=datetime.now(UTC), clinicians=[email]
        )
        response = await practice.client.post(
            "/api/v1/sessions",
            json={"appointment_id": appt["id"]},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status == 201, await response.text()
        two.appointment[whose] = appt["id"]
        two.client[whose] = client_id
        two.session[whose] = (await response.json())["session"]["id"]
    return two


# (method, path, body, Lee's answer on his own record, on Kim's, the other roles that act
# on Kim's record as Lee does on his). Another clinician's record named by id is 404,
# exactly as a missing one; naming Kim (staff are listed to every staff member) is 403.
AS = ("admin", "scheduler")
OWN_OR_OTHER = [
    ("POST", "/api/v1/invites", {"appointment_id": "{appointment}"}, 201, 404, AS),
    ("POST", "/api/v1/invites/link", {"appointment_id": "{appointment}"}, 201, 404, AS),
    ("POST", "/api/v1/invites/quick", {"client_id": "{client}"}, 201, 404, ()),
    (
        "POST",
        "/api/v1/invites/quick",
        {"client_id": "{own_client}", "clinician": "{clinician}"},
        201,
        403,
        AS,
    ),
    ("POST", "/api/v1/invites/guest", {"clinician": "{clinician}"}, 201, 403, AS),
    ("GET", "/api/v1/invites/website?clinician={clinician}", None, 200, 403, AS),
    ("POST", "/api/v1/consents/send", {"client_id": "{client}"}, 201, 404, AS),
    (
        "POST",
        "/api/v1/consents/verbal",
        {"client_id": "{client}", "note": "by phone"},
        201,
        404,
        ("admin",),
    ),
    ("POST", "/api/v1/consents/revoke", {"client_id": "{client}"}, 201, 404, AS),
    ("POST", "/api/v1/clients/{client}/contacts", {"name": "An Interpreter"}, 201, 404, AS),
    ("GET", "/api/v1/appointments/{appointment}/links", None, 200, 404, AS),
    (
        "POST",
        "/api/v1/appointments/{appointment}/status",
        {"status": "checked_in"},
        200,
        404,
        ("admin",),
    ),
    ("POST", "/api/v1/sessions", {"appointment_id": "{appointment}"}, 201, 404, ("admin",)),
    ("POST", "/api/v1/sessions", {"room": True, "clinician": "{clinician}"}, 201, 403, ("admin",)),
    ("GET", "/api/v1/sessions?clinician={clinician}", None, 200, 403, AS),
    ("POST", "/api/v1/sessions/{session}/end", None, 200, 404, ("admin",)),
    ("POST", "/api/v1/call-links", {"appointment_id": "{appointment}"}, 201, 404, ("admin",)),
]
MISSING = {"appointment": "apt_nope", "client": "cli_nope", "session": "ses_nope"}


def _audit(practice: Practice) -> list[dict[str, Any]]:
    path = practice.data_dir / "audit" / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def _fill(two: Two, body: dict[str, Any] | None, whose: str | None) -> dict[str, Any] | None:
    """The body for ``whose`` records (``None``: ids that name nothing)."""
    if body is None:
        return None
    fill = (lambda v: v.format(**MISSING)) if whose is None else (lambda v: two.ref(v, whose))
    return {k: fill(v) if isinstance(v, str) else v for k, v in body.items()}


@pytest.mark.parametrize(
    ("method", "path", "body", "own", "other", "others"),
    OWN_OR_OTHER,
    ids=[f"{m} {p} {sorted(b or {})}" for m, p, b, *_ in OWN_OR_OTHER],
)
async def test_a_clinician_acts_on_their_own_records_only(
    practice: Practice,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    own: int,
    other: int,
    others: tuple[str, ...],
) -> None:
    two = await _two_clinicians(practice)
    before = len(_audit(practice))
    status, err = await practice.call(
        method, two.ref(path, "other"), role="clinician", json=_fill(two, body, "other")
    )
    assert status == other, err
    if other == 404:
        # The same answer as for no such record (its id aside): nothing to probe.
        status, missing = await practice.call(
            method, path.format(**MISSING), role="clinician", json=_fill(two, body, None)
        )
        assert status == 404, missing
        key = next(k for k in MISSING if "{" + k + "}" in f"{path} {body}")
        theirs = err["error"]["message"].replace(two.ref("{" + key + "}", "other"), "ID")
        assert theirs == missing["error"]["message"].replace(MISSING[key], "ID")
        assert err["error"]["code"] == missing["error"]["code"] == "not_found"
        # The attempt on Kim's record is audited (not the one on no record at all) ...
        expected = [("scope.denied", two.ref("{" + key + "}", "other"))]
    else:
        assert err["error"]["code"] == "forbidden"
        expected = []
    # ... and nothing was done by Lee meanwhile: no change to Kim's records, nothing read.
    assert [(e["action"], e["target"]) for e in _audit(practice)[before:]] == expected
    status, made = await practice.call(
        method, two.ref(path, "own"), role="clinician", json=_fill(two, body, "own")
    )
    assert status == own, made
    # Admins (and schedulers, where the route takes them) act on Kim's record as before.
    for role in others:
        status, made = await practice.call(
            method, two.ref(path, "other"), role=role, json=_fill(two, body, "other")
        )
        assert status == own, (role, made)


async def test_a_clinician_lists_their_own_sessions_only(practice: Practice) -> None:
    two = await _two_clinicians(practice)
    status, listed = await practice.call("GET", "/api/v1/sessions", role="clinician")
    assert status == 200
    assert [s["id"] for s in listed["items"]] == [two.session["own"]]
    for role in ("admin", "scheduler"):
        status, listed = await practice.call("GET", "/api/v1/sessions", role=role)
        assert {s["id"] for s in listed["items"]} == set(two.session.values())


async def test_a_clinician_cannot_join_another_clinicians_call(practice: Practice) -> None:
    two = await _two_clinicians(practice)
    with pytest.raises(WSServerHandshakeError) as refused:
        await practice.client.ws_connect(
            f"/api/v1/call/ws?session={two.session['other']}", headers=practice.auth("clinician")
        )
    assert refused.value.status == 404


async def test_an_admin_joining_a_clinicians_call_is_audited(practice: Practice) -> None:
    two = await _two_clinicians(practice)
    path = f"/api/v1/call/ws?session={two.session['other']}"
    async with practice.client.ws_connect(path, headers=practice.auth("admin")) as ws:
        joined = await next_frame(ws, "admitted")
        assert joined["session_id"] == two.session["other"]
    entries = [e for e in _audit(practice) if e["action"] == "session.join.other"]
    assert [(e["actor"]["id"], e["target"]) for e in entries] == [
        (practice.ids["admin"], two.session["other"])
    ]
    # Kim joining her own call is not "other".
    kim = {"Authorization": f"Bearer {two.kim_token}"}
    async with practice.client.ws_connect(path, headers=kim) as ws:
        await next_frame(ws, "admitted")
    assert len([e for e in _audit(practice) if e["action"] == "session.join.other"]) == 1
