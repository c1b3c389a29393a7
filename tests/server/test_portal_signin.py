"""Client portal sign-in (issue 13): a code through the outbox, the same answer for any
address, tries and rate limits, the session cookie, idle timeout, signing out."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from tlh.domain.live_records import PortalSession
from tlh.domain.messages import Message, MessageKind
from tlh.server.keys import BUS, PORTAL_CODES, PORTAL_SESSIONS, STORE
from tlh.server.settings import Settings
from tlh.services.portal_signin import MAX_TRIES

from .conftest import Practice, make_practice, serve_app
from .outreach_helpers import add_client
from .portal_helpers import ask_code, code_sent, headers, me, sign_in, signed_in


async def _portal_codes(practice: Practice) -> list[Message]:
    store = practice.client.app[STORE]
    return [m for m in await store.all(Message) if m.kind is MessageKind.PORTAL_CODE]


async def _audit_actions(practice: Practice) -> list[str]:
    status, log = await practice.call("GET", "/api/v1/audit")
    assert status == 200
    return [e["action"] for e in log["items"]]


def _later(practice: Practice, key: Any, minutes: float) -> None:
    """Move the portal part's clock ``minutes`` on."""
    part = practice.client.app[key]
    was = part.clock
    part.clock = lambda: was() + timedelta(minutes=minutes)


async def test_a_client_signs_in_with_the_code_sent_to_their_email(practice: Practice) -> None:
    client_id = await add_client(practice)
    cookie = await signed_in(practice, "ANA@example.org ")
    answer = await me(practice, cookie)
    assert answer.status == 200
    body = await answer.json()
    assert body["kind"] == "client"
    assert body["clients"] == [{"id": client_id, "name": "Ana Client", "relation": "self"}]
    assert body["notice_min"] == 10
    # Only the hash of the cookie is kept.
    records = list(await practice.client.app[STORE].all(PortalSession))
    assert len(records) == 1
    assert cookie not in repr(records)
    assert "portal.sign_in" in await _audit_actions(practice)


async def test_the_cookie_is_host_only_httponly_secure_and_strict(practice: Practice) -> None:
    await add_client(practice, phone="+12025550178")

    sub = practice.client.app[BUS].subscribe()
    await ask_code(practice, "(202) 555-0178")
    code = await code_sent(practice, sub)
    sub.close()
    response = await sign_in(practice, "+1 202 555 0178", code)
    assert response.status == 200
    raw = response.headers["Set-Cookie"]
    assert raw.startswith("__Host-tlh_portal=")
    for part in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/"):
        assert part in raw
    assert "Domain" not in raw


async def test_an_unknown_address_gets_the_same_answer_and_nothing_is_sent(
    practice: Practice,
) -> None:
    await add_client(practice)
    known = await ask_code(practice, "ana@example.org")
    unknown = await ask_code(practice, "nobody@example.org")
    assert (known.status, unknown.status) == (202, 202)
    assert await known.read() == await unknown.read()
    await practice.client.app[PORTAL_CODES].aclose()  # the background sends are done
    assert [m.to for m in await _portal_codes(practice)] == ["ana@example.org"]
    # A code for the unknown address fails as a wrong code does.
    failed = await sign_in(practice, "nobody@example.org", "123456")
    assert failed.status == 401
    assert (await failed.json())["error"]["code"] == "sign_in_failed"


async def test_wrong_codes_lock_the_address_after_the_limit_and_are_audited(
    practice: Practice,
) -> None:
    await add_client(practice)

    sub = practice.client.app[BUS].subscribe()
    await ask_code(practice, "ana@example.org")
    code = await code_sent(practice, sub)
    sub.close()
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(MAX_TRIES):
        answer = await sign_in(practice, "ana@example.org", wrong)
        assert answer.status == 401
    # Past the limit even the right code is refused.
    locked = await sign_in(practice, "ana@example.org", code)
    assert locked.status == 429
    actions = await _audit_actions(practice)
    assert actions.count("portal.sign_in.failed") == MAX_TRIES
    assert "portal.sign_in.locked" in actions
    # A new code does not give more tries.
    await ask_code(practice, "ana@example.org")
    assert (await sign_in(practice, "ana@example.org", wrong)).status == 429


async def test_an_expired_code_is_refused(practice: Practice) -> None:
    await add_client(practice)

    sub = practice.client.app[BUS].subscribe()
    await ask_code(practice, "ana@example.org")
    code = await code_sent(practice, sub)
    sub.close()
    _later(practice, PORTAL_CODES, 10.5)
    answer = await sign_in(practice, "ana@example.org", code)
    assert answer.status == 401
    assert "portal.sign_in.failed" in await _audit_actions(practice)


async def test_code_requests_are_limited_per_address(practice: Practice) -> None:
    statuses = [(await ask_code(practice, "someone@example.org")).status for _ in range(6)]
    assert statuses == [202] * 5 + [429]
    # Another address from the same place still gets its answer.
    assert (await ask_code(practice, "other@example.org")).status == 202


async def test_a_bad_address_is_one_clear_line(practice: Practice) -> None:
    answer = await ask_code(practice, "not an address")
    assert answer.status == 422
    error = (await answer.json())["error"]
    assert error["message"] == "type an email address or a mobile number"


