"""Redeeming link tokens: one answer for every failure, rate limits, cookies, Origin."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from tlh.server.keys import BUS

from .conftest import Practice
from .outreach_helpers import add_appointment, add_client, origin, redeem, token_in

#: The answer to an unknown token: the practice and how to reach it, nothing about it.
INVALID = {
    "error": {
        "code": "invalid_link",
        "message": "This link is not valid. Ask Test Practice for a new one.",
        "details": {"practice_name": "Test Practice", "contact_phone": "", "contact_email": ""},
    }
}


def invalid_because(reason: str, message: str) -> dict[str, object]:
    """The answer to a genuine token that no longer works: why, besides whom to ask."""
    details = {**INVALID["error"]["details"], "reason": reason}  # type: ignore[dict-item]
    return {"error": {"code": "invalid_link", "message": message, "details": details}}


async def _copy_link(practice: Practice, appt_id: str) -> tuple[str, str]:
    status, made = await practice.call(
        "POST", "/api/v1/invites/link", json={"appointment_id": appt_id}
    )
    assert status == 201, made
    assert made["link"]["token_hash"] == ""
    assert made["url"].startswith(origin(practice) + "/j#")
    return made["link"]["id"], token_in(made["url"])


async def test_every_bad_token_gets_the_same_404_then_429_but_a_good_one_works(
    practice: Practice,
) -> None:
    client_id = await add_client(practice)
    soon = datetime.now(UTC) + timedelta(minutes=5)
    appt = await add_appointment(practice, client_id, start=soon)
    link_id, good = await _copy_link(practice, appt["id"])
    revoked_id, revoked = await _copy_link(practice, appt["id"])
    status, _ = await practice.call("POST", f"/api/v1/links/{revoked_id}/revoke")
    assert status == 200
    bad = [good[:-1] + ("A" if good[-1] != "A" else "B"), good[:20], "x" * 43, revoked, "", 7]
    for token in bad:
        response = await redeem(practice, token)
        assert response.status == 404, token
        answer = await response.json()
        if token == revoked:  # its holder is told why; no one else learns anything
            assert answer["error"]["details"]["reason"] == "revoked"
        else:
            assert answer == INVALID
        assert "Set-Cookie" not in response.headers
    malformed = await practice.client.post(
        "/api/v1/link/redeem", data=b"{nope", headers={"Origin": origin(practice)}
    )
    assert malformed.status == 404
    assert await malformed.json() == INVALID
    for _ in range(10 - len(bad) - 1):
        assert (await redeem(practice, "y" * 43)).status == 404
    limited = await redeem(practice, "z" * 43)
    assert limited.status == 429
    assert (await limited.json())["error"]["code"] == "rate_limited"
    assert 0 < int(limited.headers["Retry-After"]) <= 60
    # The guesser is held off, not the client: a valid link still works from here.
    assert (await redeem(practice, good)).status == 200
    _, log = await practice.call("GET", "/api/v1/audit")
    failed = [e for e in log["items"] if e["action"] == "link.redeem.failed"]
    assert len(failed) == 10
    assert all(e["target"] == "unknown" for e in failed)
    assert good not in str(log)
    assert revoked not in str(log)
    assert link_id


async def test_redeem_sets_a_host_cookie_and_tells_the_staff(practice: Practice) -> None:
    client_id = await add_client(practice)
    appt = await add_appointment(
        practice, client_id, start=datetime.now(UTC) + timedelta(minutes=5)
    )
    link_id, token = await _copy_link(practice, appt["id"])
    sub = practice.client.app[BUS].subscribe()
    response = await redeem(practice, token)
    assert response.status == 200
    data = await response.json()
    assert data["purpose"] == "join"
    assert data["state"] == "ok"
    assert data["practice_name"] == "Test Practice"
    assert data["next"] == "consent"  # no consent on file yet
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-tlh_link=")
    for flag in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/"):
        assert flag in cookie
    assert "Domain" not in cookie
    async with asyncio.timeout(5):
        event = await sub.get()
        while event.type != "link.redeemed":
            event = await sub.get()
    assert event.data["link_id"] == link_id
    sub.close()


async def test_early_token_says_when_it_opens(practice: Practice) -> None:
    client_id = await add_client(practice)
    start = datetime(2031, 4, 15, 15, 0, tzinfo=UTC)
    appt = await add_appointment(practice, client_id, start=start)
    _, token = await _copy_link(practice, appt["id"])
    response = await redeem(practice, token)
    assert response.status == 200
    data = await response.json()
    assert data["state"] == "early"
    assert data["opens_at"].startswith("2031-04-15T14:50:00")


async def test_cancelled_appointment_links_are_invalid(practice: Practice) -> None:
    client_id = await add_client(practice)
    appt = await add_appointment(practice, client_id)
    _, token = await _copy_link(practice, appt["id"])
    status, _ = await practice.call("POST", f"/api/v1/appointments/{appt['id']}/cancel")
    assert status == 200
    response = await redeem(practice, token)
    assert response.status == 404
    assert await response.json() == invalid_because(
        "cancelled",
        "This link is not valid: the appointment was cancelled. Ask Test Practice for a new one.",
    )


async def test_link_errors_name_the_practice_its_contact_and_why(practice: Practice) -> None:
    status, _ = await practice.call(
        "PATCH",
        "/api/v1/practice",
        json={"contact_phone": "+1 555 0100", "contact_email": "desk@example.org"},
    )
    assert status == 200
    client_id = await add_client(practice)
    appt = await add_appointment(practice, client_id)
    _, moved = await _copy_link(practice, appt["id"])
    status, _ = await practice.call(
        "PATCH",
        f"/api/v1/appointments/{appt['id']}",
        json={"start": (datetime.now(UTC) + timedelta(days=3)).isoformat()},
    )
    assert status == 200
    response = await redeem(practice, moved)
    answer = (await response.json())["error"]
    assert answer["details"]["reason"] == "moved"
    assert answer["message"] == (
        "This link is not valid: the appointment was moved to another time. "
        "Ask Test Practice for a new one: +1 555 0100, desk@example.org."
    )
    unknown = await (await redeem(practice, "q" * 43)).json()
    assert "reason" not in unknown["error"]["details"]
    assert unknown["error"]["details"]["contact_email"] == "desk@example.org"


@pytest.mark.parametrize("bad_origin", [None, "https://evil.example", "null"])
async def test_redeem_needs_our_origin(practice: Practice, bad_origin: str | None) -> None:
    client_id = await add_client(practice)
    appt = await add_appointment(practice, client_id)
    _, token = await _copy_link(practice, appt["id"])
    headers = {"Origin": bad_origin} if bad_origin else {}
    response = await practice.client.post(
        "/api/v1/link/redeem", json={"token": token}, headers=headers
    )
    assert response.status == 403
    assert (await redeem(practice, token)).status == 200  # nothing was consumed


async def test_get_and_head_of_the_page_consume_nothing(practice: Practice) -> None:
    client_id = await add_client(practice)
    appt = await add_appointment(practice, client_id)
    _, token = await _copy_link(practice, appt["id"])
    for method in ("GET", "HEAD"):
        response = await practice.client.request(method, "/j")
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/html")
        assert "no-referrer" in response.headers["Referrer-Policy"]
    page = await (await practice.client.get("/j")).text()
    assert "<canvas" in page
    for asset in ("/j.js", "/j.css"):
        assert (await practice.client.get(asset)).status == 200
    _, log = await practice.call("GET", "/api/v1/audit")
    assert not [e for e in log["items"] if e["action"].startswith("link.redeem")]
    assert (await redeem(practice, token)).status == 200


async def test_links_list_blanks_hashes_and_revoke(practice: Practice) -> None:
    client_id = await add_client(practice)
    appt = await add_appointment(practice, client_id)
    link_id, token = await _copy_link(practice, appt["id"])
    status, listed = await practice.call("GET", f"/api/v1/appointments/{appt['id']}/links")
    assert status == 200
    assert [x["id"] for x in listed["items"]] == [link_id]
    assert listed["items"][0]["token_hash"] == ""
    status, revoked = await practice.call("POST", f"/api/v1/links/{link_id}/revoke")
    assert revoked["revoked_at"] is not None
    assert (await redeem(practice, token)).status == 404
