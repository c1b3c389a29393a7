"""One-time call links: made with the API token, redeemed once for a staff cookie."""

from __future__ import annotations

import json
from datetime import datetime

from tlh.services.staff_web import COOKIE

from .call_helpers import (
    CALL_LINK,
    cookie_headers,
    install_clock,
    make_call_link,
    redeem_call,
    staff_cookie,
)
from .conftest import Practice
from .outreach_helpers import add_appointment, add_client

INVALID = {
    "error": {
        "code": "invalid_link",
        "message": "This link is not valid. Ask your practice for a new one.",
    }
}


def _audit(practice: Practice) -> list[dict[str, object]]:
    path = practice.data_dir / "audit" / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_a_call_link_signs_the_page_in_as_its_staff_member(practice: Practice) -> None:
    status, made = await practice.call("POST", "/api/v1/call-links", role="clinician", json={})
    assert status == 201, made
    assert CALL_LINK.search(made["url"])
    assert practice.tokens["clinician"] not in made["url"]
    expires = datetime.fromisoformat(made["expires_at"])
    assert 100 <= (expires - datetime.now(expires.tzinfo)).total_seconds() <= 121

    response = await redeem_call(practice, CALL_LINK.search(made["url"]).group(1))  # type: ignore[union-attr]
    assert response.status == 200
    answer = await response.json()
    assert answer == {
        "staff_id": practice.ids["clinician"],
        "name": "Clinician",
        "role": "clinician",
        "idle_logoff_min": 15,
    }
    cookie = response.cookies[COOKIE]
    assert cookie["httponly"]
    assert cookie["secure"]
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/"
    assert not cookie["domain"]

    me = await practice.client.get("/api/v1/me", headers=cookie_headers(practice, cookie.value))
    assert me.status == 200
    assert (await me.json())["id"] == practice.ids["clinician"]


async def test_the_link_names_its_appointment(practice: Practice) -> None:
    appt = await add_appointment(practice, await add_client(practice))
    token = await make_call_link(practice, appointment_id=appt["id"])
    answer = await (await redeem_call(practice, token)).json()
    assert answer["appointment_id"] == appt["id"]
    status, err = await practice.call(
        "POST", "/api/v1/call-links", role="clinician", json={"appointment_id": "apt_nope"}
    )
    assert (status, err["error"]["code"]) == (404, "not_found")


async def test_a_token_works_once(practice: Practice) -> None:
    token = await make_call_link(practice)
    assert (await redeem_call(practice, token)).status == 200
    again = await redeem_call(practice, token)
    assert again.status == 404
    assert await again.json() == {**INVALID}
    assert COOKIE not in again.cookies


async def test_an_expired_token_is_refused_like_any_other(practice: Practice) -> None:
    clock = install_clock(practice)
    token = await make_call_link(practice)
    clock.advance(seconds=121)
    expired = await redeem_call(practice, token)
    assert expired.status == 404
    assert await expired.json() == INVALID
    for garbage in ("x" * 43, 42, None, "short"):
        wrong = await redeem_call(practice, garbage)
        assert (wrong.status, await wrong.json()) == (404, INVALID)


async def test_redeem_needs_this_servers_origin(practice: Practice) -> None:
    token = await make_call_link(practice)
    foreign = await redeem_call(practice, token, Origin="https://evil.example")
    assert foreign.status == 403
    response = await practice.client.post("/api/v1/call-links/redeem", json={"token": token})
    assert response.status == 403
    # Refused before the token was looked at, so it still works from the real page.
    assert (await redeem_call(practice, token)).status == 200


async def test_failures_are_rate_limited_and_audited(practice: Practice) -> None:
    for _ in range(10):
        assert (await redeem_call(practice, "A" * 43)).status == 404
    blocked = await redeem_call(practice, "B" * 43)
    assert blocked.status == 429
    assert (await blocked.json())["error"]["code"] == "rate_limited"
    assert int(blocked.headers["Retry-After"]) > 0
    # A valid login still works from the same address.
    assert (await redeem_call(practice, await make_call_link(practice))).status == 200
    failed = [e for e in _audit(practice) if e["action"] == "staff.web.login.failed"]
    assert len(failed) == 10


async def test_only_a_bearer_admin_or_clinician_makes_links(practice: Practice) -> None:
    status, err = await practice.call("POST", "/api/v1/call-links", role="scheduler", json={})
    assert (status, err["error"]["code"]) == (403, "forbidden")
    assert (await practice.client.post("/api/v1/call-links", json={})).status == 401
    cookie = await staff_cookie(practice)
    by_cookie = await practice.client.post(
        "/api/v1/call-links", json={}, headers=cookie_headers(practice, cookie)
    )
    assert by_cookie.status == 403
    assert (await make_call_link(practice, "admin")) != ""


async def test_logout_ends_the_session_and_is_audited(practice: Practice) -> None:
    cookie = await staff_cookie(practice)
    out = await practice.client.post(
        "/api/v1/call-links/logout", headers=cookie_headers(practice, cookie)
    )
    assert out.status == 204
    assert out.cookies[COOKIE].value == ""
    me = await practice.client.get("/api/v1/me", headers=cookie_headers(practice, cookie))
    assert me.status == 401
    staff_id = practice.ids["clinician"]
    entries = _audit(practice)
    for action in ("staff.web.login", "staff.web.logout"):
        # One entry for the staff member, one for the page session's stored record.
        found = [e for e in entries if e["action"] == action]
        targets = sorted(e["target"] for e in found)
        assert len(found) == 2, action
        assert staff_id in targets
        assert any(t.startswith("sps_") for t in targets)
    raw = (practice.data_dir / "audit" / "audit.jsonl").read_text()
    assert "Clinician" not in raw
    assert "lee@example.org" not in raw


async def test_a_disabled_staff_member_is_signed_out(practice: Practice) -> None:
    token = await make_call_link(practice)
    cookie = await staff_cookie(practice)
    status, _ = await practice.call("POST", "/api/v1/staff/lee@example.org/disable")
    assert status == 200
    me = await practice.client.get("/api/v1/me", headers=cookie_headers(practice, cookie))
    assert me.status == 401
    assert (await redeem_call(practice, token)).status == 404
