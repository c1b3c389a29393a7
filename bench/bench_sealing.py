"""The cost of sealing: an encrypted practice beside a ``--no-encrypt`` one, same run.

    .venv/bin/python bench/bench_sealing.py [--appointments 100000] [--repeats 5]

Two practices, each served by a real ``tlh serve`` process (``tlh.server.run.serve``,
as ``bench_api.py`` runs it), one sealed under a key file, one in clear, each loaded
with N appointments through the import endpoint. Then, alternating between the two on
every repeat so both see the same machine load:

* **server start** at N appointments: process start to ``/healthz`` answering (the
  sealed one unwraps its key, opens every table file and replays the journal);
* **10k-row import**: ``tlh appt import`` of 10,000 new rows, CLI start to exit;
* **status change p99**: ``POST /api/v1/appointments/{id}/status`` over 500 ids there
  and back (keep-alive), the 99th percentile of 1,000 round trips.

Each row prints both medians, their ratio and the verdict against the limit (<= 1.3x).
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_api import BATCH, CLINICIANS, PY, TZ, busy_day, free_port, pct, rows, wall
from verdicts import finish, judged

from tlh.services.bootstrap import init_practice
from tlh.store.keys import NewKeys

LIMIT = 1.3
SERVER = (
    "import sys; from pathlib import Path; from tlh.server.run import serve; "
    "from tlh.server.settings import Settings; from tlh.store.keys import KeySource; "
    "key = Path(sys.argv[3]) if sys.argv[3] else None; "
    "serve(Settings(data_dir=Path(sys.argv[1]), port=int(sys.argv[2]), "
    "keys=KeySource(key_file=key)))"
)


class Practice:
    """One served practice: sealed (``key`` given) or clear."""

    def __init__(self, root: Path, name: str, sealed: bool) -> None:
        self.name = name
        self.data_dir = root / name
        self.key = root / f"{name}.key" if sealed else None
        self.port = free_port()
        self.token = ""
        self.proc: subprocess.Popen[bytes] | None = None
        self.conn: http.client.HTTPConnection | None = None
        self.env: dict[str, str] = {}
        self.next_row = 0

    def init(self, root: Path) -> None:
        encrypt = NewKeys(key_file=self.key) if self.key else None
        self.token = asyncio.run(
            init_practice(self.data_dir, "Bench", TZ, "admin@example.org", encrypt=encrypt)
        )
        self.env = {
            **os.environ,
            "TLH_URL": f"http://127.0.0.1:{self.port}",
            "TLH_TOKEN": self.token,
            "TLH_CONFIG": str(root / "none.toml"),
        }

    def start(self) -> float:
        """Start the server; milliseconds until ``/healthz`` answers."""
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            [PY, "-c", SERVER, str(self.data_dir), str(self.port), str(self.key or "")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.name}: the server exited during start-up")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    took = (time.perf_counter() - started) * 1000
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
                    return took
            except OSError:
                time.sleep(0.01)  # polling a subprocess's start-up; bounded by the deadline
        raise SystemExit(f"{self.name}: the server did not answer /healthz in time")

    def stop(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        if self.proc is not None:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(timeout=300)
            self.proc = None

    def call(self, method: str, path: str, body: object = None) -> object:
        import json

        assert self.conn is not None
        ctype = "text/csv" if isinstance(body, bytes) else "application/json"
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": ctype}
        self.conn.request(method, path, body=data, headers=headers)
        response = self.conn.getresponse()
        raw = response.read()
        if response.status >= 300:
            raise SystemExit(f"{self.name}: {method} {path} answered {response.status}")
        return json.loads(raw) if raw else None

    def load(self, total: int) -> float:
        for c in range(CLINICIANS):
            body = {"email": f"c{c}@example.org", "name": f"Clinician {c}", "role": "clinician"}
            self.call("POST", "/api/v1/staff", body)
        started = time.perf_counter()
        for first in range(0, total, BATCH):
            self.call("POST", "/api/v1/appointments/import", rows(first, BATCH, "b"))
        self.next_row = total
        return time.perf_counter() - started

    def cli_import(self, root: Path, r: int) -> float:
        path = root / f"{self.name}-new{r}.csv"
        path.write_bytes(rows(self.next_row, BATCH, f"n{r}"))
        self.next_row += BATCH
        return wall([PY, "-m", "tlh", "appt", "import", str(path)], self.env)

    def status_p99(self, ids: list[str], rnd: random.Random) -> float:
        rnd.shuffle(ids)
        lat = []
        for status in ("confirmed", "scheduled"):
            for appt_id in ids:
                t = time.perf_counter()
                self.call("POST", f"/api/v1/appointments/{appt_id}/status", {"status": status})
                lat.append((time.perf_counter() - t) * 1000)
        return pct(lat, 99)

    def ids_of_busy_month(self, total: int) -> list[str]:
        day = busy_day(total)
        month = self.call("GET", f"/api/v1/appointments?from={day}&to={day + timedelta(30)}")
        assert isinstance(month, dict)
        return [a["id"] for a in month["items"]][:500]


def row(name: str, sealed: list[float], clear: list[float]) -> None:
    s, c = statistics.median(sealed), statistics.median(clear)
    ratio = s / c
    verdict = "ok" if judged(ratio <= LIMIT) else "MISS"
    print(f"{name:<34} {s:>10.1f} {c:>10.1f} {ratio:>7.2f}x  <= {LIMIT}x  {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--appointments", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    total = args.appointments - args.appointments % BATCH or BATCH
    starts: dict[str, list[float]] = {"sealed": [], "clear": []}
    imports: dict[str, list[float]] = {"sealed": [], "clear": []}
    p99s: dict[str, list[float]] = {"sealed": [], "clear": []}
    with tempfile.TemporaryDirectory(prefix="tlh-bench-seal-") as tmp:
        root = Path(tmp)
        practices = [Practice(root, "sealed", True), Practice(root, "clear", False)]
        for p in practices:
            p.init(root)
            p.start()
            print(f"{p.name}: loaded {total:,} appointments in {p.load(total):.1f} s")
            p.stop()
        wall([PY, "-m", "tlh", "--help"], practices[0].env)  # warm .pyc files
        rnd = random.Random(3)
        for r in range(args.repeats):
            order = practices if r % 2 == 0 else practices[::-1]
            for p in order:  # alternating, so both see the same load
                starts[p.name].append(p.start())
                imports[p.name].append(p.cli_import(root, r))
                ids = p.ids_of_busy_month(total)
                p99s[p.name].append(p.status_p99(ids, rnd))
                p.stop()
    print(f"\n{total:,} appointments; {os.cpu_count()} CPUs; load {os.getloadavg()}")
    print(
        f"{'median ms (n=' + str(args.repeats) + ')':<34} {'sealed':>10} {'clear':>10} {'ratio':>8}"
    )
    row(f"server start at {total:,} appointments", starts["sealed"], starts["clear"])
    row("10k-row import (tlh appt import)", imports["sealed"], imports["clear"])
    row("status change p99 (HTTP)", p99s["sealed"], p99s["clear"])


if __name__ == "__main__":
    main()
    finish()
