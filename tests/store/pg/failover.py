"""Two ``tlh serve`` on one PostgreSQL behind HAProxy (the README's recipe), both serving
the live rooms; people waiting on each, and a kill -9 of one of them: the shared steps of
the failover tests and their bench.

A page's socket is on whichever server the balancer chose; here the people are put on a
chosen server (their pages connect to it directly, as if the balancer had sent them
there), so a test knows whose socket a kill ends and whose it must leave alone. After a
drop a page reconnects through the balancer, as the real one does."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from tests.balancer import Balancer, balancing
from tests.ops.running import serving
from tests.serving import free_port
from tests.store.pg.practice import call, init_on, second_server_dir
from tests.store.pg.support import as_role

WAIT_S = 10.0


@dataclass
class Pair:
    """Two servers (``procs`` by URL) behind ``balancer``, and the admin's token."""

    balancer: Balancer
    procs: dict[str, subprocess.Popen[bytes]]
    token: str
    logs: list[Path]

    @property
    def url(self) -> str:
        return self.balancer.url

    @property
    def servers(self) -> list[str]:
        """The two servers' own URLs (the first is the one ``tlh init`` set up)."""
        return list(self.procs)


def _behind(data_dir: Path, balancer_port: int) -> None:
    """The server's tlh.toml as behind the balancer: its links and pages are the
    balancer's address, whose forwarded headers it believes."""
    toml = data_dir / "tlh.toml"
    text = toml.read_text().replace(
        'public_url = "https://tele.example.org"',
        f'public_url = "http://127.0.0.1:{balancer_port}"',
    )
    text = text.replace("[server]\n", '[server]\ntrusted_proxies = ["127.0.0.1"]\n', 1)
    toml.write_text(text)


def connect_as(data_dir: Path, pg_url: str, role: str) -> None:
    """The server's tlh.toml names the same database as PostgreSQL role ``role``."""
    toml = data_dir / "tlh.toml"
    text = toml.read_text()
    assert f'url = "{pg_url}"' in text
    toml.write_text(text.replace(pg_url, as_role(pg_url, role)))


@contextlib.contextmanager
def pair_behind_haproxy(
    tmp_path: Path, pg_url: str, first_role: str | None = None
) -> Iterator[Pair]:
    """``tlh init --store`` then two servers and HAProxy in front of them. ``first_role``:
    the first server connects as that PostgreSQL role (``support.new_role``), so that
    the database can refuse it alone (``support.cut_off``)."""
    data_dir, token, key_file = init_on(tmp_path, pg_url)
    other = second_server_dir(tmp_path, data_dir)
    if first_role is not None:
        connect_as(data_dir, pg_url, first_role)
    lb_port = free_port()
    for d in (data_dir, other):
        _behind(d, lb_port)
    with (
        serving(data_dir, "--key-file", str(key_file)) as (a, a_url, a_log),
        serving(other, "--key-file", str(key_file)) as (b, b_url, b_log),
    ):
        ports = [("a", int(a_url.rsplit(":", 1)[1])), ("b", int(b_url.rsplit(":", 1)[1]))]
        with balancing(ports, port=lb_port) as lb:
            yield Pair(lb, {a_url: a, b_url: b}, token, [a_log, b_log])


async def ready(pair: Pair, url: str) -> bool:
    """Whether ``url`` (a server, or the balancer) answers ``/readyz`` 200."""
    status, _ = await call(url, pair.token, "GET", "/readyz")
    return status == 200


async def settled(pair: Pair, in_a_row: int = 10) -> None:
    """Wait (bounded) until every server still running is ready (``/readyz`` 200: alive
    as its own id, serving the rooms) and the balancer has marked them up: its health
    checks (every 300 ms, ``rise 2``) take a moment, and through it ``/readyz`` answers
    200 ``in_a_row`` times."""
    async with asyncio.timeout(30):
        for url, proc in pair.procs.items():
            while proc.poll() is None and not await ready(pair, url):
                await asyncio.sleep(0.05)  # polling its id's lock being taken; bounded
        run = 0
        while run < in_a_row:
            run = run + 1 if await ready(pair, pair.url) else 0
            await asyncio.sleep(0.05)  # one health-check period is 300 ms; bounded


#: The clinician whose room the people wait in.
CLINICIAN = "lee@example.org"


