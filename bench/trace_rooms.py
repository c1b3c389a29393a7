"""Where a waiting page's connection goes in the server's memory: ``tlh serve`` and the
bare aiohttp server (``bare_rooms.py``) each under ``tracemalloc``, the same clients as
``bench_room_ws.py`` (connect, then paced hellos), a snapshot before the sockets, once
connected and once all wait. Prints, per source line, the bytes per connection each
server allocated and kept (all waiting minus before), tlh's excess first.

A diagnosis, not a verdict: tracing makes the servers several times slower (a run of
3,000 takes a few minutes), and it counts Python's allocations only (RSS also holds
what the allocators keep). Issue 21 items 4-5: this found the store's second copy of
each live entry and the middleware frame held around each socket.

    .venv/bin/python bench/trace_rooms.py [--clients 3000] [--lines 30]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import itertools
import json
import os
import runpy
import signal
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_room_ws import Server, run_case, seed

from tests.messaging.support import free_port

HERE = Path(__file__).resolve().parent
#: Frames kept per allocation (enough to see past asyncio's and aiohttp's own).
FRAMES = 25


def traced_server() -> None:
    """``--traced tlh ARGS`` / ``--traced bare ARGS``: the server, traced; each SIGUSR1
    writes the next snapshot to ``$TRACE_DIR/N.snap``."""
    tracemalloc.start(FRAMES)
    count = itertools.count()
    folder = Path(os.environ["TRACE_DIR"])

    def dump(*_: object) -> None:
        path = folder / f"{next(count)}.snap"
        tracemalloc.take_snapshot().dump(str(path.with_suffix(".tmp")))
        path.with_suffix(".tmp").rename(path)

    signal.signal(signal.SIGUSR1, dump)
    which, args = sys.argv[2], sys.argv[3:]
    if which == "bare":
        sys.argv = [str(HERE / "bare_rooms.py"), *args]
        runpy.run_path(sys.argv[0], run_name="__main__")
        return
    from tlh.cli.main import main as tlh

    sys.argv = ["tlh", *args]
    tlh()


class Traced(Server):
    """A server under ``traced_server``; its RSS readings take a snapshot each."""

    def __init__(self, which: str, args: list[str], folder: Path) -> None:
        self.name = "tlh" if which == "tlh" else "bare aiohttp"
        self.folder = folder
        self.snaps = 0
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [a.replace("PORT", str(self.port)) for a in args]
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--traced", which, *args],
            env={**os.environ, "TLH_CONFIG": os.devnull, "TRACE_DIR": str(folder)},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 300  # tracing slows start-up several times over
        while True:
            try:
                self.wait_healthy()
                return
            except SystemExit:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise

    def rss_kb(self) -> int:
        if self.snaps == 3:  # before, connected, all waiting; not the settling reads
            return super().rss_kb()
        path = self.folder / f"{self.snaps}.snap"
        self.snaps += 1
        self.proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 120
        while not path.exists():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise SystemExit(f"{self.name} wrote no snapshot")
            time.sleep(0.1)  # the server writes it in its own time; bounded
        return super().rss_kb()


def per_line(folder: Path, clients: int) -> dict[str, float]:
    """Bytes per connection kept between the first and the last snapshot, by line."""
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__)]
    first = tracemalloc.Snapshot.load(str(folder / "0.snap")).filter_traces(ignore)
    last = tracemalloc.Snapshot.load(str(folder / "2.snap")).filter_traces(ignore)
    out: dict[str, float] = collections.defaultdict(float)
    for stat in last.compare_to(first, "lineno"):
        frame = stat.traceback[0]
        where = frame.filename.split("site-packages/")[-1].replace(str(HERE.parent) + "/", "")
        out[f"{where}:{frame.lineno}"] += stat.size_diff / clients
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=3000)
    parser.add_argument("--lines", type=int, default=30)
    args = parser.parse_args()
    options: Any = argparse.Namespace(workers=2, pin_clients=None, interval_ms=2.0)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        token, made = await seed(root / "data", args.clients)
        lines: dict[str, dict[str, float]] = {}
        waiting: dict[str, int] = {}
        for which in ("tlh", "bare"):
            folder = root / f"snaps-{which}"
            folder.mkdir()
            if which == "tlh":
                server_args = ["serve", "--data-dir", str(root / "data"), "--port", "PORT"]
            else:
                links = root / "bare-links.json"
                links.write_text(json.dumps({t: a for t, a, _ in made}))
                server_args = ["PORT", str(links)]
            server = Traced(which, server_args, folder)
            try:
                case = await run_case(server, token if which == "tlh" else None, made, options)
            finally:
                server.stop()
            waiting[which] = case.states.get("waiting", 0)
            lines[which] = per_line(folder, args.clients)
    ours, bare = lines["tlh"], lines["bare"]
    print(f"{args.clients} clients; waiting when the last snapshot was taken: {waiting}")
    print(f"kept per connection: tlh {sum(ours.values()):.0f} B, bare {sum(bare.values()):.0f} B")
    print(f"{'tlh':>8} {'bare':>8} {'excess':>8}  line")
    rows = sorted(set(ours) | set(bare), key=lambda k: -(ours.get(k, 0) - bare.get(k, 0)))
    for key in rows[: args.lines]:
        a, b = ours.get(key, 0.0), bare.get(key, 0.0)
        print(f"{a:8.0f} {b:8.0f} {a - b:8.0f}  {key}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--traced":
        traced_server()
    else:
        asyncio.run(main())
