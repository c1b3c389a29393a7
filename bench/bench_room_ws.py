"""Waiting rooms under load against the real ``tlh serve``, beside a bare aiohttp server
speaking the same protocol (``bare_rooms.py``), in one run, case by case.

Figures per case and server: join -> staff event (a client's ``hello`` sent ->
``room.joined`` received on a staff ``/api/v1/events`` socket) and hello -> ``status``
seen by the client, p50/p99/max; the server's RSS per open and per waiting connection
(VmRSS before the sockets open, once connected, once every client waits, and settled:
after the first round of heartbeats, ``settled``; divided); the machine's load beside
each. Verdicts per case: staff event p99 <= 20 ms, <= 20 kB per waiting connection and
<= 1.15x the bare server's, on the settled figure (issue 11, issue 21 items 4 and 5).

The data dir is seeded through the store before the server starts (a clinician per 10
telehealth appointments starting in 5 minutes, one join link each; consent off so every
client goes straight to the waiting room). Clients run in ``--workers`` child processes;
hellos are paced (``interval`` ms apart across all workers) so the figure is the
latency of one join, not the length of a queue; an interval of 0 sends them in a burst.
All clocks are CLOCK_MONOTONIC (``time.monotonic_ns``), shared by the processes.

    .venv/bin/python bench/bench_room_ws.py [--cases 1000/2,1000/0,1500/2] [--workers 2]
    # issue 21 item 5: 10,000 waiting, 333 hellos a second, clients on the other core
    .venv/bin/python bench/bench_room_ws.py --cases 10000/3 --pin-server 0 --pin-clients 1
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from verdicts import finish, judged
from waiting_practice import waiting_appointments

from tests.messaging.support import free_port
from tlh.services.bootstrap import init_practice, local_context

COOKIE = "__Host-tlh_link"


async def seed(data_dir: Path, count: int, clients_per_appt: int = 1) -> tuple[str, list[Any]]:
    """A practice whose ``count`` appointments start in 5 minutes, each with
    ``clients_per_appt`` clients and one join link per client. Returns the admin token
    and ``[(token, appointment_id, clinician_id)]``."""
    token = await init_practice(data_dir, "Bench Practice", "America/New_York", "a@example.org")
    async with local_context(data_dir) as ctx:
        made = await waiting_appointments(ctx, count, clients_per_appt)
    return token, made


class Server:
    """``tlh serve`` on a data dir, in a subprocess (``pin``: on those CPUs, taskset)."""

    name = "tlh"

    def __init__(self, data_dir: Path, pin: str | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [*pinned(pin), sys.executable, "-m", "tlh", "serve", "--data-dir", str(data_dir),
             "--port", str(self.port)],
            env={**os.environ, "TLH_CONFIG": os.devnull},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.wait_healthy()

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.name} exited with {self.proc.returncode}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as r,
            ):
                if r.status == 200:
                    return
            time.sleep(0.05)  # the port is not open yet; bounded by the deadline
        raise SystemExit(f"{self.name} did not become healthy")

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class BareServer(Server):
    """The peer: a bare aiohttp server speaking the same protocol (``bare_rooms.py``)."""

    name = "bare aiohttp"

    def __init__(self, links: dict[str, str], folder: Path, pin: str | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        path = folder / "bare-links.json"
        path.write_text(json.dumps(links))
        script = Path(__file__).resolve().parent / "bare_rooms.py"
        self.proc = subprocess.Popen(
            [*pinned(pin), sys.executable, str(script), str(self.port), str(path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.wait_healthy()


def pinned(cpus: str | None) -> list[str]:
    """The ``taskset`` prefix that keeps a process on ``cpus`` (none: anywhere)."""
    return ["taskset", "-c", cpus] if cpus else []


def load() -> str:
    """The machine's load average now, for the line beside a figure."""
    return "load " + "/".join(f"{x:.1f}" for x in os.getloadavg())


