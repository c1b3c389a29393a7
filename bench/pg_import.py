"""``tlh appt import`` of 10,000 rows, CLI start to exit, on the embedded store and on
PostgreSQL, side by side in one run (issue 15's figure).

Run: ``.venv/bin/python bench/pg_import.py [--rows 10000] [--runs 3]`` (about a minute;
needs Debian's postgresql).

Two real ``tlh serve`` processes, each made by ``tlh init`` and sealed under a data key
as a practice runs them: one on an embedded data dir, one with ``--store`` on a
throw-away PostgreSQL on loopback with fsync on (``tests/pgserver.running(durable=True)``).
Each gets the same 20 clinicians; then each run imports a CSV of ``--rows`` new
appointments (new clients too, one per 10 rows) with ``tlh appt import FILE``, timed from
the CLI's start to its exit; the runs alternate between the backends so both see the
same machine. Goals (issue 15): PostgreSQL ≤ 2 s, and ≤ 2x the embedded store.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from verdicts import finish, judged

from tests.pgserver import running
from tests.serving import free_port, stop, wait_healthy
from tlh.client import TlhClient

PY = sys.executable
CLINICIANS = 20
SLOTS_PER_DAY = 10
FIRST_DAY = date(2030, 1, 7)
LIMIT_S = 2.0
LIMIT_RATIO = 2.0


def rows(first: int, count: int, prefix: str) -> bytes:
    """``count`` CSV rows that never collide: slot ``i`` is (day, clinician, hour)."""
    lines = ["external_id,client_external_id,client_name,clinician_email,start,duration_min"]
    per_day = CLINICIANS * SLOTS_PER_DAY
    for i in range(first, first + count):
        day = FIRST_DAY + timedelta(days=i // per_day)
        clinician = (i % per_day) // SLOTS_PER_DAY
        client = i // 10
        lines.append(
            f"{prefix}-{i},cl-{client},Bench Client {client},"
            f"c{clinician}@example.org,{day.isoformat()}T{8 + i % SLOTS_PER_DAY:02d}:00,50"
        )
    return ("\n".join(lines) + "\n").encode()


class Practice:
    """One ``tlh init``-made practice and its running ``tlh serve``."""

    def __init__(self, root: Path, store: str | None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.root = root
        self.key = root / "practice.key"
        self.env = {
            **os.environ,
            "TLH_CONFIG": str(root / "config.toml"),
            "TLH_DATA_DIR": str(root / "data"),
            "TLH_KEY_FILE": str(self.key),
        }
        for name in ("TLH_URL", "TLH_TOKEN", "TLH_STORE", "TLH_PASSPHRASE"):
            self.env.pop(name, None)
        args = ["init", "--practice", "Bench", "--tz", "America/New_York"]
        args += ["--admin", "admin@example.org", "--url", self.url, "--key-file", str(self.key)]
        args += ["--public-url", self.url]
        if store is not None:
            args += ["--store", store]
        done = subprocess.run(
            [PY, "-m", "tlh", *args], env=self.env, capture_output=True, check=False
        )
        if done.returncode != 0:
            raise SystemExit(f"tlh init failed: {done.stderr.decode()}")
        self.token = done.stdout.decode().strip()

    @contextmanager
    def serving(self) -> Iterator[None]:
        log = self.root / "serve.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [PY, "-m", "tlh", "serve", "--port", str(self.port)],
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=out,
            )
        try:
            wait_healthy(self.url, proc, log=log, timeout_s=60)
            asyncio.run(self._clinicians())
            yield
        finally:
            stop(proc)

    async def _clinicians(self) -> None:
        async with TlhClient(self.url, self.token, timeout=60) as client:
            for c in range(CLINICIANS):
                await client.staff.add(f"c{c}@example.org", f"Clinician {c}", "clinician", True)

    def import_s(self, path: Path) -> float:
        """Seconds from ``tlh appt import`` starting to its exit."""
        started = time.perf_counter()
        done = subprocess.run(
            [PY, "-m", "tlh", "appt", "import", str(path)],
            env=self.env,
            capture_output=True,
            check=False,
        )
        took = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"tlh appt import failed: {done.stderr.decode()[:2000]}")
        return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="tlh-bench-") as tmp,
        running(durable=True) as pg,
        ExitStack() as stack,
    ):
        root = Path(tmp)
        (root / "tiny").mkdir()
        (root / "pg").mkdir()
        tiny = Practice(root / "tiny", None)
        shared = Practice(root / "pg", pg.database())
        stack.enter_context(tiny.serving())
        stack.enter_context(shared.serving())
        times: dict[str, list[float]] = {"tiny": [], "pg": []}
        for run in range(args.runs):
            path = root / f"run{run}.csv"
            path.write_bytes(rows(run * args.rows, args.rows, f"r{run}"))
            times["tiny"].append(tiny.import_s(path))
            times["pg"].append(shared.import_s(path))
        print(f"tlh appt import of {args.rows:,} new rows, CLI start to exit (s):")
        print(f"{'run':>5} {'embedded':>10} {'postgresql':>11} {'ratio':>6}")
        for n, (t, p) in enumerate(zip(times["tiny"], times["pg"], strict=True), 1):
            print(f"{n:>5} {t:>10.2f} {p:>11.2f} {p / t:>6.2f}")
        t_med, p_med = statistics.median(times["tiny"]), statistics.median(times["pg"])
        ratio = p_med / t_med
        print(f"{'median':>6} {t_med:>9.2f} {p_med:>11.2f} {ratio:>6.2f}")
        ok = "met" if judged(p_med <= LIMIT_S) else "MISSED"
        print(f"goal: PostgreSQL ≤ {LIMIT_S:.0f} s: {p_med:.2f} s (median): {ok}")
        ok = "met" if judged(ratio <= LIMIT_RATIO) else "MISSED"
        print(f"goal: PostgreSQL ≤ {LIMIT_RATIO:.0f}x embedded: {ratio:.2f}x (medians): {ok}")


if __name__ == "__main__":
    main()
    finish()
