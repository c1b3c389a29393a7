"""The identity check behind a link: date of birth, one-time codes, lockout, state."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from tlh.messaging.file_transport import mail_drop_dir
from tlh.server.keys import BUS, IDENTITY
from tlh.server.routes.link_identity import verified
from tlh.services import identity

from .conftest import Practice
from .outreach_helpers import add_appointment, add_client, origin, redeem, token_in

DOB = "1984-07-19"


async def _open_link(
    practice: Practice, policy: str, **client: Any
) -> tuple[str, str, dict[str, Any]]:
    """Set the policy, make a client's join link and redeem it: (link id, cookie, answer)."""
    status, _ = await practice.call("PATCH", "/api/v1/practice", json={"identity_check": policy})
    assert status == 200
    client_id = await add_client(practice, dob=DOB, phone="+12025550178", **client)
    appt = await add_appointment(
        practice, client_id, start=datetime.now(UTC) + timedelta(minutes=5)
    )
    status, made = await practice.call(
        "POST", "/api/v1/invites/link", json={"appointment_id": appt["id"]}
    )
    assert status == 201, made
    response = await redeem(practice, token_in(made["url"]))
    assert response.status == 200
    return made["link"]["id"], response.cookies["__Host-tlh_link"].value, await response.json()


def _headers(practice: Practice, cookie: str) -> dict[str, str]:
    return {"Cookie": f"__Host-tlh_link={cookie}", "Origin": origin(practice)}


async def _state(practice: Practice, cookie: str) -> dict[str, Any]:
    response = await practice.client.get("/api/v1/link/state", headers=_headers(practice, cookie))
    assert response.status == 200
    return dict(await response.json())


async def _answer(practice: Practice, cookie: str, **body: str) -> Any:
    return await practice.client.post(
        "/api/v1/link/identity", json=body, headers=_headers(practice, cookie)
    )


async def test_date_of_birth_gates_the_page_and_is_audited_without_the_date(
    practice: Practice,
) -> None:
    link_id, cookie, redeemed = await _open_link(practice, "dob")
    assert redeemed["next"] == "identity"
    state = await _state(practice, cookie)
    assert (state["next"], state["identity"]) == ("identity", "dob")
    assert state["clinician_name"] == "Clinician"
    assert state["practice_name"] == "Test Practice"
    assert state["participant"] == "client"
    assert isinstance(state["ice_servers"], list)
    assert not await verified(practice.client.app, link_id, cookie)

    wrong = await _answer(practice, cookie, dob="1984-07-20")
    assert wrong.status == 403
    assert (await wrong.json())["error"]["code"] == "identity_failed"
    right = await _answer(practice, cookie, dob=DOB)
    assert right.status == 204
    assert (await _state(practice, cookie))["next"] == "consent"  # no consent on file yet
    assert await verified(practice.client.app, link_id, cookie)
    assert not await verified(practice.client.app, link_id, "another-session")

    _, log = await practice.call("GET", "/api/v1/audit")
    actions = [e["action"] for e in log["items"] if e.get("target") == link_id]
    assert "link.identity.failed" in actions
    assert "link.identity.passed" in actions
    audit_text = "".join(p.read_text() for p in practice.data_dir.rglob("*audit*") if p.is_file())
    assert DOB not in audit_text
    assert "1984-07-20" not in audit_text


async def test_five_wrong_answers_lock_the_link(practice: Practice) -> None:
    _, cookie, _ = await _open_link(practice, "dob")
    for _ in range(identity.MAX_TRIES):
        assert (await _answer(practice, cookie, dob="2000-01-01")).status == 403
    locked = await _answer(practice, cookie, dob=DOB)
    assert locked.status == 429
    assert (await _state(practice, cookie))["next"] == "identity"


