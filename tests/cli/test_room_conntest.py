"""``tlh room list`` shows a waiting client's connection test next to their device check."""

from __future__ import annotations

import aiohttp

from tlh.media.participant import Participant

from .conftest import Live
from .room_helpers import book, cli, link_token

FIGURES = {"rtt_ms": 620.0, "jitter_ms": 4.0, "loss_pct": 0.0, "bitrate_kbps": 480.0}


async def post_result(live: Live, token: str, device_id: str) -> str:
    """Redeem the link as the page does and post a connection test result; the verdict."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        headers = {"Origin": live.url}
        async with http.post(
            f"{live.url}/api/v1/link/redeem", json={"token": token}, headers=headers
        ) as redeemed:
            assert redeemed.status == 200
            cookie = redeemed.cookies["__Host-tlh_link"].value
        headers["Cookie"] = f"__Host-tlh_link={cookie}"
        async with http.post(
            f"{live.url}/api/v1/link/conntest/result",
            json={"device_id": device_id, **FIGURES},
            headers=headers,
        ) as response:
            assert response.status == 200
            return str((await response.json())["test"]["verdict"])


async def test_the_table_shows_the_connection_verdict(live: Live) -> None:
    booked = await book(live)
    token = await link_token(live, booked.appt_id)
    assert await post_result(live, token, "dev_tested") == "poor"  # a 620 ms round trip
    participant = Participant(live.url, link_token=token, device_id="dev_tested")
    try:
        await participant.start()
        await participant.wait_state("waiting", within=5)
        result = await cli(live, "room", "list", token=booked.clinician_token)
        assert result.exit_code == 0, result.stderr
        [row] = [line for line in result.stdout.splitlines() if participant.entry_id in line]
        assert "net poor" in row
    finally:
        await participant.close()
