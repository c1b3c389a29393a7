"""A socket's heartbeat keeps its own time: aiohttp rounds a timer longer than its
``timeout_ceil_threshold`` up to the whole second, so every socket opened within a
second was pinged on the same tick (10,000 waiting pages: a stall of 100-200 ms each
heartbeat). ``tlh serve`` sets the threshold above the heartbeat."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import pytest

from tlh.services.bootstrap import init_practice

from .running import serving

pytestmark = pytest.mark.timeout(60)

HEARTBEAT_S = 6  # above aiohttp's default threshold (5 s): rounded up before


async def test_a_socket_is_pinged_a_heartbeat_after_it_opened_not_on_the_next_second(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    token = await init_practice(data_dir, "Heartbeat Practice", "UTC", "admin@example.org")
    (data_dir / "tlh.toml").write_text(f"[limits]\nws_heartbeat_s = {HEARTBEAT_S}\n")
    with serving(data_dir) as (_, url, _):
        async with aiohttp.ClientSession() as http:
            # Open it half-way through a second of the clock the server's loop reads
            # (CLOCK_MONOTONIC, shared by the processes): a ping rounded up to the whole
            # second would then come half a second late. Choosing when to start, not
            # waiting for an event: at most one second.
            await asyncio.sleep((0.4 - time.monotonic() % 1.0) % 1.0)
            headers = {"Authorization": f"Bearer {token}"}
            async with http.ws_connect(
                url + "/api/v1/events", headers=headers, autoping=False
            ) as ws:
                opened = time.monotonic()
                async with asyncio.timeout(HEARTBEAT_S + 5):
                    while (msg := await ws.receive()).type is not aiohttp.WSMsgType.PING:
                        assert msg.type is aiohttp.WSMsgType.TEXT, msg
                pinged = time.monotonic()
                await ws.pong(msg.data)
    late = pinged - opened - HEARTBEAT_S
    assert -0.1 < late < 0.25, f"pinged {late:+.2f} s after a heartbeat"
