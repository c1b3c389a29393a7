"""``/readyz`` beside ``/healthz``, and Prometheus ``/metrics``: off by default, behind its
own token, counts and timings with no patient's name or id in them."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from tests.server.conftest import make_practice
from tests.server.rooms_helpers import guest
from tlh.server.keys import BACKGROUND

from .running import tlh

pytestmark = pytest.mark.timeout(60)

TOKEN = "scrape-token-0123456789abcdef"


def token_file(tmp_path: Path, token: str = TOKEN) -> Path:
    path = tmp_path / "metrics-token"
    path.write_text(token + "\n")
    return path


async def scrape(practice: Any, token: str | None = TOKEN) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await practice.client.get("/metrics", headers=headers)
    return response.status, await response.text()


def sample(text: str, name: str) -> float:
    found = re.search(rf"^{re.escape(name)} ([0-9.e+-]+)$", text, re.M)
    assert found, f"{name} not in the metrics"
    return float(found.group(1))


async def test_metrics_are_off_by_default_and_look_like_any_unknown_path(
    tmp_path: Path, aiohttp_client: Any
) -> None:
    practice = await make_practice(tmp_path / "data", aiohttp_client)
    off = await practice.client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    unknown = await practice.client.get("/nothing-here")
    assert off.status == unknown.status == 404
    assert await off.json() == await unknown.json()


async def test_metrics_need_the_token_and_show_counts_only(
    tmp_path: Path, aiohttp_client: Any
) -> None:
    practice = await make_practice(
        tmp_path / "data", aiohttp_client, metrics_token_file=token_file(tmp_path)
    )
    status, made = await practice.call("POST", "/api/v1/clients", json={"name": "Zebulon Quay"})
    assert status == 201
    peer, _ = await guest(practice, display_name="Ottilie Guest")
    assert (await scrape(practice, None))[0] == 401
    assert (await scrape(practice, "wrong-token-0123456789"))[0] == 401
    status, text = await scrape(practice)
    assert status == 200
    assert sample(text, "tlh_people_waiting") == 1
    assert sample(text, "tlh_sessions_live") == 0
    assert sample(text, "tlh_relayed_streams") == 0
    assert sample(text, "tlh_outbox_worker_up") == 1
    assert sample(text, 'tlh_outbox_messages{state="queued"}') >= 0
    assert sample(text, "tlh_websockets_open") == 1
    assert 'tlh_http_request_seconds_count{method="POST",route="/api/v1/clients"} 1.0' in text
    # The hello is timed until its handler returns, just after its answer went out.
    hello = 'tlh_signalling_seconds_count{socket="participant",type="hello"} 1.0'
    async with asyncio.timeout(5):
        while hello not in text:
            await asyncio.sleep(0.01)  # polling the scrape, bounded by the timeout
            text = (await scrape(practice))[1]
    for private in ("Zebulon", "Ottilie", made["id"], "lee@example.org"):
        assert private not in text
    await peer.ws.close()


async def test_readyz_names_what_is_not_ready(tmp_path: Path, aiohttp_client: Any) -> None:
    practice = await make_practice(tmp_path / "data", aiohttp_client)
    ready = await practice.client.get("/readyz")
    assert ready.status == 200
    assert await ready.json() == {"ok": True, "store": True, "outbox": True, "rooms": True}
    await practice.client.app[BACKGROUND].worker.close()  # the sender stopped: not ready
    stopped = await practice.client.get("/readyz")
    assert stopped.status == 503
    assert await stopped.json() == {"ok": False, "store": True, "outbox": False, "rooms": True}
    healthy = await practice.client.get("/healthz")
    assert healthy.status == 200  # alive, though not ready


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "cannot read it (No such file or directory)"),
        ("short", "the token needs 16 characters or more"),
    ],
)
def test_a_bad_token_file_stops_the_start_in_one_line(
    tmp_path: Path, content: str | None, says: str
) -> None:
    import asyncio

    from tlh.services.bootstrap import init_practice

    data = tmp_path / "data"
    asyncio.run(init_practice(data, "P", "UTC", "a@example.org"))
    path = tmp_path / "metrics-token"
    if content is not None:
        path.write_text(content)
    (data / "tlh.toml").write_text(f'[metrics]\ntoken_file = "{path}"\n')
    proc = tlh("serve", "--data-dir", str(data), "--port", "0")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 5
    assert err.strip() == f"error: [metrics] token_file {path}: {says}"