async def redeem_all(http: aiohttp.ClientSession, url: str, tokens: list[str]) -> list[str]:
    """The link cookie for each token (redeemed 20 at a time)."""
    gate = asyncio.Semaphore(20)

    async def one(token: str) -> str:
        async with (
            gate,
            http.post(
                f"{url}/api/v1/link/redeem", json={"token": token}, headers={"Origin": url}
            ) as r,
        ):
            if r.status != 200:
                raise SystemExit(f"redeem answered {r.status}: {(await r.text())[:200]}")
            return r.cookies[COOKIE].value

    return list(await asyncio.gather(*(one(t) for t in tokens)))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def worker() -> None:
    """A child holding many client sockets, driven by lines on stdin."""
    job = json.loads(sys.stdin.readline())
    url, items = job["url"], job["links"]
    lines = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(lines), sys.stdin)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        cookies = await redeem_all(http, url, [t for t, _, _ in items])
        print("redeemed", flush=True)
        await lines.readline()
        gate = asyncio.Semaphore(50)

        async def connect(cookie: str) -> aiohttp.ClientWebSocketResponse:
            async with gate:
                return await http.ws_connect(
                    f"{url}/api/v1/link/ws", compress=0, autoping=True,
                    headers={"Origin": url, "Cookie": f"{COOKIE}={cookie}"},
                )  # fmt: skip

        sockets = await asyncio.gather(*(connect(c) for c in cookies))
        print("connected", flush=True)
        t0, interval, offset, stride = map(int, (await lines.readline()).split())
        sent: dict[str, int] = {}
        status: dict[str, int] = {}
        states: dict[str, int] = {}
        got_all = asyncio.Event()

        async def read(ws: aiohttp.ClientWebSocketResponse, appt: str) -> None:
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                if frame.get("type") == "status" and appt not in status:
                    status[appt] = time.monotonic_ns()
                    states[frame.get("state")] = states.get(frame.get("state"), 0) + 1
                    if len(status) == len(items):
                        got_all.set()

        readers = [
            asyncio.create_task(read(ws, a)) for ws, (_, a, _) in zip(sockets, items, strict=True)
        ]
        for k, (ws, (_, appt, _)) in enumerate(zip(sockets, items, strict=True)):
            delay = (t0 + (k * stride + offset) * interval - time.monotonic_ns()) / 1e9
            if delay > 0:
                await asyncio.sleep(delay)  # pacing the hellos, not synchronising
            sent[appt] = time.monotonic_ns()
            await ws.send_str(json.dumps({"type": "hello", "device_id": f"dev-{appt}"}))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(got_all.wait(), 30)
        print(json.dumps({"sent": sent, "status": status, "states": states}), flush=True)
        await lines.readline()  # "close"
        for task in readers:
            task.cancel()
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


