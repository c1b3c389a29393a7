"""Behind Caddy and behind nginx, run from the recipes in config/proxy/ as a practice
would: pages and the API pass through with HSTS, websockets pass through (with the
page's Origin), and tlh sees the client's own address (rate limits, audit, access log)
however the client dresses its headers; plain http at the proxy only redirects.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from .proxies import CLIENT_ADDRESS, Front, front, missing

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module", params=["caddy", "nginx"])
def proxied(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Front]:
    kind: str = request.param
    reason = missing(kind)
    if reason is not None:
        pytest.skip(reason)
    with front(kind, tmp_path_factory.mktemp(kind)) as running:
        yield running


def session(proxied: Front, source: str = CLIENT_ADDRESS) -> aiohttp.ClientSession:
    """A client on ``source`` (an address of this machine) trusting the proxy's CA."""
    connector = aiohttp.TCPConnector(ssl=proxied.context, local_addr=(source, 0))
    return aiohttp.ClientSession(connector=connector)


def admin(proxied: Front) -> dict[str, str]:
    return {"Authorization": f"Bearer {proxied.token}"}


async def test_pages_and_api_pass_through_with_hsts(proxied: Front) -> None:
    async with session(proxied) as http:
        async with http.get(f"{proxied.url}/api/v1/me", headers=admin(proxied)) as r:
            assert r.status == 200
            assert (await r.json())["email"] == "admin@example.org"
            assert r.headers["Strict-Transport-Security"].startswith("max-age=")
        async with http.get(f"{proxied.url}/j") as r:
            assert r.status == 200
            assert "Strict-Transport-Security" in r.headers
        # tlh's own port, plain http: no HSTS (the browser would ignore it anyway).
        async with http.get(f"{proxied.direct}/healthz") as r:
            assert r.status == 200
            assert "Strict-Transport-Security" not in r.headers


async def test_plain_http_at_the_proxy_redirects_to_https(proxied: Front) -> None:
    async with (
        session(proxied) as http,
        http.get(f"{proxied.http_url}/j", allow_redirects=False) as r,
    ):
        assert r.status in (301, 308)
        assert r.headers["Location"].startswith("https://localhost")


async def test_websockets_pass_through_with_the_pages_origin(proxied: Front) -> None:
    headers = {**admin(proxied), "Origin": proxied.url}
    async with (
        session(proxied) as http,
        http.ws_connect(
            f"{proxied.url.replace('https', 'wss')}/api/v1/events", headers=headers
        ) as ws,
    ):
        ready = json.loads((await ws.receive(timeout=10)).data)
        assert ready["type"] == "events.ready"
        async with http.post(
            f"{proxied.url}/api/v1/staff",
            headers=admin(proxied),
            json={"email": f"{proxied.kind}@example.org", "name": "Sam", "role": "scheduler"},
        ) as r:
            assert r.status == 201
            made = (await r.json())["staff"]["id"]
        message = await ws.receive(timeout=10)
        event = json.loads(message.data)
        assert event["type"] == "staff.created"
        assert event["data"] == {"id": made}


async def failures_from(proxied: Front, source: str, forged: dict[str, str], n: int) -> list[int]:
    statuses = []
    async with session(proxied, source) as http:
        for _ in range(n):
            headers = {"Authorization": "Bearer not-a-token", **forged}
            async with http.get(f"{proxied.url}/api/v1/me", headers=headers) as r:
                statuses.append(r.status)
    return statuses


async def audit(proxied: Front, source: str = "127.0.0.4") -> list[dict[str, Any]]:
    async with (
        session(proxied, source) as http,
        http.get(f"{proxied.url}/api/v1/audit", headers=admin(proxied)) as r,
    ):
        assert r.status == 200
        items: list[dict[str, Any]] = (await r.json())["items"]
        return items


async def test_limits_and_audit_see_the_client_not_the_proxy_nor_its_claims(
    proxied: Front,
) -> None:
    forged = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    statuses = await failures_from(proxied, "127.0.0.5", forged, 11)
    assert statuses == [401] * 10 + [429]
    # Another client behind the same proxy is not locked out by the first one.
    assert await failures_from(proxied, "127.0.0.6", {}, 1) == [401]
    entries = await audit(proxied)
    failed = [e["source"] for e in entries if e["action"] == "auth.failed"]
    assert "127.0.0.5" in failed
    assert "127.0.0.6" in failed
    assert not any(s in ("203.0.113.9", "127.0.0.1") for s in failed)
    reads = [e for e in await audit(proxied) if e["action"] == "audit.read"]
    assert reads[-1]["source"] == "127.0.0.4"  # the admin's own read, from its address
    assert '127.0.0.5 "GET /api/v1/me" 401' in proxied.log_text()


async def test_an_untrusted_senders_forwarded_headers_are_ignored(proxied: Front) -> None:
    # Straight to tlh from 127.0.0.7, not a trusted proxy: its claims count for nothing.
    forged = {
        "Authorization": "Bearer not-a-token",
        "X-Forwarded-For": "203.0.113.10",
        "X-Forwarded-Proto": "https",
    }
    async with (
        session(proxied, "127.0.0.7") as http,
        http.get(f"{proxied.direct}/api/v1/me", headers=forged) as r,
    ):
        assert r.status == 401
        assert "Strict-Transport-Security" not in r.headers
    failed = [e["source"] for e in await audit(proxied) if e["action"] == "auth.failed"]
    assert "127.0.0.7" in failed
    assert "203.0.113.10" not in failed


async def test_forwarded_proto_http_on_an_https_practice(proxied: Front) -> None:
    # A trusted proxy (127.0.0.1) that let a client in over plain http.
    plain = {"X-Forwarded-Proto": "http", "X-Forwarded-For": "198.51.100.4"}
    async with session(proxied, "127.0.0.1") as http:
        async with http.get(f"{proxied.direct}/j?x=1", headers=plain, allow_redirects=False) as r:
            assert r.status == 308
            assert r.headers["Location"] == f"{proxied.url}/j?x=1"
        async with http.post(
            f"{proxied.direct}/api/v1/link/redeem", headers=plain, json={"token": "x" * 43}
        ) as r:
            assert r.status == 400
            body = await r.json()
            assert (
                body["error"]["message"]
                == f"this practice is reached over https: use {proxied.url}"
            )


def test_the_recipes_are_the_files_the_readme_names() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "config/proxy/Caddyfile" in readme
    assert "config/proxy/nginx.conf" in readme
