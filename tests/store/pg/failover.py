"""Two ``tlh serve`` on one PostgreSQL behind HAProxy (the README's recipe), people
waiting through the balancer, and a kill -9 of the server that holds the rooms: the
shared steps of the failover test and its bench."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from tests.balancer import Balancer, balancing
from tests.ops.running import serving
from tests.serving import free_port
from tests.store.pg.practice import call, init_on, second_server_dir

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


@contextlib.contextmanager
def pair_behind_haproxy(tmp_path: Path, pg_url: str) -> Iterator[Pair]:
    """``tlh init --store`` then two servers and HAProxy in front of them."""
    data_dir, token, key_file = init_on(tmp_path, pg_url)
    other = second_server_dir(tmp_path, data_dir)
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


async def active_server(pair: Pair) -> str:
    """The URL of the server that serves the rooms (bounded wait for one to take them)."""
    async with asyncio.timeout(WAIT_S):
        while True:
            for url, proc in pair.procs.items():
                if proc.poll() is not None:
                    continue  # killed
                status, _ = await call(url, pair.token, "GET", "/readyz")
                if status == 200:
                    return url
            await asyncio.sleep(0.05)  # polling the lock's take, bounded by the timeout


async def settled(pair: Pair, in_a_row: int = 10) -> None:
    """Wait (bounded) until the balancer sends everything to the server holding the rooms:
    its health checks take a moment to mark the standby down (and, after a kill, the dead
    one), and ``/readyz`` through it answers 200 only from the active server."""
    run = 0
    async with asyncio.timeout(30):
        while run < in_a_row:
            status, _ = await call(pair.url, pair.token, "GET", "/readyz")
            run = run + 1 if status == 200 else 0
            await asyncio.sleep(0.05)  # one health-check period is 300 ms; bounded


#: The clinician whose room the people wait in.
CLINICIAN = "lee@example.org"


class Waiting:
    """A person waiting through the balancer: their link cookie, device and socket."""

    def __init__(self, cookie: str, device_id: str) -> None:
        self.cookie, self.device_id = cookie, device_id
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.status: dict[str, Any] = {}

    #: The call this person was let into (a page back after a drop resumes it).
    resume: str | None = None

    async def hello(self, session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
        """Open the page's socket and say hello (as the page does on every connect); the
        status, or the ``admitted`` frame of a person back into their call."""
        self.ws = await session.ws_connect(
            url + "/api/v1/link/ws",
            headers={"Origin": url, "Cookie": f"__Host-tlh_link={self.cookie}"},
        )
        hello: dict[str, Any] = {"type": "hello", "device_id": self.device_id}
        if self.resume is not None:
            hello["resume"] = self.resume
        await self.ws.send_str(json.dumps(hello))
        want = "status" if self.resume is None else "admitted"
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

    async def back_in_line(self, session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
        """Reconnect as the page does after its socket dropped (retrying while the
        balancer has no server ready, bounded); the status once back."""
        async with asyncio.timeout(30):
            while True:
                try:
                    return await self.hello(session, url)
                except (aiohttp.ClientError, ConnectionError):
                    await asyncio.sleep(0.05)  # the page's retry, bounded by the timeout


async def waiting_people(
    pair: Pair, session: aiohttp.ClientSession, n: int
) -> tuple[list[Waiting], str]:
    """A clinician with telehealth, and ``n`` guests of theirs waiting (via the balancer);
    the people and the clinician's token."""
    body = {"email": CLINICIAN, "name": "Lee", "role": "clinician", "telehealth": True}
    status, made = await call(pair.url, pair.token, "POST", "/api/v1/staff", body)
    assert status == 201, made
    people = []
    for i in range(n):
        person = await new_guest(pair, session, f"dev_{i}")
        await person.back_in_line(session, pair.url)
        people.append(person)
    return people, str(made["token"])


async def new_guest(pair: Pair, session: aiohttp.ClientSession, device_id: str) -> Waiting:
    """A guest of the clinician with a redeemed link, not yet on the page."""
    status, link = await call(
        pair.url, pair.token, "POST", "/api/v1/invites/guest", {"clinician": CLINICIAN}
    )
    assert status == 201, link
    token = link["url"].split("#", 1)[1]
    async with session.post(
        pair.url + "/api/v1/link/redeem", json={"token": token}, headers={"Origin": pair.url}
    ) as r:
        assert r.status == 200, await r.text()
        cookie = r.cookies["__Host-tlh_link"].value
    return Waiting(cookie, device_id)


async def fail_over(pair: Pair, people: list[Waiting], session: aiohttp.ClientSession) -> float:
    """kill -9 the server holding the rooms; seconds until every person is back in line
    (through the balancer, on the other server)."""
    active = await active_server(pair)
    start = time.monotonic()
    pair.procs[active].kill()
    await asyncio.gather(*(p.back_in_line(session, pair.url) for p in people))
    return time.monotonic() - start


async def guest_link(pair: Pair) -> str:
    """A fresh guest link of the clinician's: its token (the URL's fragment), not yet
    redeemed, for a participant that redeems it as the page does."""
    status, link = await call(
        pair.url, pair.token, "POST", "/api/v1/invites/guest", {"clinician": CLINICIAN}
    )
    assert status == 201, link
    return str(link["url"]).split("#", 1)[1]
