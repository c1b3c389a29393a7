"""A burst of hellos takes turns (``[rooms] hello_concurrency``): the pages beyond the
limit wait with their one frame read, every one of them still gets its place, and the
scrape counts the hellos that waited. Against ``tlh serve`` as a practice runs it, with
the limit set in its ``tlh.toml``."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.ops.running import api, redeem, serving
from tlh.services.bootstrap import init_practice

pytestmark = pytest.mark.timeout(60)

PAGES = 12
COOKIE = "__Host-tlh_link"
SCRAPE = "scrape-token-0123456789abcdef"


async def _waiting_pages(http: aiohttp.ClientSession, url: str, admin: str) -> list[Any]:
    """``PAGES`` guests of Lee's room, each with its link redeemed and its socket open."""
    lee = {"email": "lee@example.org", "name": "Lee", "role": "clinician", "telehealth": True}
    await api(http, url, admin, "POST", "/api/v1/staff", json=lee)
    sockets = []
    for _ in range(PAGES):
        invite = await api(
            http, url, admin, "POST", "/api/v1/invites/guest", json={"clinician": lee["email"]}
        )
        cookie = await redeem(http, url, invite["url"])
        headers = {"Origin": url, "Cookie": f"{COOKIE}={cookie}"}
        sockets.append(await http.ws_connect(url + "/api/v1/link/ws", headers=headers))
    return sockets


async def _status(ws: Any) -> dict[str, Any]:
    async for msg in ws:
        frame = json.loads(msg.data)
        if frame["type"] == "status":
            return dict(frame)
    raise AssertionError("the socket closed before its status")


async def test_a_burst_of_hellos_takes_turns_and_every_page_gets_its_place(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    admin = await init_practice(data_dir, "Turns Practice", "UTC", "admin@example.org")
    scrape_token = tmp_path / "scrape-token"
    scrape_token.write_text(SCRAPE + "\n")
    config = f"[rooms]\nhello_concurrency = 2\n[metrics]\ntoken_file = '{scrape_token}'\n"
    (data_dir / "tlh.toml").write_text(config)
    with serving(data_dir) as (_, url, _):
        async with aiohttp.ClientSession() as http:
            sockets = await _waiting_pages(http, url, admin)
            hello = json.dumps({"type": "hello", "device_id": "dev_1"})
            # All at once: each hello waits a durable write, so more than two are in hand.
            await asyncio.gather(*(ws.send_str(hello) for ws in sockets))
            async with asyncio.timeout(20):
                statuses = await asyncio.gather(*(_status(ws) for ws in sockets))
            assert [s["state"] for s in statuses] == ["waiting"] * PAGES
            assert sorted(s["position"] for s in statuses) == list(range(1, PAGES + 1))
            headers = {"Authorization": f"Bearer {SCRAPE}"}
            async with http.get(url + "/metrics", headers=headers) as answer:
                text = await answer.text()
            found = re.search(r"^tlh_hellos_queued_total ([0-9.e+]+)$", text, re.M)
            assert found, "no count of the hellos that waited their turn"
            # Two at a time: of twelve sent together, some had to wait (on a slow machine
            # the first may finish before the last arrives, so not exactly ten).
            assert 1 <= float(found.group(1)) <= PAGES - 2
            for ws in sockets:
                await ws.close()
