"""The foundation's performance targets, measured through the real server.

    .venv/bin/python bench/bench_api.py [--appointments 100000] [--repeats 5]

Two servers, each loaded with N appointments through the import endpoint:

* **subprocess** (``python -c`` calling ``tlh.server.run.serve``), as a practice runs it:
  ``tlh appt import`` of 10,000 new rows (CLI start to exit), status changes through
  ``POST /api/v1/appointments/{id}/status`` (HTTP round trip, keep-alive), ``tlh appt
  list --date D --json`` and ``tlh --help`` (whole commands).
* **in-process** (``create_app`` + aiohttp's test server on the benchmark's own loop),
  to see inside: a timing middleware around the whole middleware chain gives the
  server-side handler time, and ``store.commit`` / ``audit.append_many`` are wrapped to
  time the durable writes of a 10,000-row import. The floor for that write is
  ``json.dumps`` of the very documents the import committed + write + one fsync, to a
  file next to the data dir, measured in the same run right after each import.

Every figure is repeated; the table shows the median and the spread (min-max).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import http.client
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import msgspec
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from verdicts import finish, judged

from tests.serving import free_port
from tlh.server.app import create_app
from tlh.server.keys import AUDIT, STORE
from tlh.server.settings import Settings
from tlh.services.bootstrap import init_practice

PY = sys.executable
CLINICIANS = 20
SLOTS_PER_DAY = 10  # per clinician: 50-minute appointments on the hour from 08:00
BATCH = 10_000
CLIENTS = 1_000
FIRST_DAY = date(2030, 1, 7)
TZ = "America/New_York"
SERVER = (
    "import sys; from pathlib import Path; from tlh.server.run import serve; "
    "from tlh.server.settings import Settings; "
    "serve(Settings(data_dir=Path(sys.argv[1]), port=int(sys.argv[2])))"
)
AUTH: dict[str, str] = {}


# --- helpers -------------------------------------------------------------------------


def rows(first: int, count: int, prefix: str) -> bytes:
    """CSV rows that never collide: slot ``i`` maps to (day, clinician, hour)."""
    lines = ["external_id,client_external_id,client_name,clinician_email,start,duration_min"]
    per_day = CLINICIANS * SLOTS_PER_DAY
    for i in range(first, first + count):
        day = FIRST_DAY + timedelta(days=i // per_day)
        clinician = (i % per_day) // SLOTS_PER_DAY
        client = i % CLIENTS
        lines.append(
            f"{prefix}-{i},cl-{client},Bench Client {client},"
            f"c{clinician}@example.org,{day.isoformat()}T{8 + i % SLOTS_PER_DAY:02d}:00,50"
        )
    return ("\n".join(lines) + "\n").encode()


def busy_day(total: int) -> date:
    return FIRST_DAY + timedelta(days=(total // (CLINICIANS * SLOTS_PER_DAY)) // 2)


def floor_write(path: Path, docs: list[Any]) -> float:
    """json.dumps of the docs + write + one fsync: the cost of any durable bulk write."""
    started = time.perf_counter()
    data = json.dumps(docs).encode()
    with path.open("wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    return time.perf_counter() - started


def pct(values: list[float], p: float) -> float:
    """The ``p``-th percentile (``99.9`` allowed): the value below which ``p`` % fall."""
    if len(values) < 2:
        return values[0]
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class Figure:
    """One row of the result table: several measurements of one thing, in ms."""

    def __init__(self, name: str, target: str, limit: float | None) -> None:
        self.name, self.target, self.limit = name, target, limit
        self.samples: list[float] = []

    def add(self, ms: float) -> None:
        self.samples.append(ms)

    def row(self) -> str:
        med = statistics.median(self.samples)
        spread = f"{min(self.samples):.2f}-{max(self.samples):.2f}"
        verdict = "" if self.limit is None else ("ok" if judged(med <= self.limit) else "MISS")
        return (
            f"{self.name:<58} {med:>9.2f}  {spread:>17}  {len(self.samples):>3}  "
            f"{self.target:<14} {verdict}"
        )


def table(figures: list[Figure]) -> None:
    print()
    print(f"{'figure (ms unless a ratio)':<58} {'median':>9}  {'min-max':>17}  {'n':>3}  target")
    print("-" * 118)
    for figure in figures:
        if figure.samples:
            print(figure.row())


# --- the subprocess server -----------------------------------------------------------


def call(conn: http.client.HTTPConnection, method: str, path: str, body: Any = None) -> Any:
    ctype = "text/csv" if isinstance(body, bytes) else "application/json"
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    conn.request(method, path, body=data, headers={**AUTH, "Content-Type": ctype})
    response = conn.getresponse()
    raw = response.read()
    if response.status >= 300:
        raise SystemExit(f"{method} {path} answered {response.status}: {raw[:300]!r}")
    return json.loads(raw) if raw else None


def wall(argv: list[str], env: dict[str, str], stdin: bytes | None = None) -> float:
    """Milliseconds from process start to exit; a failing command stops the benchmark."""
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, input=stdin, check=False)
    took = (time.perf_counter() - started) * 1000
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv[2:])} failed ({done.returncode}): {done.stderr!r}")
    return took


def start_server(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [PY, "-c", SERVER, str(data_dir), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the server exited during start-up")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.05)  # polling a subprocess's start-up; bounded by the deadline
    raise SystemExit("the server did not answer /healthz in time")


def subprocess_part(root: Path, total: int, repeats: int, figures: dict[str, Figure]) -> None:
    data_dir = root / "sub"
    AUTH["Authorization"] = "Bearer " + asyncio.run(
        init_practice(data_dir, "Bench", TZ, "admin@example.org")
    )
    port = free_port()
    env = {
        **os.environ,
        "TLH_URL": f"http://127.0.0.1:{port}",
        "TLH_TOKEN": AUTH["Authorization"].split()[1],
        "TLH_CONFIG": str(root / "none.toml"),
    }
    for _ in range(repeats * 2 + 1):  # --help needs no server; first run warms .pyc files
        figures["help"].add(wall([PY, "-m", "tlh", "--help"], env))
    figures["help"].samples.pop(0)
    server = start_server(data_dir, port)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        for c in range(CLINICIANS):
            body = {"email": f"c{c}@example.org", "name": f"Clinician {c}", "role": "clinician"}
            call(conn, "POST", "/api/v1/staff", body)
        started = time.perf_counter()
        for first in range(0, total, BATCH):
            call(conn, "POST", "/api/v1/appointments/import", rows(first, BATCH, "b"))
        print(f"subprocess server: loaded {total:,} in {time.perf_counter() - started:.1f} s")
        # As a practice has it: the history on disk, read at start-up.
        conn.close()
        server.send_signal(signal.SIGINT)
        server.wait(timeout=120)
        started = time.perf_counter()
        server = start_server(data_dir, port)
        print(f"subprocess server: restarted on it in {time.perf_counter() - started:.1f} s")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)

        next_row = total
        for r in range(repeats):
            path = root / f"new{r}.csv"
            path.write_bytes(rows(next_row, BATCH, f"n{r}"))
            next_row += BATCH
            figures["cli_import"].add(wall([PY, "-m", "tlh", "appt", "import", str(path)], env))

        day = busy_day(total)
        month = call(conn, "GET", f"/api/v1/appointments?from={day}&to={day + timedelta(30)}")
        ids = [a["id"] for a in month["items"]][:500]
        rnd = random.Random(3)
        for _ in range(repeats):
            rnd.shuffle(ids)
            lat = []
            for status in ("confirmed", "scheduled"):  # every id there and back
                for appt_id in ids:
                    t = time.perf_counter()
                    call(conn, "POST", f"/api/v1/appointments/{appt_id}/status", {"status": status})
                    lat.append((time.perf_counter() - t) * 1000)
            figures["status_http_p50"].add(pct(lat, 50))
            figures["status_http_p99"].add(pct(lat, 99))
            figures["status_http_p999"].add(pct(lat, 99.9))
            figures["status_http_max"].add(max(lat))

        argv = [PY, "-m", "tlh", "appt", "list", "--date", day.isoformat(), "--json"]
        wall(argv, env)
        for _ in range(repeats * 2):
            figures["cli_list"].add(wall(argv, env))
        argv += ["--clinician", "c3@example.org"]
        for _ in range(repeats * 2):
            figures["cli_list_one"].add(wall(argv, env))
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)


# --- the in-process server -----------------------------------------------------------

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def _load_history(data_dir: Path, headers: dict[str, str], total: int) -> None:
    """Staff and ``total`` appointments, through the import endpoint of a first server."""
    async with TestClient(TestServer(create_app(Settings(data_dir=data_dir, port=0)))) as client:
        for c in range(CLINICIANS):
            body = {"email": f"c{c}@example.org", "name": f"Clinician {c}", "role": "clinician"}
            async with client.post("/api/v1/staff", json=body, headers=headers) as answer:
                assert answer.status == 201, await answer.text()
        started = time.perf_counter()
        for first in range(0, total, BATCH):
            async with client.post(
                "/api/v1/appointments/import",
                data=rows(first, BATCH, "b"),
                headers={**headers, "Content-Type": "text/csv"},
            ) as answer:
                assert answer.status == 200, await answer.text()
        print(f"in-process server: loaded {total:,} in {time.perf_counter() - started:.1f} s")


async def inprocess_part(root: Path, total: int, repeats: int, figures: dict[str, Figure]) -> None:
    data_dir = root / "inproc"
    token = await init_practice(data_dir, "Bench", TZ, "admin@example.org")
    headers = {"Authorization": f"Bearer {token}"}
    # Measured on a second server that read the history at start-up, as a practice has it.
    await _load_history(data_dir, headers, total)
    handler_ms: list[float] = []

    @web.middleware
    async def timing(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        try:
            return await handler(request)
        finally:
            handler_ms.append((time.perf_counter() - started) * 1000)

    app = create_app(Settings(data_dir=data_dir, port=0))
    app.middlewares.insert(0, timing)  # outermost: the whole server-side chain
    async with TestClient(TestServer(app)) as client:
        store, audit = app[STORE], app[AUDIT]
        commits: list[tuple[float, list[Any]]] = []
        appends: list[float] = []
        real_commit, real_append = store.commit, audit.append_many

        async def timed_commit(ops: Any, *, audit: Any) -> None:
            started = time.perf_counter()
            await real_commit(ops, audit=audit)
            commits.append(((time.perf_counter() - started) * 1000, list(ops)))

        async def timed_append(*args: Any, **kwargs: Any) -> None:
            started = time.perf_counter()
            await real_append(*args, **kwargs)
            appends.append((time.perf_counter() - started) * 1000)

        store.commit = timed_commit  # type: ignore[method-assign]
        audit.append_many = timed_append  # type: ignore[method-assign]

        async def post(path: str, data: Any) -> Any:
            kwargs: dict[str, Any] = (
                {"data": data, "headers": {**headers, "Content-Type": "text/csv"}}
                if isinstance(data, bytes)
                else {"json": data, "headers": headers}
            )
            async with client.post(path, **kwargs) as answer:
                assert answer.status < 300, (answer.status, await answer.text())
                return await answer.json()

        gc_ms: list[float] = []
        gc_started = [0.0]

        def gc_timer(phase: str, info: dict[str, int]) -> None:
            if phase == "start":
                gc_started[0] = time.perf_counter()
            elif info["generation"] == 2:
                gc_ms.append((time.perf_counter() - gc_started[0]) * 1000)

        gc.callbacks.append(gc_timer)

        async def quiet_disk() -> None:
            # A background checkpoint writes month files; let it finish so that the floor
            # and the commit are not measured against each other's fsyncs.
            task = store._checkpoint_task
            if task is not None:
                await asyncio.gather(task, return_exceptions=True)

        # 1. the server-side write of a 10k import vs the floor, same docs, same run
        next_row = total
        for r in range(repeats):
            data = rows(next_row, BATCH, f"n{r}")
            next_row += BATCH
            await quiet_disk()
            commits.clear()
            appends.clear()
            handler_ms.clear()
            gc_ms.clear()
            await post("/api/v1/appointments/import", data)
            figures["import_gc"].add(max(gc_ms, default=0.0))
            await quiet_disk()
            commit_ms = sum(ms for ms, _ in commits)
            write_ms = commit_ms + sum(appends)
            docs = [msgspec.to_builtins(op.record) for _, ops in commits for op in ops]
            floor_ms = floor_write(root / f"floor{r}.json", docs) * 1000
            figures["import_handler"].add(handler_ms[-1])
            figures["import_commit"].add(commit_ms)
            figures["import_write"].add(write_ms)
            figures["import_floor"].add(floor_ms)
            figures["import_ratio"].add(commit_ms / floor_ms)
            figures["import_write_ratio"].add(write_ms / floor_ms)
            figures["import_handler_ratio"].add(handler_ms[-1] / floor_ms)

        # 2. one durable status change: store commit and the whole handler
        day = busy_day(total)
        async with client.get(
            f"/api/v1/appointments?from={day}&to={day + timedelta(30)}", headers=headers
        ) as answer:
            ids = [a["id"] for a in (await answer.json())["items"]][:500]
        rnd = random.Random(5)
        for _ in range(repeats):
            rnd.shuffle(ids)
            commits.clear()
            handler_ms.clear()
            gc_ms.clear()
            for status in ("confirmed", "scheduled"):
                for appt_id in ids:
                    await post(f"/api/v1/appointments/{appt_id}/status", {"status": status})
            figures["status_gc"].add(max(gc_ms, default=0.0))
            store_lat = [ms for ms, _ in commits]
            figures["status_store_p99"].add(pct(store_lat, 99))
            figures["status_handler_p50"].add(pct(handler_ms, 50))
            figures["status_handler_p99"].add(pct(handler_ms, 99))
            figures["status_handler_p999"].add(pct(handler_ms, 99.9))
            figures["status_handler_max"].add(max(handler_ms))

        # 3. one clinician's day
        for _ in range(repeats):
            handler_ms.clear()
            round_trip = []
            for i in range(200):
                query = f"/api/v1/appointments?date={day}&clinician=c{i % CLINICIANS}@example.org"
                t = time.perf_counter()
                async with client.get(query, headers=headers) as answer:
                    found = (await answer.json())["items"]
                round_trip.append((time.perf_counter() - t) * 1000)
                assert len(found) == SLOTS_PER_DAY, len(found)
            figures["day_handler_p50"].add(pct(handler_ms, 50))
            figures["day_handler_p99"].add(pct(handler_ms, 99))
            figures["day_round_trip_p50"].add(pct(round_trip, 50))


def make_figures() -> dict[str, Figure]:
    spec = [
        ("cli_import", "1. tlh appt import, 10,000 rows, start to exit", "<= 1500 ms", 1500),
        ("import_handler", "1. import request, server-side handler (in-process)", "", None),
        ("import_commit", "1. import: store commit (durable write)", "", None),
        ("import_write", "1. import: store commit + audit appends", "", None),
        ("import_gc", "1. import: longest full (gen 2) GC pause in the request", "<= 25 ms", 25),
        ("import_floor", "1. floor: json.dumps same docs + write + fsync", "", None),
        ("import_ratio", "1. ratio store commit / floor", "<= 5x", 5.0),
        ("import_write_ratio", "1. ratio (commit + audit) / floor", "<= 5x", 5.0),
        ("import_handler_ratio", "1. ratio whole import handler / floor", "<= 5x", 5.0),
        ("status_http_p50", "2. status change via HTTP, p50 (subprocess server)", "", None),
        ("status_http_p99", "2. status change via HTTP, p99 (subprocess server)", "<= 20 ms", 20),
        ("status_http_p999", "2. status change via HTTP, p99.9 (1,000 a run)", "", None),
        ("status_http_max", "2. status change via HTTP, max", "", None),
        ("status_handler_p50", "2. status change, server handler p50 (in-process)", "", None),
        ("status_handler_p99", "2. status change, server handler p99 (in-process)", "<= 20 ms", 20),
        ("status_handler_p999", "2. status change, server handler p99.9", "", None),
        ("status_handler_max", "2. status change, server handler max", "", None),
        ("status_gc", "2. status changes: longest full GC pause in 1,000", "<= 25 ms", 25),
        ("status_store_p99", "2. status change, store commit p99", "<= 20 ms", 20),
        ("day_handler_p50", "3. GET day+clinician, server handler p50", "<= 5 ms", 5),
        ("day_handler_p99", "3. GET day+clinician, server handler p99", "", None),
        ("day_round_trip_p50", "3. GET day+clinician, test-client round trip p50", "", None),
        ("cli_list", "3. tlh appt list --date D --json (all 200 that day)", "<= 400 ms", 400),
        ("cli_list_one", "3. ... --clinician E (10 that day)", "<= 400 ms", 400),
        ("help", "4. tlh --help", "<= 150 ms", 150),
    ]
    return {key: Figure(name, target, limit) for key, name, target, limit in spec}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--appointments", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--part", choices=("all", "subprocess", "inprocess"), default="all")
    args = parser.parse_args()
    total = args.appointments - args.appointments % BATCH or BATCH
    figures = make_figures()
    with tempfile.TemporaryDirectory(prefix="tlh-bench-api-") as tmp:
        root = Path(tmp)
        if args.part in ("all", "subprocess"):
            subprocess_part(root, total, args.repeats, figures)
        if args.part in ("all", "inprocess"):
            asyncio.run(inprocess_part(root, total, args.repeats, figures))
    print(f"\n{total:,} appointments in history; {os.cpu_count()} CPUs; load {os.getloadavg()}")
    table(list(figures.values()))


if __name__ == "__main__":
    main()
    finish()
