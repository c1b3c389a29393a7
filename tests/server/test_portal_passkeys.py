"""Passkeys on the client portal (issue 13), against the real app and store: add one
after a code sign-in, sign in with it into the same session cookie, list and remove;
a replayed assertion, another site's origin, an unknown or cloned credential, a revoked
person, a malformed body, an expired challenge: each refused with its code, audited,
and counted against the sign-in rate limit."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tlh.domain.models import Client
from tlh.domain.passkeys import PortalPasskey
from tlh.messaging.config import MessagingConfig
from tlh.server.keys import PORTAL_PASSKEYS, STORE
from tlh.services.context import SYSTEM
from tlh.store.base import note

from .conftest import Practice, make_practice
from .outreach_helpers import add_client
from .passkey_authenticator import SoftAuthenticator, b64, unb64
from .portal_helpers import signed_in

#: The practice's public URL (behind a TLS proxy): the rp id is its host.
PUBLIC = "https://portal.example.org"


@pytest.fixture
async def practice(tmp_path: Path, aiohttp_client: Any) -> Practice:
    return await make_practice(
        tmp_path / "data", aiohttp_client, messaging=MessagingConfig(public_url=PUBLIC)
    )


def _headers(cookie: str | None = None) -> dict[str, str]:
    found = {"Origin": PUBLIC}
    if cookie is not None:
        found["Cookie"] = f"__Host-tlh_portal={cookie}"
    return found


async def _call(
    practice: Practice, method: str, path: str, cookie: str | None = None, **kw: Any
) -> tuple[int, Any]:
    response = await practice.client.request(method, path, headers=_headers(cookie), **kw)
    body = await response.json() if response.status != 204 else None
    return response.status, body


async def _added(practice: Practice, cookie: str) -> SoftAuthenticator:
    """A passkey added by the signed-in person (the authenticator holding it)."""
    status, options = await _call(practice, "POST", "/api/v1/portal/passkeys/options", cookie)
    assert status == 200, options
    authenticator = SoftAuthenticator(PUBLIC)
    credential = authenticator.create(options)
    status, made = await _call(
        practice, "POST", "/api/v1/portal/passkeys", cookie, json={"credential": credential}
    )
    assert status == 201, made
    return authenticator


async def _assertion(practice: Practice, authenticator: SoftAuthenticator, **kw: Any) -> Any:
    status, options = await _call(practice, "POST", "/api/v1/portal/passkeys/sign-in-options")
    assert status == 200, options
    return authenticator.get(options, **kw)


async def _sign_in(practice: Practice, credential: Any) -> Any:
    return await practice.client.post(
        "/api/v1/portal/passkeys/sign-in", json={"credential": credential}, headers=_headers()
    )


async def _audit(practice: Practice) -> list[dict[str, Any]]:
    status, log = await practice.call("GET", "/api/v1/audit")
    assert status == 200
    return list(log["items"])


async def _refused(practice: Practice, credential: Any, status: int, code: str) -> None:
    response = await _sign_in(practice, credential)
    body = await response.json()
    assert (response.status, body["error"]["code"]) == (status, code), body
    assert "__Host-tlh_portal" not in response.cookies


async def test_add_a_passkey_then_sign_in_with_it(practice: Practice) -> None:
    client_id = await add_client(practice)
    cookie = await signed_in(practice, "ana@example.org")
    status, options = await _call(practice, "POST", "/api/v1/portal/passkeys/options", cookie)
    assert status == 200
    # What the authenticator is told: the host, a neutral label, a random handle.
    assert options["rp"] == {"id": "portal.example.org", "name": "Test Practice"}
    assert options["user"]["name"] == options["user"]["displayName"] == "Client portal"
    assert client_id.encode() not in unb64(options["user"]["id"])
    assert len(unb64(options["user"]["id"])) == 32
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    authenticator = SoftAuthenticator(PUBLIC)
    status, made = await _call(
        practice,
        "POST",
        "/api/v1/portal/passkeys",
        cookie,
        json={"credential": authenticator.create(options)},
    )
    assert status == 201, made
    assert made["transports"] == ["internal"]
    assert made["last_used_at"] is None

    response = await _sign_in(practice, await _assertion(practice, authenticator))
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["clients"] == [{"id": client_id, "name": "Ana Client", "relation": "self"}]
    morsel = response.cookies["__Host-tlh_portal"]
    assert morsel["httponly"]
    assert morsel["secure"]
    assert morsel["samesite"] == "Strict"
    fresh = morsel.value
    status, listed = await _call(practice, "GET", "/api/v1/portal/passkeys", fresh)
    assert status == 200
    [one] = listed["items"]
    assert one["id"] == made["id"]
    assert one["last_used_at"] is not None

    stored = list(await practice.client.app[STORE].all(PortalPasskey))
    assert len(stored) == 1
    assert stored[0].sign_count == 1
    assert "Ana" not in repr(stored)
    assert "ana@" not in repr(stored)
    names = {e["action"] for e in await _audit(practice)}
    assert {"portal.passkey.add", "portal.passkey.use", "portal.sign_in"} <= names


async def test_a_replayed_assertion_is_refused_and_audited(practice: Practice) -> None:
    await add_client(practice)
    authenticator = await _added(practice, await signed_in(practice, "ana@example.org"))
    credential = await _assertion(practice, authenticator)
    assert (await _sign_in(practice, credential)).status == 200
    await _refused(practice, credential, 401, "passkey_expired")
    assert "portal.passkey.failed.passkey_expired" in {e["action"] for e in await _audit(practice)}


async def test_another_sites_origin_is_refused(practice: Practice) -> None:
    await add_client(practice)
    authenticator = await _added(practice, await signed_in(practice, "ana@example.org"))
    credential = await _assertion(practice, authenticator, origin="https://evil.example.net")
    await _refused(practice, credential, 403, "passkey_origin")
    assert "portal.passkey.failed.passkey_origin" in {e["action"] for e in await _audit(practice)}


async def test_an_unknown_or_cloned_credential_is_refused(practice: Practice) -> None:
    await add_client(practice)
    authenticator = await _added(practice, await signed_in(practice, "ana@example.org"))
    stranger = SoftAuthenticator(PUBLIC)
    stranger.rp_id, stranger.user_handle = authenticator.rp_id, authenticator.user_handle
    await _refused(practice, await _assertion(practice, stranger), 401, "passkey_unknown")
    assert (await _sign_in(practice, await _assertion(practice, authenticator))).status == 200
    # A copy of the key whose counter did not move on (a cloned authenticator).
    cloned = await _assertion(practice, authenticator, count=False)
    await _refused(practice, cloned, 401, "passkey_invalid")
    # A signature that does not match.
    forged = await _assertion(practice, authenticator)
    forged["response"]["signature"] = b64(b"\x30\x06\x02\x01\x01\x02\x01\x01")
    await _refused(practice, forged, 401, "passkey_invalid")


async def test_a_revoked_persons_passkey_no_longer_signs_in(practice: Practice) -> None:
    client_id = await add_client(practice)
    authenticator = await _added(practice, await signed_in(practice, "ana@example.org"))
    # Access turned off without tlh portal revoke (the record changed): refused, kept.
    store = practice.client.app[STORE]

    def off(record: Any) -> Any:
        assert isinstance(record, Client)
        return msgspec.structs.replace(record, portal=False)

    await store.update(Client, client_id, off, audit=[note(SYSTEM, "test.portal.off", client_id)])
    await _refused(practice, await _assertion(practice, authenticator), 401, "passkey_revoked")
    # tlh portal revoke removes the person's passkeys.
    status, _ = await practice.call("POST", "/api/v1/portal/revoke", json={"client_id": client_id})
    assert status == 200
    assert list(await store.all(PortalPasskey)) == []
    await _refused(practice, await _assertion(practice, authenticator), 401, "passkey_unknown")
    assert "portal.passkey.remove" in {e["action"] for e in await _audit(practice)}


async def test_malformed_bodies_are_one_line_400s(practice: Practice) -> None:
    for body in (
        b"not json",
        b'{"credential": {}}',
        b'{"credential": {"id": "a", "rawId": "a", "type": "public-key", "response": '
        b'{"clientDataJSON": "bm90IGpzb24", "authenticatorData": "", "signature": ""}}}',
        b'{"credential": {"id": "a", "rawId": "a", "type": "public-key", "response": '
        b'{"clientDataJSON": "!!", "authenticatorData": "", "signature": ""}}}',
    ):
        response = await practice.client.post(
            "/api/v1/portal/passkeys/sign-in", data=body, headers=_headers()
        )
        answer = await response.json()
        assert response.status == 400, answer
        assert answer["error"]["code"] == "bad_request"
        assert "\n" not in answer["error"]["message"]
    failed = [e for e in await _audit(practice) if e["action"].startswith("portal.passkey.failed")]
    assert [e["action"] for e in failed] == ["portal.passkey.failed.bad_request"] * 4


async def test_an_expired_challenge_and_a_foreign_page_are_refused(practice: Practice) -> None:
    await add_client(practice)
    authenticator = await _added(practice, await signed_in(practice, "ana@example.org"))
    credential = await _assertion(practice, authenticator)
    passkeys = practice.client.app[PORTAL_PASSKEYS]
    was = passkeys.clock
    passkeys.clock = lambda: was() + timedelta(minutes=6)
    await _refused(practice, credential, 401, "passkey_expired")
    response = await practice.client.post(
        "/api/v1/portal/passkeys/sign-in-options", headers={"Origin": "https://evil.example.net"}
    )
    assert response.status == 403


async def test_failures_are_rate_limited_like_wrong_codes(practice: Practice) -> None:
    stranger = SoftAuthenticator(PUBLIC)
    stranger.rp_id = "portal.example.org"
    statuses = [
        (await _sign_in(practice, await _assertion(practice, stranger))).status for _ in range(20)
    ]
    assert set(statuses) == {401}
    response = await _sign_in(practice, stranger.get({"challenge": "AAAA"}))
    assert response.status == 429
    assert "Retry-After" in response.headers or (await response.json())["error"]["details"]


async def test_list_and_remove_only_ones_own_passkeys(practice: Practice) -> None:
    await add_client(practice)
    await add_client(practice, name="Ben Client", email="ben@example.org")
    ana = await signed_in(practice, "ana@example.org")
    authenticator = await _added(practice, ana)
    second = await _added(practice, ana)  # another device
    ben = await signed_in(practice, "ben@example.org")
    status, listed = await _call(practice, "GET", "/api/v1/portal/passkeys", ana)
    assert status == 200
    assert len(listed["items"]) == 2
    ana_first = listed["items"][0]["id"]
    assert (await _call(practice, "GET", "/api/v1/portal/passkeys", ben))[1] == {"items": []}
    status, body = await _call(practice, "DELETE", f"/api/v1/portal/passkeys/{ana_first}", ben)
    assert (status, body["error"]["code"]) == (404, "not_found")
    status, _ = await _call(practice, "DELETE", f"/api/v1/portal/passkeys/{ana_first}", ana)
    assert status == 204
    await _refused(practice, await _assertion(practice, authenticator), 401, "passkey_unknown")
    assert (await _sign_in(practice, await _assertion(practice, second))).status == 200
    # The same user handle for both: one person, one account on an authenticator.
    assert authenticator.user_handle == second.user_handle


async def test_adding_needs_a_session_and_its_own_challenge(practice: Practice) -> None:
    await add_client(practice)
    await add_client(practice, name="Ben Client", email="ben@example.org")
    ana = await signed_in(practice, "ana@example.org")
    ben = await signed_in(practice, "ben@example.org")
    status, body = await _call(practice, "POST", "/api/v1/portal/passkeys/options")
    assert (status, body["error"]["code"]) == (401, "unauthenticated")
    status, options = await _call(practice, "POST", "/api/v1/portal/passkeys/options", ana)
    credential = SoftAuthenticator(PUBLIC).create(options)
    status, body = await _call(
        practice, "POST", "/api/v1/portal/passkeys", ben, json={"credential": credential}
    )
    assert (status, body["error"]["code"]) == (401, "passkey_expired")
    assert list(await practice.client.app[STORE].all(PortalPasskey)) == []


async def test_an_ip_address_cannot_be_a_relying_party(tmp_path: Path, aiohttp_client: Any) -> None:
    practice = await make_practice(tmp_path / "data", aiohttp_client)
    await add_client(practice)
    cookie = await signed_in(practice, "ana@example.org")
    response = await practice.client.post(
        "/api/v1/portal/passkeys/options",
        headers={
            "Cookie": f"__Host-tlh_portal={cookie}",
            "Origin": str(practice.client.make_url("/")).rstrip("/"),
        },
    )
    body = await response.json()
    assert (response.status, body["error"]["code"]) == (409, "conflict")
    assert "host name" in body["error"]["message"]


async def test_a_caregiver_adds_a_passkey_and_signs_in_for_their_client(
    practice: Practice,
) -> None:
    client_id = await add_client(practice, email=None, phone="+12025550178")
    status, made = await practice.call(
        "POST",
        f"/api/v1/clients/{client_id}/contacts",
        json={"name": "Pat Parent", "email": "pat@example.org", "portal": True},
    )
    assert status == 201, made
    authenticator = await _added(practice, await signed_in(practice, "pat@example.org"))
    response = await _sign_in(practice, await _assertion(practice, authenticator))
    assert response.status == 200
    body = await response.json()
    assert body["kind"] == "contact"
    assert [c["id"] for c in body["clients"]] == [client_id]
    [record] = await practice.client.app[STORE].all(PortalPasskey)
    assert record.client_id is None
    assert record.contact_client_ids == (client_id,)


async def test_adding_a_passkey_needs_a_recent_sign_in(practice: Practice) -> None:
    await add_client(practice)
    cookie = await signed_in(practice, "ana@example.org")
    passkeys = practice.client.app[PORTAL_PASSKEYS]
    was = passkeys.clock
    passkeys.clock = lambda: was() + timedelta(minutes=16)
    status, body = await _call(practice, "POST", "/api/v1/portal/passkeys/options", cookie)
    assert (status, body["error"]["code"]) == (403, "passkey_reauth")
    passkeys.clock = was
    status, _ = await _call(practice, "POST", "/api/v1/portal/passkeys/options", cookie)
    assert status == 200


async def test_a_family_sharing_one_address_signs_in_for_both(practice: Practice) -> None:
    first = await add_client(practice)
    second = await add_client(practice, name="Kit Client", email="ana@example.org")
    authenticator = await _added(practice, await signed_in(practice, "ana@example.org"))
    response = await _sign_in(practice, await _assertion(practice, authenticator))
    assert response.status == 200
    assert {c["id"] for c in (await response.json())["clients"]} == {first, second}
    # Revoking the second removes the shared passkey (it stands for both).
    status, _ = await practice.call("POST", "/api/v1/portal/revoke", json={"client_id": second})
    assert status == 200
    assert list(await practice.client.app[STORE].all(PortalPasskey)) == []