async def test_every_post_refuses_a_foreign_origin(practice: Practice) -> None:
    await add_client(practice)
    cookie = await signed_in(practice, "ana@example.org")
    bodies = {
        "/api/v1/portal/code": {"address": "ana@example.org"},
        "/api/v1/portal/sign-in": {"address": "ana@example.org", "code": "123456"},
        "/api/v1/portal/sign-out": {"everywhere": True},
        "/api/v1/portal/join": {"appointment_id": "apt_x"},
    }
    for path, body in bodies.items():
        for sent in ({"Origin": "https://evil.example"}, {}):
            answer = await practice.client.post(
                path, json=body, headers={**sent, "Cookie": f"__Host-tlh_portal={cookie}"}
            )
            assert answer.status == 403, path
    assert (await me(practice, cookie)).status == 200  # still signed in


async def test_idle_sessions_sign_out(practice: Practice) -> None:
    await add_client(practice)
    cookie = await signed_in(practice, "ana@example.org")
    _later(practice, PORTAL_SESSIONS, 29)
    assert (await me(practice, cookie)).status == 200  # activity resets the clock
    _later(practice, PORTAL_SESSIONS, 30)
    answer = await me(practice, cookie)
    assert answer.status == 401
    error = (await answer.json())["error"]
    assert "30 minutes" in error["message"]
    assert error["details"] == {"reason": "idle"}  # the page words it in its language


async def test_sign_out_and_sign_out_everywhere(practice: Practice) -> None:
    await add_client(practice)
    phone = await signed_in(practice, "ana@example.org")
    laptop = await signed_in(practice, "ana@example.org")
    tablet = await signed_in(practice, "ana@example.org")
    out = await practice.client.post(
        "/api/v1/portal/sign-out", json={}, headers=headers(practice, phone)
    )
    assert out.status == 204
    assert (await me(practice, phone)).status == 401
    assert (await me(practice, laptop)).status == 200
    everywhere = await practice.client.post(
        "/api/v1/portal/sign-out", json={"everywhere": True}, headers=headers(practice, laptop)
    )
    assert everywhere.status == 204
    assert (await me(practice, laptop)).status == 401
    assert (await me(practice, tablet)).status == 401
    assert list(await practice.client.app[STORE].all(PortalSession)) == []
    assert "portal.sign_out.everywhere" in await _audit_actions(practice)


async def test_no_cookie_or_a_made_up_one_is_401(practice: Practice) -> None:
    assert (await practice.client.get("/api/v1/portal/me")).status == 401
    assert (await me(practice, "x" * 43)).status == 401


async def test_a_session_survives_a_restart_of_the_server(
    tmp_path: Path, aiohttp_client: Any
) -> None:
    practice = await make_practice(tmp_path / "data", aiohttp_client)
    await add_client(practice)
    cookie = await signed_in(practice, "ana@example.org")
    await practice.client.close()
    client = await serve_app(aiohttp_client, Settings(data_dir=practice.data_dir, port=0))
    again = replace(practice, client=client)
    answer = await me(again, cookie)
    assert answer.status == 200
    assert (await answer.json())["kind"] == "client"
    stored = "\n".join(
        p.read_text(errors="replace") for p in practice.data_dir.rglob("*") if p.is_file()
    )
    assert cookie not in stored


async def test_wrong_codes_are_limited_per_network_address_too(practice: Practice) -> None:
    # Guessing across many addresses from one place: 20 wrong codes, then 429 for all.
    answers = [
        (await sign_in(practice, f"guess{n}@example.org", "123456")).status for n in range(21)
    ]
    assert answers == [401] * 20 + [429]
    await add_client(practice)
    assert (await sign_in(practice, "ana@example.org", "123456")).status == 429


async def test_revoked_access_signs_out_and_sends_no_more_codes(practice: Practice) -> None:
    client_id = await add_client(practice)
    cookie = await signed_in(practice, "ana@example.org")
    status, done = await practice.call(
        "POST", "/api/v1/portal/revoke", json={"client_id": client_id}
    )
    assert (status, done) == (200, {"sessions_ended": 1})
    assert (await me(practice, cookie)).status == 401
    before = len(await _portal_codes(practice))
    asked = await ask_code(practice, "ana@example.org")
    assert asked.status == 202  # the same answer as ever
    await practice.client.app[PORTAL_CODES].aclose()
    assert len(await _portal_codes(practice)) == before
    # A clinician may not revoke or invite (admins and schedulers do).
    status, _ = await practice.call(
        "POST", "/api/v1/portal/invite", role="clinician", json={"client_id": client_id}
    )
    assert status == 403


async def test_a_locked_address_opens_again_after_the_lock_window(practice: Practice) -> None:
    await add_client(practice)
    for _ in range(MAX_TRIES):
        assert (await sign_in(practice, "ana@example.org", "999999")).status == 401
    assert (await sign_in(practice, "ana@example.org", "999999")).status == 429
    # Ten minutes on, someone guessing cannot keep the client out for ever.
    _later(practice, PORTAL_CODES, 10)
    sub = practice.client.app[BUS].subscribe()
    await ask_code(practice, "ana@example.org")
    code = await code_sent(practice, sub)
    sub.close()
    assert (await sign_in(practice, "ana@example.org", code)).status == 200


async def test_idle_sessions_are_swept_from_the_store_by_the_next_sign_in(
    practice: Practice,
) -> None:
    await add_client(practice)
    await add_client(practice, name="Bo Client", email="bo@example.org")
    await signed_in(practice, "ana@example.org")
    _later(practice, PORTAL_SESSIONS, 31)
    await signed_in(practice, "bo@example.org")
    kept = list(await practice.client.app[STORE].all(PortalSession))
    assert len(kept) == 1
    assert "portal.idle" in await _audit_actions(practice)
