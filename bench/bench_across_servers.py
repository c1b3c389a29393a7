"""Issue 15: the waiting rooms across servers. Several ``tlh serve`` on one PostgreSQL
(``tlh init --store``, a copy of its tlh.toml per server, each server talked to
directly: no balancer), people waiting, a staff ``/api/v1/events`` socket, and the time
from a client's ``hello`` sent to ``room.joined`` received on the staff socket.

Cases, each with p50/p99/p99.9/max, its goal, a verdict and the machine's load, in one
run (each case on a fresh database and fresh servers):

(a) one server: N waiting, the staff socket on the same server. Goal: p99 <= 10 ms
    (the issue's cross-server goal, applied to one server for comparison).
(b) two servers: the N pages on A, the staff socket on B (the event crosses servers
    through PostgreSQL's LISTEN/NOTIFY), and a second staff socket on A (the same
    server, while two run). Goal: cross-server p99 <= 10 ms; (a) printed beside it.
(c) capacity, "2 servers hold 2x the waiting clients of 1 at the same p99": N pages on
    each of two servers (2N waiting), the staff socket on A; hellos paced at ``--rate``
    a second *per server* (a practice with twice the clients has twice the arrivals).
    The figure is the p99 of the last quarter of arrivals (those that join a room
    already holding over 3/4 of the final count: 1.5N over two servers, 0.75N on one),
    compared with the same on one server (case a). Rule: within 1.2x the one-server
    figure, or at most 2 ms above it, whichever is more lenient. Why: a count-dependent
    cost (work per held entry, replicas of the other server's entries) shows as a
    ratio, so 1.2x catches it; but the one-server p99 is a few milliseconds, where
    run-to-run noise on a shared machine and the LISTEN/NOTIFY hop that half the events
    take by design (~1 ms) are a fixed amount, not a ratio, so 2 ms keeps them from
    failing a figure that is not growing with the count.

Hellos are paced (``--rate`` a second, 50 by default) so each figure is one join's
latency, not a queue's length: on PostgreSQL a hello costs its server ~7 ms of CPU and
PostgreSQL ~3 ms (printed per case, as "CPU per hello"), so one server on one core
takes at most ~140 hellos a second, and at 200 a second on a 2-core machine the
figures measure the queue. In (c) the CPU per hello is per hello of the practice's
(2N): what each server spends on its own pages' hellos and on its replicas of the
other's. Clients are ``bench_room_ws.py``'s worker processes (``--workers`` per
server's pages); the staff sockets are in this process. All clocks are
CLOCK_MONOTONIC, shared by the processes.

    .venv/bin/python bench/bench_across_servers.py [--waiting 1000] [--rate 200] [--pin]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_room_ws import Workers, figures, load, pct, staff_events
from verdicts import finish, judged
from waiting_practice import waiting_appointments

from tests.ops.running import serving
from tests.pgserver import PgServer, running
from tests.store.pg.practice import call, init_on, second_server_dir
from tlh.services.bootstrap import local_context
from tlh.store.keys import KeySource

GOAL_P99_MS = 10.0
#: Case (c): the two-server figure passes within this ratio of the one-server one...
CAPACITY_TIMES = 1.2
#: ...or this many milliseconds above it, whichever is more lenient.
CAPACITY_MS = 2.0
#: The "last arrivals" of case (c): this last share of the hellos, by the time sent.
LAST = 0.25


@dataclass
class Practice:
    """A practice on PostgreSQL served by ``urls`` (processes ``pids``); the admin's
    token; its join links; the database server."""

    token: str
    urls: list[str]
    made: list[Any]
    pids: list[int]
    pg: PgServer


@contextlib.contextmanager
def practice(
    tmp: Path, pg: PgServer, servers: int, count: int, pin: str | None
) -> Iterator[Practice]:
    """``tlh init --store`` on a fresh database, ``count`` appointments seeded into it,
    then ``servers`` ``tlh serve`` on it (``pin``: on those CPUs) until the block ends."""
    url = pg.database()
    data_dir, token, key_file = init_on(tmp, url)
    made = asyncio.run(seeded(url, key_file, count))
    dirs = [data_dir, second_server_dir(tmp, data_dir)][:servers]
    with contextlib.ExitStack() as stack:
        urls, pids = [], []
        for folder in dirs:
            proc, served, _ = stack.enter_context(serving(folder, "--key-file", str(key_file)))
            if pin:
                subprocess.run(["taskset", "-a", "-p", "-c", pin, str(proc.pid)],
                               check=True, stdout=subprocess.DEVNULL)  # fmt: skip
            urls.append(served)
            pids.append(proc.pid)
        yield Practice(token, urls, made, pids, pg)


async def seeded(url: str, key_file: Path, count: int) -> list[Any]:
    """The bench's appointments and join links, written into the practice's database."""
    async with local_context(url, KeySource(key_file=key_file)) as ctx:
        return await waiting_appointments(ctx, count)


def cpu_s(pid: int) -> float:
    """The CPU time (user + system) a process has used so far, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_now(p: Practice) -> list[float]:
    """Each server's CPU time so far, then PostgreSQL's (its postmaster and backends:
    this cluster's only, not another's on the machine)."""
    postmaster = int((p.pg.data / "postmaster.pid").read_text().split()[0])
    children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
    database = 0.0
    for pid in [postmaster, *map(int, children)]:
        with contextlib.suppress(OSError):  # a backend that just ended
            database += cpu_s(pid)
    return [*map(cpu_s, p.pids), database]