async def test_bad_input_and_foreign_origin_are_refused(practice: Practice) -> None:
    _, cookie, _ = await _open_link(practice, "dob")
    assert (await _answer(practice, cookie, dob="19th of July")).status == 400
    assert (await _answer(practice, cookie)).status == 400
    foreign = {"Cookie": f"__Host-tlh_link={cookie}", "Origin": "https://evil.example"}
    response = await practice.client.post(
        "/api/v1/link/identity", json={"dob": DOB}, headers=foreign
    )
    assert response.status == 403
    no_cookie = await practice.client.get("/api/v1/link/state")
    assert no_cookie.status == 401


async def _wait_for_code(practice: Practice, sub: Any) -> str:
    """Wait for the identity message to be delivered and read the code from its file."""
    async with asyncio.timeout(10):
        while True:
            event = await sub.get()
            if event.type == "message.sent" and event.data["kind"] == "identity_code":
                break
    text = (mail_drop_dir(practice.data_dir) / f"{event.data['id']}.txt").read_text()
    found = re.search(r"code is (\d{6})\b", text)
    assert found, "no code in the text"
    return found.group(1)


async def test_a_code_sent_through_the_outbox_is_accepted_once(practice: Practice) -> None:
    link_id, cookie, _ = await _open_link(practice, "code")
    assert (await _state(practice, cookie))["identity"] == "code"
    sub = practice.client.app[BUS].subscribe()
    sent = await practice.client.post(
        "/api/v1/link/identity/code", json={"channel": "sms"}, headers=_headers(practice, cookie)
    )
    assert sent.status == 204
    code = await _wait_for_code(practice, sub)
    wrong = "000000" if code != "000000" else "111111"
    assert (await _answer(practice, cookie, code=wrong)).status == 403
    assert (await _answer(practice, cookie, code=code)).status == 204
    assert await verified(practice.client.app, link_id, cookie)
    assert (await _state(practice, cookie))["next"] == "consent"
    audit_text = "".join(p.read_text() for p in practice.data_dir.rglob("*audit*") if p.is_file())
    assert code not in audit_text


async def test_an_expired_code_fails(practice: Practice) -> None:
    _, cookie, _ = await _open_link(practice, "code")
    sub = practice.client.app[BUS].subscribe()
    headers = _headers(practice, cookie)
    sent = await practice.client.post(
        "/api/v1/link/identity/code", json={"channel": "sms"}, headers=headers
    )
    assert sent.status == 204
    code = await _wait_for_code(practice, sub)
    later = datetime.now(UTC) + identity.CODE_TTL + timedelta(seconds=5)
    practice.client.app[IDENTITY].clock = lambda: later
    response = await _answer(practice, cookie, code=code)
    assert response.status == 403
    assert (await response.json())["error"]["code"] == "identity_failed"


async def test_codes_need_a_known_address_and_a_channel(practice: Practice) -> None:
    _, cookie, _ = await _open_link(practice, "code", email=None)
    headers = _headers(practice, cookie)
    for body in ({"channel": "email"}, {"channel": "pigeon"}):
        response = await practice.client.post(
            "/api/v1/link/identity/code", json=body, headers=headers
        )
        assert response.status == 400


async def test_with_the_check_off_the_page_goes_straight_on(practice: Practice) -> None:
    link_id, cookie, redeemed = await _open_link(practice, "off")
    assert redeemed["next"] == "consent"
    state = await _state(practice, cookie)
    assert (state["next"], state["identity"]) == ("consent", "off")
    assert await verified(practice.client.app, link_id, cookie)


async def test_the_waiting_room_socket_needs_the_identity_check_passed(
    practice: Practice,
) -> None:
    _, cookie, _ = await _open_link(practice, "dob")
    refused = await practice.client.get("/api/v1/link/ws", headers=_headers(practice, cookie))
    assert refused.status == 403  # refused before the upgrade
    assert (await _answer(practice, cookie, dob=DOB)).status == 204
    ws = await practice.client.ws_connect("/api/v1/link/ws", headers=_headers(practice, cookie))
    await ws.send_json({"type": "hello", "device_id": "dev-1"})
    status = await asyncio.wait_for(ws.receive_json(), timeout=5)
    assert (status["type"], status["state"]) == ("status", "waiting")
    await ws.close()
