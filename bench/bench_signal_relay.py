"""Issue 4: the signalling relay's round trip, tlh beside the PeerJS server, in one run.

Two admitted participants of one appointment (A and B, link cookies, ``/api/v1/link/ws``)
bounce a 3 KB SDP-sized ``signal`` (A -> server -> B -> server -> A); the same is done
between two peers of the PeerJS server (npm ``peer``, ``bench/peerjs/server.js`` on
loopback; OFFER -> ANSWER). Same payload, two sockets each, the same pacing (tlh closes a
socket sending more than 50 messages a second, so both run at ``--rate`` round trips a
second). ``--pairs K`` runs K such pairs at once (K appointments on tlh, K pairs of
peers on PeerJS): each case prints p50/p99/max of each server, the load, and a verdict
(tlh at or below PeerJS at p50 and p99, issue 11).

    .venv/bin/python bench/bench_signal_relay.py [--trips 400] [--rate 40] [--pairs 1,10,50]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_room_ws import COOKIE, Server, load, pct, redeem_all, seed
from verdicts import finish, judged

from tests.messaging.support import free_port
from tests.seeding import seed as seed_store
from tlh.domain.models import Staff
from tlh.services import auth
from tlh.services.bootstrap import local_context

PEERJS = Path(__file__).resolve().parent / "peerjs"
SDP = ("v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n" + "a=x" * 1000)[:3000]
Trip = Callable[[int], Awaitable[None]]


async def clinician_token(data_dir: Path, clinician_id: str) -> str:
    async with local_context(data_dir) as ctx:
        staff = await ctx.store.get(Staff, clinician_id)
        assert staff is not None
        token, ops = await auth.issue_token(ctx, staff)
        await seed_store(ctx.store, ops)
    return token


async def frame(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    """The next text frame of type ``kind`` (others skipped), within 10 s."""
    async with asyncio.timeout(10):
        while True:
            msg = await ws.receive()
            if msg.type != aiohttp.WSMsgType.TEXT:
                raise SystemExit(f"socket closed while waiting for {kind}: {msg.type} {msg.data}")
            data = json.loads(msg.data)
            if data.get("type") == kind:
                return dict(data)


async def measure(trips: int, rate: float, relays: list[list[Trip]]) -> list[list[float]]:
    """Round trips paced ``1/rate`` apart on every pair of each relay, all pairs of one
    relay at once, the relays taking turns, first in alternate rounds (so both see the
    same background load);
    milliseconds each, the first 20 rounds are a warm-up."""
    out: list[list[float]] = [[] for _ in relays]

    async def timed(trip: Trip, n: int) -> float:
        t = time.perf_counter_ns()
        await trip(n)
        return (time.perf_counter_ns() - t) / 1e6

    start = time.monotonic()
    for n in range(trips + 20):
        wait = start + n / rate - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)  # pacing under the server's message-rate limit
        # Each goes first every other round: neither always has the fresh wakeup.
        order = list(zip(relays, out, strict=True))
        for pairs, figures in order if n % 2 == 0 else order[::-1]:
            took = await asyncio.gather(*(timed(trip, n) for trip in pairs))
            if n >= 20:
                figures.extend(took)
    return out


@contextlib.asynccontextmanager
async def tlh_relay(pairs: int) -> AsyncIterator[tuple[list[Trip], int, int]]:
    """``pairs`` appointments of two admitted participants each, on a real ``tlh serve``."""
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        _, made = await seed(data, pairs, clients_per_appt=2)
        tokens = {c: await clinician_token(data, c) for c in sorted({m[2] for m in made})}
        server = Server(data)
        try:
            url = server.url
            # Unlimited: each pair's two sockets hold a connection for the whole run.
            connector = aiohttp.TCPConnector(limit=0)
            async with aiohttp.ClientSession(connector=connector) as http:
                cookies = await redeem_all(http, url, [t for t, _, _ in made])
                trips = []
                for k in range(pairs):
                    two = list(
                        zip(cookies[2 * k : 2 * k + 2], made[2 * k : 2 * k + 2], strict=True)
                    )
                    trip, size = await _tlh_pair(http, url, two, tokens)
                    trips.append(trip)
                yield trips, size, server.proc.pid
        finally:
            server.stop()


async def _tlh_pair(
    http: aiohttp.ClientSession, url: str, two: list[Any], tokens: dict[str, str]
) -> tuple[Trip, int]:
    """Two participants of one appointment say hello and are admitted: their trip."""
    sockets = [
        await http.ws_connect(
            f"{url}/api/v1/link/ws", compress=0,
            headers={"Origin": url, "Cookie": f"{COOKIE}={cookie}"},
        )
        for cookie, _ in two
    ]  # fmt: skip
    peers = []
    for n, (ws, (_, (_, appt, clinician))) in enumerate(zip(sockets, two, strict=True)):
        await ws.send_json({"type": "hello", "device_id": f"dev-{appt}-{n}"})
        status = await frame(ws, "status")
        async with http.post(
            f"{url}/api/v1/rooms/entries/{status['entry_id']}/admit",
            headers={"Authorization": f"Bearer {tokens[clinician]}"},
            json={},
        ) as r:
            if r.status != 200:
                raise SystemExit(f"admit answered {r.status}: {await r.text()}")
        peers.append((await frame(ws, "admitted"))["peer_id"])
    a, b = sockets
    offer = json.dumps({"type": "signal", "to": peers[1],
             "data": {"description": {"type": "offer", "sdp": SDP}}})  # fmt: skip
    answer = json.dumps({"type": "signal", "to": peers[0],
              "data": {"description": {"type": "answer", "sdp": SDP}}})  # fmt: skip

    async def trip(_: int) -> None:
        await a.send_str(offer)
        await frame(b, "signal")
        await b.send_str(answer)
        await frame(a, "signal")

    return trip, len(offer)


@contextlib.asynccontextmanager
async def peerjs_relay(pairs: int) -> AsyncIterator[tuple[list[Trip], int, int]]:
    """``pairs`` pairs of peers of the PeerJS server (``npm install`` into bench/peerjs on
    first use)."""
    if not (PEERJS / "node_modules" / "peer").exists():
        npm = shutil.which("npm") or "npm"
        subprocess.run([npm, "install", "--no-audit", "--no-fund"], cwd=PEERJS, check=True)
    port = free_port()
    node = await asyncio.create_subprocess_exec(
        shutil.which("node") or "node", "server.js", str(port), cwd=PEERJS,
        stdout=subprocess.PIPE,
    )  # fmt: skip
    assert node.stdout is not None
    try:
        line = await asyncio.wait_for(node.stdout.readline(), 15)
        if not line.startswith(b"ready"):
            raise SystemExit(f"the PeerJS server did not start: {line!r}")
        base = f"http://127.0.0.1:{port}/peerjs/peerjs?key=peerjs"
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            trips, size = [], 0
            for k in range(pairs):
                a = await http.ws_connect(f"{base}&id=peerA{k}&token=ta{k}", compress=0)
                b = await http.ws_connect(f"{base}&id=peerB{k}&token=tb{k}", compress=0)
                await frame(a, "OPEN")
                await frame(b, "OPEN")
                trip, size = _peerjs_trip(a, b, k)
                trips.append(trip)
            yield trips, size, node.pid
    finally:
        node.terminate()
        await node.wait()


def _peerjs_trip(
    a: aiohttp.ClientWebSocketResponse, b: aiohttp.ClientWebSocketResponse, k: int
) -> tuple[Trip, int]:
    offer = json.dumps({"type": "OFFER", "dst": f"peerB{k}",
             "payload": {"sdp": {"type": "offer", "sdp": SDP}, "type": "media"}})  # fmt: skip
    answer = json.dumps({"type": "ANSWER", "dst": f"peerA{k}",
              "payload": {"sdp": {"type": "answer", "sdp": SDP}, "type": "media"}})  # fmt: skip

    async def trip(_: int) -> None:
        await a.send_str(offer)
        await frame(b, "OFFER")
        await b.send_str(answer)
        await frame(a, "ANSWER")

    return trip, len(offer)


def cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def line(name: str, values: list[float], size: int) -> str:
    return (
        f"  {name:<8} frame {size} B: p50 {pct(values, 0.5):.2f} ms, "
        f"p99 {pct(values, 0.99):.2f} ms, max {max(values):.2f} ms (n={len(values)})"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trips", type=int, default=400)
    parser.add_argument("--rate", type=float, default=40.0, help="round trips per second")
    parser.add_argument(
        "--pairs", default="1", help="pairs at once, one case each (comma-separated: 1,10,50)"
    )
    args = parser.parse_args()
    print(
        f"signal round trip A -> server -> B -> server -> A, {args.rate:.0f}/s on each pair, "
        f"2 sockets per pair, the two servers taking turns; {os.cpu_count()} cores, {load()}"
    )
    passed = True
    for pairs in (int(p) for p in args.pairs.split(",")):
        async with tlh_relay(pairs) as ours, peerjs_relay(pairs) as theirs:
            cpu0 = [cpu_s(ours[2]), cpu_s(theirs[2])]
            figures = await measure(args.trips, args.rate, [ours[0], theirs[0]])
            cpu = [cpu_s(ours[2]) - cpu0[0], cpu_s(theirs[2]) - cpu0[1]]
        print(f"case: {pairs} pair{'s' if pairs > 1 else ''} at once; {load()}")
        for name, values, size, used in (
            ("tlh", figures[0], ours[1], cpu[0]),
            ("PeerJS", figures[1], theirs[1], cpu[1]),
        ):
            # Two signals relayed per round trip: the server's CPU for each.
            print(f"{line(name, values, size)}; CPU {used * 1e6 / (2 * len(values)):.0f} us/signal")
        for q, name in ((0.5, "p50"), (0.99, "p99")):
            mine, peer = pct(figures[0], q), pct(figures[1], q)
            ok = mine <= peer
            passed = passed and ok
            print(
                f"  verdict: {'PASS' if ok else 'FAIL'} {name} tlh {mine:.2f} ms vs PeerJS "
                f"{peer:.2f} ms (goal: tlh at or below PeerJS)"
            )
    print(f"overall: {'PASS' if judged(passed) else 'FAIL'}; {load()}")


if __name__ == "__main__":
    asyncio.run(main())
    finish()