async def all_ready(token: str, urls: list[str]) -> None:
    """Wait (bounded) until every server answers ``/readyz`` 200: each serves the rooms."""
    async with asyncio.timeout(30):
        for url in urls:
            while (await call(url, token, "GET", "/readyz"))[0] != 200:
                await asyncio.sleep(0.05)  # polling its take of its id, bounded


@dataclass
class Run:
    """One measured run: per appointment, when its hello was sent and which server its
    page was on; per staff socket, when each ``room.joined`` reached it."""

    sent: dict[str, int]
    page_on: dict[str, str]
    joined: dict[str, dict[str, int]]
    states: dict[str, int] = field(default_factory=dict)
    load: str = ""
    #: CPU milliseconds per hello while they ran: each server's, then PostgreSQL's.
    cpu_ms: list[float] = field(default_factory=list)

    def cpu(self) -> str:
        """The CPU line of the run."""
        *servers, database = (f"{ms:.1f}" for ms in self.cpu_ms)
        return f"CPU per hello: server {' + '.join(servers)} ms, PostgreSQL {database} ms"

    def to_event(self, staff: str, pages_on: str | None = None, last: float = 1.0) -> list[float]:
        """Milliseconds hello -> ``room.joined`` at the ``staff`` socket (one never
        received: infinite), for the ``last`` share of the hellos, pages on
        ``pages_on`` only if given."""
        order = sorted(self.sent, key=self.sent.__getitem__)
        seen = self.joined[staff]
        return [
            (seen[a] - self.sent[a]) / 1e6 if a in seen else float("inf")
            for a in order[int(len(order) * (1 - last)) :]
            if pages_on is None or self.page_on[a] == pages_on
        ]


async def measure(p: Practice, pages: list[str], staff: list[str], args: Any) -> Run:
    """The practice's clients split between the servers ``pages`` (in order, equal
    shares) redeem their links, open their pages' sockets and say hello, paced at
    ``args.rate`` a second per server, while a staff socket listens on each of
    ``staff``."""
    await all_ready(p.token, p.urls)
    joined: dict[str, dict[str, int]] = {url: {} for url in staff}
    listeners = []
    groups: list[Workers] = []
    try:
        for url in staff:
            ready = asyncio.Event()
            listeners.append(asyncio.create_task(staff_events(url, p.token, joined[url], ready)))
            await asyncio.wait_for(ready.wait(), 10)
        shares = [p.made[i :: len(pages)] for i in range(len(pages))]
        groups = [Workers(url, share, args.workers, args.pin_clients)
                  for url, share in zip(pages, shares, strict=True)]  # fmt: skip
        for step in ("redeemed", "connect"):
            if step == "connect":
                for group in groups:
                    group.say(["connect"] * len(group.procs))
            for group in groups:
                await asyncio.to_thread(group.expect)
        stride = sum(len(g.procs) for g in groups)
        interval = int(1e9 / (args.rate * len(pages)))
        t0 = time.monotonic_ns() + 200_000_000
        before = cpu_now(p)
        offsets = iter(range(stride))
        for group in groups:
            group.say([f"{t0} {interval} {next(offsets)} {stride}" for _ in group.procs])
        results = [r for g in groups for r in await asyncio.to_thread(g.expect)]
        with contextlib.suppress(TimeoutError):  # one never received counts as infinite
            async with asyncio.timeout(10):
                while any(len(seen) < len(p.made) for seen in joined.values()):
                    await asyncio.sleep(0.05)  # the listeners fill ``joined``; bounded
        used = [(b - a) * 1000 / len(p.made) for a, b in zip(before, cpu_now(p), strict=True)]
    finally:
        for task in listeners:
            task.cancel()
        for group in groups:
            group.stop()
    run = collect(results, pages, shares, joined)
    run.cpu_ms = used
    return run


def collect(
    results: list[str], pages: list[str], shares: list[list[Any]], joined: dict[str, Any]
) -> Run:
    """The workers' reports as one ``Run``."""
    run = Run(sent={}, page_on={}, joined=joined, load=load())
    for url, share in zip(pages, shares, strict=True):
        run.page_on.update({appt: url for _, appt, _ in share})
    for line in results:
        said = json.loads(line)
        run.sent.update(said["sent"])
        for state, n in said["states"].items():
            run.states[state] = run.states.get(state, 0) + n
    return run


def verdict(ok: bool, text: str) -> bool:
    print(f"  verdict: {'PASS' if ok else 'FAIL'} {text}")
    return ok


