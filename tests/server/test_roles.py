"""The whole role x route matrix: every route declares roles, and they are enforced."""

from __future__ import annotations

import re

import pytest

from tlh.server.http import ROLES_ATTR

from .conftest import Practice

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
