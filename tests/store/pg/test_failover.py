"""Failover: two servers behind HAProxy both serve the rooms, people wait on each, and
one server goes. Killed (kill -9): its people reconnect through the balancer to the
other within the reconnect grace and keep their entries and places; the other's people
are not disturbed; the room as staff see it is the same. Cut off from the database long
enough for the other to take its entries over: it steps aside (a clean stop) and its
people carry on on the other, in their places."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest

from tests.store.pg.failover import (
    Pair,
    Waiting,
    agreed_places,
    fail_over,
    listed,
    new_guest,
    pair_behind_haproxy,
    places,
    ready,
    settled,
    waiting_people,
)
from tests.store.pg.practice import call
from tests.store.pg.support import cut_off, new_role, query

pytestmark = pytest.mark.timeout(180)

#: ``[rooms] reconnect_grace_s``'s default: how long a dropped person keeps their place.
GRACE_S = 60.0


async def close_all(people: list[Waiting]) -> None:
    for p in people:
        assert p.ws is not None
        await p.ws.close()


def test_killing_one_of_two_servers_keeps_everyone_in_line(tmp_path: Path, pg_url: str) -> None:
    with pair_behind_haproxy(tmp_path, pg_url) as pair:
        asyncio.run(_scenario(pair))
        for log in pair.logs:
            assert "Traceback" not in log.read_text()


async def _scenario(pair: Pair) -> None:
    async with aiohttp.ClientSession() as session:
        await settled(pair)
        victim, survivor = pair.servers
        # Five people, their pages on the two servers in turn: A, B, A, B, A.
        people, lee = await waiting_people(pair, session, 5, on=pair.servers)
        # The last one (on A) is let into a call; the others wait in line.
        status, made = await call(pair.url, lee, "POST", "/api/v1/sessions", {"room": True})
        assert status == 201, made
        in_call = people[-1]
        entry_id = in_call.status["entry_id"]
        path = f"/api/v1/rooms/entries/{entry_id}/admit"
        status, admitted = await call(pair.url, lee, "POST", path, {})
        assert status == 200, admitted
        in_call.resume = made["session"]["id"]
        line = people[:-1]
        before = await agreed_places(pair, line)
        assert sorted(before.values()) == [1, 2, 3, 4]
        assert set(await listed(pair, survivor)) == {*before, entry_id}
        on_victim = [p for p in people if p.server == victim]
        on_survivor = [p for p in people if p.server == survivor]
        assert (len(on_victim), len(on_survivor)) == (3, 2)

        # Only the victim's people's sockets end (fail_over waits for each to end).
        took = await fail_over(pair, victim, people, session)

        assert took < GRACE_S
        assert all(p.server == pair.url for p in on_victim)  # back through the balancer
        for p in on_survivor:  # never left: same socket, same server, answering
            assert p.server == survivor
            await p.answers()
        assert places(line) == before  # same entries, same places
        # The one in the call is back in it (``hello`` waited for ``admitted``: its page
        # re-signals), not put back in line nor admitted as a newcomer.
        assert in_call.status["state"] == "admitted"
        await settled(pair)
        entries = await listed(pair, survivor)
        assert set(entries) == {*before, entry_id}
        assert {i: entries[i]["position"] for i in before} == before
        assert entries[entry_id]["state"] == "admitted"
        assert all(e["online"] for e in entries.values())
        await close_all(people)


def test_an_arrival_killed_as_it_hears_its_place_keeps_it(tmp_path: Path, pg_url: str) -> None:
    """The page is told its place once its entry is written: a kill -9 of its server the
    moment the place arrives cannot lose it (it came back at the end of the line when
    the place was told before the write)."""
    with pair_behind_haproxy(tmp_path, pg_url) as pair:
        asyncio.run(_arrival_then_kill(pair))


async def _arrival_then_kill(pair: Pair) -> None:
    async with aiohttp.ClientSession() as session:
        await settled(pair)
        victim, survivor = pair.servers
        people, _ = await waiting_people(pair, session, 2, on=pair.servers)  # one on each
        await agreed_places(pair, people)  # the late one's server knows both
        late = await new_guest(pair, session, "dev_late")
        await late.hello(session, victim)
        everyone = [*people, late]
        told = places(everyone)
        # At once: its entry was written before it heard.
        await fail_over(pair, victim, everyone, session)
        assert told[late.status["entry_id"]] == 3
        assert places(everyone) == told
        assert (people[0].server, late.server) == (pair.url, pair.url)  # reconnected
        assert people[1].server == survivor
        await people[1].answers()
        entries = await listed(pair, survivor)
        assert {i: e["position"] for i, e in entries.items()} == told
        await close_all(everyone)


def test_a_server_cut_off_while_another_took_its_people_over_steps_aside(
    tmp_path: Path, pg_url: str
) -> None:
    """The database ends the first server's sessions and refuses it (its own PostgreSQL
    role, ``NOLOGIN``) until the other has taken its id and its entries over; let back
    in, it finds its id taken and stops itself cleanly; its people carry on on the
    other server in their places."""
    role = asyncio.run(new_role(pg_url))
    with pair_behind_haproxy(tmp_path, pg_url, first_role=role) as pair:
        asyncio.run(_cut_off(pair, pg_url, role))
        cut, other = (log.read_text() for log in pair.logs)
        assert "another server took this one's waiting rooms over" in cut
        assert "Traceback" not in cut + other


#: The server whose advisory lock ``tlh:server:<id>`` a session holds, and its role.
HOLDERS = """
SELECT a.application_name, a.usename FROM pg_locks l JOIN pg_stat_activity a USING (pid)
WHERE l.locktype = 'advisory' AND l.granted AND a.datname = current_database()
  AND a.application_name LIKE 'tlh tlh:server:%%'
"""


async def _cut_off(pair: Pair, pg_url: str, role: str) -> None:
    async with aiohttp.ClientSession() as session:
        await settled(pair)
        cut, other = pair.servers
        people, _ = await waiting_people(pair, session, 4, on=pair.servers)
        before = await agreed_places(pair, people)
        held = dict(await query(pg_url, HOLDERS))
        # Each server holds its own id; the cut one's is held by its role's session.
        owner = urlsplit(pg_url).username
        assert sorted(held.values()) == sorted([role, owner])
        cut_id = next(name for name, user in held.items() if user == role)

        async with cut_off(pg_url, role):
            async with asyncio.timeout(10):
                while await ready(pair, cut):
                    await asyncio.sleep(0.05)  # polling its readiness; bounded
            async with asyncio.timeout(10):
                while dict(await query(pg_url, HOLDERS)).get(cut_id) != owner:
                    await asyncio.sleep(0.05)  # polling the other's take of its id; bounded
        # Let back in: it finds its id taken.

        proc = pair.procs[cut]
        assert await asyncio.to_thread(proc.wait, 30) == 0  # stepped aside: a clean stop
        on_cut = [p for p in people if p.server == cut]
        assert len(on_cut) == 2
        for p in on_cut:
            await p.dropped()
        await asyncio.gather(*(p.back_in_line(session, pair.url) for p in on_cut))
        await settled(pair)  # the other is ready, and the balancer sends everything there
        for p in people:
            if p.server == other:
                await p.answers()
        assert places(people) == before
        entries = await listed(pair, other)
        assert {i: e["position"] for i, e in entries.items()} == before
        assert all(e["online"] for e in entries.values())
        await close_all(people)