def report(one: Run, cross: Run, double: Run, n: int, rate: float) -> bool:
    """The three cases' figures and verdicts; ``True`` when all pass."""
    a = one.to_event(*one.joined)
    print(f"(a) one server, {n} waiting, {rate:g} hellos/s, staff socket on it")
    print(f"  statuses {one.states}; {one.cpu()}; {one.load}")
    print(f"  {figures('hello -> room.joined', a)}")
    passed = verdict(pct(a, 0.99) <= GOAL_P99_MS, f"p99 {pct(a, 0.99):.2f} ms "
                     f"(goal <= {GOAL_P99_MS:g} ms, the cross-server goal, for comparison)")  # fmt: skip

    page_a, staff_b = cross.page_on[next(iter(cross.sent))], list(cross.joined)[-1]
    b = cross.to_event(staff_b)
    print(f"(b) two servers, {n} pages on A, staff sockets on B (cross-server) and on A")
    print(f"  statuses {cross.states}; {cross.cpu()}; {cross.load}")
    print(f"  {figures('cross-server (staff on B)', b)}")
    print(f"  {figures('same server (staff on A)', cross.to_event(page_a))}")
    print(f"  {figures('one server (a)', a)}")
    passed &= verdict(pct(b, 0.99) <= GOAL_P99_MS,
                      f"cross-server p99 {pct(b, 0.99):.2f} ms (goal <= {GOAL_P99_MS:g} ms)")  # fmt: skip

    staff_on = next(iter(double.joined))
    page_b = next(u for u in set(double.page_on.values()) if u != staff_on)
    c_one, c_two = one.to_event(*one.joined, last=LAST), double.to_event(staff_on, last=LAST)
    print(f"(c) capacity: two servers, {n} pages on each ({2 * n} waiting), "
          f"{rate:g} hellos/s per server, staff socket on A")  # fmt: skip
    print(f"  statuses {double.states}; {double.cpu()}; {double.load}")
    print(f"  {figures(f'all {2 * n}', double.to_event(staff_on))}")
    for on, where in ((staff_on, "A (same server)"), (page_b, "B (cross-server)")):
        print(f"  {figures(f'pages on {where}', double.to_event(staff_on, pages_on=on))}")
    print(f"  {figures(f'last {LAST:.0%} of {2 * n} over two servers', c_two)}")
    print(f"  {figures(f'last {LAST:.0%} of {n} on one server (a)', c_one)}")
    one_p99, two_p99 = pct(c_one, 0.99), pct(c_two, 0.99)
    bound = max(one_p99 * CAPACITY_TIMES, one_p99 + CAPACITY_MS)
    passed &= verdict(
        two_p99 <= bound,
        f"last arrivals' p99 {two_p99:.2f} ms at {2 * n} on two servers vs {one_p99:.2f} ms "
        f"at {n} on one (goal <= {bound:.2f} ms: {CAPACITY_TIMES}x or +{CAPACITY_MS:g} ms)",
    )
    return passed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--waiting", type=int, default=1000, help="N: clients per server")
    parser.add_argument("--rate", type=float, default=50.0, help="hellos a second per server")
    parser.add_argument("--workers", type=int, default=2, help="client processes per server")
    parser.add_argument("--pin", action="store_true", help="servers on CPU 0, clients on 1")
    parser.add_argument("--pin-server", default=None, help="CPUs for the servers (taskset)")
    parser.add_argument("--pin-clients", default=None, help="CPUs for the clients (taskset)")
    args = parser.parse_args()
    if args.pin:
        args.pin_server, args.pin_clients = args.pin_server or "0", args.pin_clients or "1"
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # children inherit it
    n = args.waiting
    print(f"{os.cpu_count()} cores; {load()}; servers on CPUs {args.pin_server or 'any'}, "
          f"clients on {args.pin_clients or 'any'}, PostgreSQL on any")  # fmt: skip
    with running() as pg:
        one = case(pg, 1, n, lambda p: ([p.urls[0]], [p.urls[0]]), args)
        cross = case(pg, 2, n, lambda p: ([p.urls[0]], [p.urls[0], p.urls[1]]), args)
        double = case(pg, 2, 2 * n, lambda p: (p.urls, [p.urls[0]]), args)
    passed = judged(report(one, cross, double, n, args.rate))
    print(f"overall: {'PASS' if passed else 'FAIL'}; {load()}")


def case(pg: PgServer, servers: int, count: int, where: Any, args: Any) -> Run:
    """One case on a fresh practice: ``where(practice)`` gives the servers the pages
    are on and those a staff socket listens on."""
    with (
        tempfile.TemporaryDirectory(prefix="tlh-xbench-") as tmp,
        practice(Path(tmp), pg, servers, count, args.pin_server) as p,
    ):
        pages, staff = where(p)
        return asyncio.run(measure(p, pages, staff, args))


if __name__ == "__main__":
    main()
    finish()
