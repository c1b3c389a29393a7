"""Failover: kill -9 of the server holding the rooms while people wait behind HAProxy.
They reconnect through the balancer to the other server within the reconnect grace and
keep their entries and places; the dashboard's view of the room is the same."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from tests.store.pg.failover import (
    active_server,
    fail_over,
    new_guest,
    pair_behind_haproxy,
    settled,
    waiting_people,
)
from tests.store.pg.practice import call

pytestmark = pytest.mark.timeout(180)

#: ``[rooms] reconnect_grace_s``'s default: how long a dropped person keeps their place.
GRACE_S = 60.0


def test_killing_the_active_server_keeps_everyone_in_line(tmp_path: Path, pg_url: str) -> None:
    with pair_behind_haproxy(tmp_path, pg_url) as pair:
        asyncio.run(_scenario(pair))
        for log in pair.logs:
            assert "Traceback" not in log.read_text()


async def _scenario(pair) -> None:  # type: ignore[no-untyped-def]
    async with aiohttp.ClientSession() as session:
        await settled(pair)
        people, lee = await waiting_people(pair, session, 4)
        # The last one is let into a call; the others wait in line.
        status, made = await call(pair.url, lee, "POST", "/api/v1/sessions", {"room": True})
        assert status == 201, made
        in_call = people[-1]
        status, admitted = await call(
            pair.url, lee, "POST", f"/api/v1/rooms/entries/{in_call.status['entry_id']}/admit", {}
        )
        assert status == 200, admitted
        in_call.resume = made["session"]["id"]
        line = people[:-1]
        before = {p.status["entry_id"]: p.status["position"] for p in line}
        assert sorted(before.values()) == [1, 2, 3]
        first = await active_server(pair)
        status, rooms = await call(pair.url, pair.token, "GET", "/api/v1/rooms")
        assert status == 200
        seen = {e["id"] for room in rooms["items"] for e in room["entries"]}
        assert seen == {*before, in_call.status["entry_id"]}

        took = await fail_over(pair, people, session)

        assert took < GRACE_S
        after = {p.status["entry_id"]: p.status["position"] for p in line}
        assert after == before  # same entries, same places
        # The one in the call is back in it (its page re-signals), not admitted again.
        second = await active_server(pair)
        assert second != first
        await settled(pair)
        status, rooms = await call(pair.url, pair.token, "GET", "/api/v1/rooms")
        assert status == 200
        entries = {e["id"]: e for room in rooms["items"] for e in room["entries"]}
        assert {i: entries[i]["position"] for i in before} == before
        assert entries[in_call.status["entry_id"]]["state"] == "admitted"
        assert all(e["online"] for e in entries.values())
        for p in people:
            assert p.ws is not None
            await p.ws.close()


def test_an_arrival_killed_as_it_hears_its_place_keeps_it(tmp_path: Path, pg_url: str) -> None:
    """The page is told its place once its entry is written: a kill -9 of the server the
    moment the place arrives cannot lose it (it came back at the end of the line when
    the place was told before the write)."""
    with pair_behind_haproxy(tmp_path, pg_url) as pair:
        asyncio.run(_arrival_then_kill(pair))


async def _arrival_then_kill(pair) -> None:  # type: ignore[no-untyped-def]
    async with aiohttp.ClientSession() as session:
        await settled(pair)
        people, _ = await waiting_people(pair, session, 2)
        active = await active_server(pair)
        late = await new_guest(pair, session, "dev_late")
        await late.hello(session, pair.url)
        pair.procs[active].kill()  # at once: its entry was written before it heard
        told = {p.device_id: (p.status["entry_id"], p.status["position"]) for p in people}
        told[late.device_id] = (late.status["entry_id"], late.status["position"])
        assert told[late.device_id][1] == 3
        everyone = [*people, late]
        await asyncio.gather(*(p.back_in_line(session, pair.url) for p in everyone))
        again = {p.device_id: (p.status["entry_id"], p.status["position"]) for p in everyone}
        assert again == told
        for p in everyone:
            assert p.ws is not None
            await p.ws.close()