class Workers:
    """The client processes and their line protocol."""

    def __init__(self, url: str, made: list[Any], n: int, pin: str | None = None) -> None:
        self.procs = []
        self.shares = [made[i::n] for i in range(n)]
        for share in self.shares:
            proc = subprocess.Popen(
                [*pinned(pin), sys.executable, __file__, "--worker"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            assert proc.stdin is not None
            proc.stdin.write(json.dumps({"url": url, "links": share}) + "\n")
            proc.stdin.flush()
            self.procs.append(proc)

    def say(self, lines: list[str]) -> None:
        for proc, line in zip(self.procs, lines, strict=True):
            assert proc.stdin is not None
            proc.stdin.write(line + "\n")
            proc.stdin.flush()

    def expect(self) -> list[str]:
        out = []
        for proc in self.procs:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if not line:
                raise SystemExit(f"a client worker exited ({proc.wait()})")
            out.append(line.strip())
        return out

    def stop(self) -> None:
        with contextlib.suppress(BrokenPipeError, OSError):
            self.say(["close"] * len(self.procs))
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


#: The goals (issue 11, issue 21 items 4 and 5).
GOAL_P99_MS = 20.0
GOAL_KB = 20.0
GOAL_VS_BARE = 1.15


class Case(msgspec.Struct, frozen=True):
    """One measured run against one server: hellos, latencies, memory, the load."""

    server: str
    clients: int
    interval_ms: float
    to_event: list[float]
    to_status: list[float]
    states: dict[str, int]
    #: Before the sockets, connected, all waiting (a second after), settled (``settled``).
    rss_kb: tuple[int, int, int, int]
    load: str

    @property
    def kb_open(self) -> float:
        return (self.rss_kb[1] - self.rss_kb[0]) / self.clients

    @property
    def kb_arrived(self) -> float:
        return (self.rss_kb[2] - self.rss_kb[0]) / self.clients

    @property
    def kb_waiting(self) -> float:
        return (self.rss_kb[3] - self.rss_kb[0]) / self.clients


#: ``Settings.ws_heartbeat_s``: a waiting page's first ping comes this long after its hello.
HEARTBEAT_S = 20.0


async def settled(server: Server) -> int:
    """The server's RSS once the room is in its steady state: every waiting socket has
    had its first heartbeat (a ping, its pong, the timers behind them: memory that stays
    in use at that rate) and the RSS has stopped rising. Read a heartbeat interval after
    the last hello, then every second until it has not grown for 4 s (30 s at most).

    Measured a second after the last hello instead, both servers were still rising by
    5-7 MB at 10,000 waiting (0.5-0.7 kB each), so that figure depended on where the
    reading fell in the first round of pings."""
    await asyncio.sleep(HEARTBEAT_S)  # a timer's interval, not a wait for an event
    last, steady = server.rss_kb(), 0
    deadline = time.monotonic() + 30
    while steady < 4 and time.monotonic() < deadline:
        await asyncio.sleep(1.0)
        now = server.rss_kb()
        steady = steady + 1 if now <= last else 0
        last = max(last, now)
    return last


async def run_case(server: Server, token: str | None, made: list[Any], args: Any) -> Case:
    """``len(made)`` clients redeem, connect and say hello (paced or in a burst) while a
    staff socket listens; the server's RSS before, connected and all waiting."""
    workers = None
    listener = None
    try:
        joined: dict[str, int] = {}
        ready = asyncio.Event()
        listener = asyncio.create_task(staff_events(server.url, token, joined, ready))
        await asyncio.wait_for(ready.wait(), 10)
        workers = Workers(server.url, made, args.workers, args.pin_clients)
        await asyncio.to_thread(workers.expect)
        await asyncio.sleep(1.0)  # let the server's allocator settle before measuring
        rss0 = server.rss_kb()
        workers.say(["connect"] * args.workers)
        await asyncio.to_thread(workers.expect)
        await asyncio.sleep(1.0)
        rss1 = server.rss_kb()
        interval = int(args.interval_ms * 1e6)
        t0 = time.monotonic_ns() + 200_000_000
        n = args.workers
        workers.say([f"{t0} {interval} {i} {n}" for i in range(n)])
        results = [json.loads(r) for r in await asyncio.to_thread(workers.expect)]
        deadline = time.monotonic() + 10
        while len(joined) < len(made) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)  # the listener fills ``joined``
        await asyncio.sleep(1.0)
        rss2 = server.rss_kb()
        rss3 = await settled(server)
    finally:
        if listener is not None:
            listener.cancel()
        if workers is not None:
            workers.stop()
    sent = {k: v for r in results for k, v in r["sent"].items()}
    status = {k: v for r in results for k, v in r["status"].items()}
    states: dict[str, int] = {}
    for r in results:
        for k, v in r["states"].items():
            states[k] = states.get(k, 0) + v
    return Case(
        server=server.name, clients=len(made), interval_ms=args.interval_ms,
        to_event=[(joined[a] - t) / 1e6 for a, t in sent.items() if a in joined],
        to_status=[(status[a] - t) / 1e6 for a, t in sent.items() if a in status],
        states=states, rss_kb=(rss0, rss1, rss2, rss3), load=load(),
    )  # fmt: skip


async def staff_events(
    url: str, token: str | None, joined: dict[str, int], ready: asyncio.Event
) -> None:
    """Record when each appointment's ``room.joined`` reaches a staff socket."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.ws_connect(f"{url}/api/v1/events", compress=0) as ws,
    ):
        async for msg in ws:
            at = time.monotonic_ns()
            frame = json.loads(msg.data)
            if frame.get("type") == "events.ready":
                ready.set()
            elif frame.get("type") == "room.joined":
                joined.setdefault(frame["data"].get("appointment_id", ""), at)


def figures(name: str, values: list[float]) -> str:
    if not values:
        return f"{name}: none received"
    return (
        f"{name}: p50 {pct(values, 0.5):.2f} ms, p99 {pct(values, 0.99):.2f} ms, "
        f"p99.9 {pct(values, 0.999):.2f} ms, max {max(values):.2f} ms (n={len(values)})"
    )


def report(ours: Case, peer: Case) -> bool:
    """Both servers' figures for one case and its verdicts; ``True`` when all pass."""
    mode = f"paced {ours.interval_ms:g} ms apart" if ours.interval_ms else "in one burst"
    print(f"case: {ours.clients} hellos {mode}")
    for case in (ours, peer):
        r0, r1, r2, r3 = case.rss_kb
        print(f"  {case.server:<13} statuses {case.states}; {case.load}")
        print(f"    {figures('hello -> room.joined (staff)', case.to_event)}")
        print(f"    {figures('hello -> status', case.to_status)}")
        print(
            f"    RSS {r0 / 1024:.1f} MB before the sockets, {r1 / 1024:.1f} MB connected, "
            f"{r2 / 1024:.1f} MB a second after the last hello, {r3 / 1024:.1f} MB settled: "
            f"{case.kb_open:.1f} kB per open socket, {case.kb_arrived:.1f} kB per waiting "
            f"connection a second after, {case.kb_waiting:.1f} kB settled"
        )
    p99 = pct(ours.to_event, 0.99) if len(ours.to_event) == ours.clients else float("inf")
    ratio = ours.kb_waiting / peer.kb_waiting if peer.kb_waiting > 0 else float("inf")
    verdicts = [
        (f"hello -> staff event p99 {p99:.2f} ms (goal <= {GOAL_P99_MS:g} ms)",
         p99 <= GOAL_P99_MS),
        (f"{ours.kb_waiting:.1f} kB per waiting connection (goal <= {GOAL_KB:g} kB)",
         ours.kb_waiting <= GOAL_KB),
        (f"{ratio:.2f}x bare aiohttp's {peer.kb_waiting:.1f} kB (goal <= {GOAL_VS_BARE}x)",
         ratio <= GOAL_VS_BARE),
    ]  # fmt: skip
    for text, ok in verdicts:
        print(f"  verdict: {'PASS' if ok else 'FAIL'} {text}")
    return all(ok for _, ok in verdicts)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=None, help="one case of this many")
    parser.add_argument("--interval-ms", type=float, default=None, help="its pacing")
    parser.add_argument(
        "--cases", default="1000/2,1000/0,1500/2",
        help="clients/interval-ms pairs, comma-separated (0 ms: a burst)",
    )  # fmt: skip
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pin-server", default=None, help="CPUs for the servers (taskset)")
    parser.add_argument("--pin-clients", default=None, help="CPUs for the clients (taskset)")
    parser.add_argument(
        "--hello-concurrency", type=int, default=None,
        help="tlh's [rooms] hello_concurrency (default: the server's own, 64); "
        "100000: a burst's hellos all at once, to see what taking turns trades",
    )  # fmt: skip
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        await worker()
        return
    if args.clients is not None or args.interval_ms is not None:
        cases = [(args.clients or 1000, 2.0 if args.interval_ms is None else args.interval_ms)]
    else:
        cases = [(int(c), float(i)) for c, i in (x.split("/") for x in args.cases.split(","))]
    turns = args.hello_concurrency
    print(
        f"{os.cpu_count()} cores; {load()}; tlh serve beside a bare aiohttp server, each case; "
        f"hello_concurrency {turns if turns is not None else 'as shipped'}"
    )
    passed = True
    for clients, interval in cases:
        args.interval_ms = interval
        with tempfile.TemporaryDirectory() as tmp:
            token, made = await seed(Path(tmp) / "data", clients)
            if turns is not None:
                config = f"[rooms]\nhello_concurrency = {turns}\n"
                (Path(tmp) / "data" / "tlh.toml").write_text(config)
            server = Server(Path(tmp) / "data", args.pin_server)
            try:
                ours = await run_case(server, token, made, args)
            finally:
                server.stop()
            bare = BareServer({t: a for t, a, _ in made}, Path(tmp), args.pin_server)
            try:
                peer = await run_case(bare, None, made, args)
            finally:
                bare.stop()
        passed = report(ours, peer) and passed
    print(f"overall: {'PASS' if judged(passed) else 'FAIL'}; {load()}")


if __name__ == "__main__":
    asyncio.run(main())
    finish()