class Waiting:
    """A person waiting: their link cookie, device, socket and the URL it was opened on
    (a server's own, or the balancer's)."""

    def __init__(self, cookie: str, device_id: str) -> None:
        self.cookie, self.device_id = cookie, device_id
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.status: dict[str, Any] = {}
        self.server = ""

    #: The call this person was let into (a page back after a drop resumes it).
    resume: str | None = None

    async def hello(self, session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
        """Open the page's socket and say hello (as the page does on every connect); the
        status, or the ``admitted`` frame of a person back into their call."""
        self.ws = await session.ws_connect(
            url + "/api/v1/link/ws",
            headers={"Origin": url, "Cookie": f"__Host-tlh_link={self.cookie}"},
        )
        self.server = url
        hello: dict[str, Any] = {"type": "hello", "device_id": self.device_id}
        if self.resume is not None:
            hello["resume"] = self.resume
        await self.ws.send_str(json.dumps(hello))
        return await self._until("status" if self.resume is None else "admitted")

    async def _until(self, want: str) -> dict[str, Any]:
        """Read the socket (bounded) until a ``want`` frame; the latest status is kept."""
        assert self.ws is not None
        async with asyncio.timeout(WAIT_S):
            while True:
                msg = await self.ws.receive()
                if msg.type != aiohttp.WSMsgType.TEXT:
                    raise ConnectionError(f"socket ended before {want}: {msg.type}")
                frame = json.loads(msg.data)
                if frame["type"] == "status":
                    self.status = frame
                if frame["type"] == want:
                    return frame

    async def answers(self) -> None:
        """The page's socket still carries frames both ways, on the server it was opened
        on: a reply to the clinician is answered ``reply.sent`` on it (bounded); status
        frames that came meanwhile are read on the way."""
        assert self.ws is not None
        assert not self.ws.closed
        await self.ws.send_str(json.dumps({"type": "reply", "text": "still here"}))
        sent = await self._until("reply.sent")
        assert sent["accepted"], sent

    async def hears(self, position: int) -> None:
        """Read the socket (bounded) until the page has been told ``position``."""
        while self.status.get("position") != position:
            await self._until("status")

    async def dropped(self) -> None:
        """Wait (bounded) until the page's socket ends: its server went away. What it was
        told until then is read on the way (the latest status is kept)."""
        with contextlib.suppress(ConnectionError):
            await self._until("never")

    async def back_in_line(self, session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
        """Reconnect as the page does after its socket dropped (retrying while the
        balancer has no server ready, bounded); the status once back."""
        async with asyncio.timeout(30):
            while True:
                try:
                    return await self.hello(session, url)
                except (aiohttp.ClientError, ConnectionError):
                    await asyncio.sleep(0.05)  # the page's retry, bounded by the timeout


def places(people: list[Waiting]) -> dict[str, int]:
    """Each person's entry and place in line, as their page was last told."""
    return {p.status["entry_id"]: p.status["position"] for p in people}


async def listed(pair: Pair, url: str) -> dict[str, dict[str, Any]]:
    """The clinicians' rooms as the dashboard lists them from ``url``: entries by id."""
    status, rooms = await call(url, pair.token, "GET", "/api/v1/rooms")
    assert status == 200, rooms
    return {e["id"]: e for room in rooms["items"] for e in room["entries"]}


async def agreed_places(pair: Pair, people: list[Waiting]) -> dict[str, int]:
    """The people's places once every running server lists the same (bounded: an arrival
    on one reaches the other a moment later, by NOTIFY, and a page there may have been
    told a place without it) and each page has been told its own."""
    ids = {p.status["entry_id"] for p in people}
    async with asyncio.timeout(WAIT_S):
        while True:
            views = [
                {i: e["position"] for i, e in (await listed(pair, url)).items() if i in ids}
                for url, proc in pair.procs.items()
                if proc.poll() is None
            ]
            if len(views[0]) == len(ids) and all(v == views[0] for v in views):
                break
            await asyncio.sleep(0.05)  # polling the servers' views; bounded
        for p in people:
            await p.hears(views[0][p.status["entry_id"]])
    return views[0]


async def waiting_people(
    pair: Pair, session: aiohttp.ClientSession, n: int, on: Sequence[str] = ()
) -> tuple[list[Waiting], str]:
    """A clinician with telehealth, and ``n`` guests of theirs waiting, one after the
    other; the people and the clinician's token. ``on``: the servers their pages connect
    to, in turn (directly); none: through the balancer."""
    body = {"email": CLINICIAN, "name": "Lee", "role": "clinician", "telehealth": True}
    status, made = await call(pair.url, pair.token, "POST", "/api/v1/staff", body)
    assert status == 201, made
    people = []
    for i in range(n):
        person = await new_guest(pair, session, f"dev_{i}")
        await person.back_in_line(session, on[i % len(on)] if on else pair.url)
        people.append(person)
    return people, str(made["token"])


async def new_guest(pair: Pair, session: aiohttp.ClientSession, device_id: str) -> Waiting:
    """A guest of the clinician with a redeemed link, not yet on the page."""
    token = await guest_link(pair)
    async with session.post(
        pair.url + "/api/v1/link/redeem", json={"token": token}, headers={"Origin": pair.url}
    ) as r:
        assert r.status == 200, await r.text()
        cookie = r.cookies["__Host-tlh_link"].value
    return Waiting(cookie, device_id)


async def fail_over(
    pair: Pair, victim: str, people: list[Waiting], session: aiohttp.ClientSession
) -> float:
    """kill -9 the server ``victim``; seconds until each of ``people`` whose page was on
    it is back in line through the balancer (on the other server). Their sockets must
    end with it (a page that was not on it would wait here and time out)."""
    dropped = [p for p in people if p.server == victim]
    start = time.monotonic()
    pair.procs[victim].kill()
    await asyncio.gather(*(_reconnects(p, pair, session) for p in dropped))
    return time.monotonic() - start


async def guest_link(pair: Pair) -> str:
    """A fresh guest link of the clinician's: its token (the URL's fragment), not yet
    redeemed, for a participant that redeems it as the page does."""
    status, link = await call(
        pair.url, pair.token, "POST", "/api/v1/invites/guest", {"clinician": CLINICIAN}
    )
    assert status == 201, link
    return str(link["url"]).split("#", 1)[1]


async def _reconnects(person: Waiting, pair: Pair, session: aiohttp.ClientSession) -> None:
    """The page notices its socket ended and reconnects through the balancer."""
    await person.dropped()
    await person.back_in_line(session, pair.url)
