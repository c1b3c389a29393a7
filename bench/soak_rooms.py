"""Reconnect storms against the real ``tlh serve``, beside a bare aiohttp server speaking
the same protocol (``bare_rooms.py``), both in the same run (issue 11).

``--waiting`` clients wait (one appointment and link each) while ``--staff`` staff sockets
listen to the events; every ``--every`` seconds ``--drop`` of them drop their socket and
come back with the same link and device. Each rejoin must keep its place (the same
entry); its hello -> status time is measured. The server's RSS is read after every
storm (once the rejoins are in): the curve is printed, and the verdict is that the RSS at
the end is within 2 % of where it stood after the first storm (what each reconnect
leaves behind must be bounded).

    .venv/bin/python bench/soak_rooms.py [--minutes 10] [--waiting 500] [--staff 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_room_ws import COOKIE, BareServer, Server, load, pct, redeem_all, seed
from verdicts import finish, judged

#: The goal: RSS at the end within this of the RSS after the first storm.
GOAL_GROWTH = 0.02


class Page:
    """One waiting client: its cookie, device and socket; the entry it holds."""

    def __init__(self, cookie: str, appt: str) -> None:
        self.cookie, self.appt, self.device = cookie, appt, f"dev-{appt}"
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.entry: str | None = None
        self.reader: asyncio.Task[None] | None = None

    async def join(self, http: aiohttp.ClientSession, url: str) -> tuple[float, bool]:
        """Connect and say hello: milliseconds to ``status``, and whether the entry is
        the one held before (always true the first time)."""
        self.ws = await http.ws_connect(
            f"{url}/api/v1/link/ws", compress=0,
            headers={"Origin": url, "Cookie": f"{COOKIE}={self.cookie}"},
        )  # fmt: skip
        t = time.perf_counter()
        await self.ws.send_str(json.dumps({"type": "hello", "device_id": self.device}))
        async with asyncio.timeout(30):
            while True:
                msg = await self.ws.receive()
                if msg.type != aiohttp.WSMsgType.TEXT:
                    raise SystemExit(f"a page's socket closed: {msg.type}")
                frame = json.loads(msg.data)
                if frame.get("type") == "status":
                    break
        took = (time.perf_counter() - t) * 1000
        kept = self.entry is None or frame.get("entry_id") == self.entry
        self.entry = frame.get("entry_id")
        self.reader = asyncio.create_task(self._read())
        return took, kept

    async def _read(self) -> None:
        assert self.ws is not None
        async for _ in self.ws:  # status updates as others come and go
            pass

    async def drop(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
        if self.ws is not None:
            await self.ws.close()


async def staff_socket(url: str, token: str | None, counts: dict[str, int]) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.ws_connect(f"{url}/api/v1/events", compress=0) as ws,
    ):
        async for msg in ws:
            kind = json.loads(msg.data).get("type", "")
            counts[kind] = counts.get(kind, 0) + 1


class Soak:
    """One server under the storms: its pages, staff sockets and figures."""

    def __init__(self, server: Server, token: str | None, made: list[Any]) -> None:
        self.server, self.token, self.made = server, token, made
        self.rss: list[tuple[float, int]] = []
        self.rejoins: list[float] = []
        self.kept = 0
        self.counts: dict[str, int] = {}

    async def run(self, args: Any, start: float, storms: int) -> None:
        url = self.server.url
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as http:
            staff = [
                asyncio.create_task(staff_socket(url, self.token, self.counts))
                for _ in range(args.staff)
            ]
            cookies = await redeem_all(http, url, [t for t, _, _ in self.made])
            pages = [Page(c, a) for c, (_, a, _) in zip(cookies, self.made, strict=True)]
            gate = asyncio.Semaphore(50)

            async def join(page: Page) -> tuple[float, bool]:
                async with gate:
                    return await page.join(http, url)

            await asyncio.gather(*(join(p) for p in pages))
            self.rss.append((0.0, self.server.rss_kb()))
            for storm in range(storms):
                wait = start + (storm + 1) * args.every - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)  # the storms' schedule
                first = (storm * args.drop) % len(pages)
                group = [pages[(first + k) % len(pages)] for k in range(args.drop)]
                await asyncio.gather(*(p.drop() for p in group))
                rejoined = await asyncio.gather(*(join(p) for p in group))
                self.rejoins += [t for t, _ in rejoined]
                self.kept += sum(1 for _, kept in rejoined if kept)
                await asyncio.sleep(2.0)  # the rejoins' writes and events settle
                self.rss.append((time.monotonic() - start, self.server.rss_kb()))
            await asyncio.gather(*(p.drop() for p in pages))
            for task in staff:
                task.cancel()


def report(soak: Soak, args: Any) -> bool:
    name = soak.server.name
    curve = ", ".join(f"{t:.0f}s {kb / 1024:.1f}" for t, kb in soak.rss)
    print(f"  {name}: RSS MB by time: {curve}")
    rejoins = len(soak.rejoins)
    if rejoins:
        print(
            f"  {name}: {soak.kept}/{rejoins} rejoins kept their entry; hello -> status "
            f"p50 {pct(soak.rejoins, 0.5):.2f} ms, p99 {pct(soak.rejoins, 0.99):.2f} ms, "
            f"max {max(soak.rejoins):.2f} ms; staff events {sum(soak.counts.values())}"
        )
    if len(soak.rss) < 3:
        print(f"  verdict: {name}: too short to judge (need at least two storms)")
        return False
    after_first, end = soak.rss[1][1], soak.rss[-1][1]
    growth = (end - after_first) / after_first
    per = (end - after_first) / max(1, rejoins - args.drop)
    ok = growth <= GOAL_GROWTH and soak.kept == rejoins
    print(
        f"  verdict: {'PASS' if ok else 'FAIL'} {name}: RSS {after_first / 1024:.1f} MB after "
        f"the first storm, {end / 1024:.1f} MB at the end: {growth * 100:+.2f} % "
        f"({per * 1024:.0f} B per reconnect since; goal <= {GOAL_GROWTH * 100:g} %)"
    )
    return ok if name == "tlh" else True


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--waiting", type=int, default=500)
    parser.add_argument("--staff", type=int, default=10)
    parser.add_argument("--drop", type=int, default=100)
    parser.add_argument("--every", type=float, default=30.0, help="seconds between storms")
    args = parser.parse_args()
    storms = int(args.minutes * 60 // args.every)
    print(
        f"{args.waiting} waiting, {args.staff} staff sockets, {args.drop} drop and rejoin "
        f"every {args.every:g} s, {storms} storms; tlh and bare aiohttp side by side; {load()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        token, made = await seed(Path(tmp) / "data", args.waiting)
        server = Server(Path(tmp) / "data")
        bare = BareServer({t: a for t, a, _ in made}, Path(tmp))
        try:
            ours, peer = Soak(server, token, made), Soak(bare, None, made)
            start = time.monotonic() + 5  # both joined by then; the first storm follows
            await asyncio.gather(ours.run(args, start, storms), peer.run(args, start, storms))
        finally:
            server.stop()
            bare.stop()
    ok = report(ours, args)
    report(peer, args)
    print(f"overall: {'PASS' if judged(ok) else 'FAIL'}; {load()}")


if __name__ == "__main__":
    asyncio.run(main())
    finish()
