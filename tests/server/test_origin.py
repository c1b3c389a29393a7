"""One Origin policy for every browser route and socket, with and without ``public_url``
and ``allowed_origins``.

Behind a TLS proxy the clinician's call page is ``https://tele.example.org`` while the
request reaches the server as plain HTTP: its POSTs passed and its event socket was
refused (403), because three checks disagreed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSServerHandshakeError

from tlh.messaging.config import MessagingConfig
from tlh.server.origin import origin_of
from tlh.services.staff_web import COOKIE as STAFF_COOKIE

from .call_helpers import staff_cookie
from .conftest import Practice, make_practice
from .outreach_helpers import origin
from .rooms_helpers import guest_cookie

TELE = "https://tele.example.org"
WWW = "https://www.example.org"
EVIL = "https://evil.example"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://tele.example.org", TELE),
        ("https://Tele.Example.org/", TELE),
        ("https://tele.example.org:443/clinic/", TELE),
        ("https://tele.example.org:8443", "https://tele.example.org:8443"),
        ("http://127.0.0.1:80", "http://127.0.0.1"),
        ("http://[::1]:8765", "http://[::1]:8765"),
        ("null", None),
        ("tele.example.org", None),
        ("ftp://tele.example.org", None),
        ("https://tele.example.org:notaport", None),
    ],
)
def test_origin_of_writes_origins_as_browsers_do(url: str, expected: str | None) -> None:
    assert origin_of(url) == expected


@dataclass(frozen=True)
class Config:
    """Server settings, and the origins besides the server's own they allow."""

    name: str
    settings: dict[str, Any]
    allows: frozenset[str] = field(default_factory=frozenset)


CONFIGS = [
    Config("own only", {}),
    Config(
        "public_url",
        {"messaging": MessagingConfig(public_url="https://tele.example.org/")},
        frozenset({TELE}),
    ),
    Config("allowed_origins", {"allowed_origins": (WWW,)}, frozenset({WWW})),
    Config(
        "both",
        {
            "messaging": MessagingConfig(public_url="https://tele.example.org:443/clinic"),
            "allowed_origins": (f"{WWW}/",),
        },
        frozenset({TELE, WWW}),
    ),
]


async def _ws_status(practice: Practice, path: str, headers: dict[str, str]) -> int:
    try:
        ws = await practice.client.ws_connect(path, headers=headers)
    except WSServerHandshakeError as refused:
        return refused.status
    await ws.close()
    return 101


async def link_redeem(practice: Practice, headers: dict[str, str]) -> int:
    """The client page trading its link (a bogus one: 404 once the Origin passes)."""
    response = await practice.client.post(
        "/api/v1/link/redeem", json={"token": "x" * 43}, headers=headers
    )
    return response.status


async def participant_socket(practice: Practice, headers: dict[str, str]) -> int:
    cookie = await guest_cookie(practice)
    sent = {"Cookie": f"__Host-tlh_link={cookie}", **headers}
    return await _ws_status(practice, "/api/v1/link/ws", sent)


async def events_by_bearer(practice: Practice, headers: dict[str, str]) -> int:
    return await _ws_status(practice, "/api/v1/events", {**practice.auth("clinician"), **headers})


async def events_by_cookie(practice: Practice, headers: dict[str, str]) -> int:
    """The socket the clinician's call page opens (the one that broke behind a proxy)."""
    cookie = await staff_cookie(practice)
    return await _ws_status(
        practice, "/api/v1/events", {"Cookie": f"{STAFF_COOKIE}={cookie}", **headers}
    )


async def call_socket_by_cookie(practice: Practice, headers: dict[str, str]) -> int:
    cookie = await staff_cookie(practice)
    return await _ws_status(
        practice, "/api/v1/call/ws", {"Cookie": f"{STAFF_COOKIE}={cookie}", **headers}
    )


async def change_by_cookie(practice: Practice, headers: dict[str, str]) -> int:
    """Any change a staff page makes with its cookie (checked in the middleware)."""
    cookie = await staff_cookie(practice)
    response = await practice.client.patch(
        "/api/v1/me",
        json={"name": "Lee"},
        headers={"Cookie": f"{STAFF_COOKIE}={cookie}", **headers},
    )
    return response.status


async def call_page_logout(practice: Practice, headers: dict[str, str]) -> int:
    response = await practice.client.post("/api/v1/call-links/logout", headers=headers)
    return response.status


Probe = Callable[[Practice, dict[str, str]], Awaitable[int]]
#: Each browser-facing way in: (probe, its status when let through, a program may omit Origin).
PROBES: list[tuple[Probe, int, bool]] = [
    (link_redeem, 404, False),
    (participant_socket, 101, False),
    (events_by_bearer, 101, True),
    (events_by_cookie, 101, False),
    (call_socket_by_cookie, 101, False),
    (change_by_cookie, 200, False),
    (call_page_logout, 204, False),
]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.name)
@pytest.mark.parametrize(
    ("probe", "passed", "program"), PROBES, ids=[p[0].__name__ for p in PROBES]
)
async def test_every_route_and_socket_follows_the_one_policy(
    tmp_path: Path,
    aiohttp_client: Any,
    config: Config,
    probe: Probe,
    passed: int,
    program: bool,
) -> None:
    practice = await make_practice(tmp_path / "data", aiohttp_client, **config.settings)
    cases: list[tuple[str | None, bool]] = [
        (origin(practice), True),
        (TELE, TELE in config.allows),
        (WWW, WWW in config.allows),
        (EVIL, False),
        ("null", False),
        (f"{TELE}/", False),  # not how a browser writes an Origin
        (None, program),
    ]
    for sent, allowed in cases:
        headers = {} if sent is None else {"Origin": sent}
        status = await probe(practice, headers)
        assert status == (passed if allowed else 403), (sent, status)
