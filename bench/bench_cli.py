"""CLI wall times, start to exit, as a person at a terminal sees them.

    .venv/bin/python bench/bench_cli.py [--appointments 100000]

Prints: ``tlh --help`` (median of 10), ``tlh appt list --date D --json`` against a
server holding N appointments (median of 10), and ``tlh appt import`` of 10,000
new rows. The server runs as a subprocess (``python -m tlh serve``) on a temp data dir;
the appointments are loaded through the import endpoint in batches of 10,000.
Budgets: --help <= 150 ms, appt list <= 400 ms. The package's bytecode caches are
written first, as an installed tlh has them (``bytecode.py``).
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
import urllib.request
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bytecode import write_caches
from verdicts import finish, judged

from tests.serving import free_port
from tlh.client import TlhClient

PY = sys.executable
#: The budgets (issue 21): ``tlh --help``, and a busy day's ``appt list``.
HELP_BUDGET_MS = 150.0
LIST_BUDGET_MS = 400.0
CLINICIANS = 20
SLOTS_PER_DAY = 10  # per clinician, 50-minute appointments on the hour from 08:00
BATCH = 10_000
CLIENTS = 1_000
FIRST_DAY = date(2030, 1, 7)


def wall(argv: list[str], env: dict[str, str], stdin: bytes | None = None) -> float:
    """Seconds from process start to exit; a failing command stops the benchmark."""
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, input=stdin, check=False)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv[2:])} failed ({done.returncode}): {done.stderr.decode()}")
    return took


def median_ms(argv: list[str], env: dict[str, str], runs: int = 10) -> float:
    wall(argv, env)  # warm the page cache and .pyc files
    return statistics.median(wall(argv, env) for _ in range(runs)) * 1000


def rows(start_index: int, count: int, prefix: str) -> bytes:
    """``count`` CSV rows that never collide: slot ``i`` maps to (day, clinician, hour)."""
    lines = ["external_id,client_external_id,client_name,clinician_email,start,duration_min"]
    per_day = CLINICIANS * SLOTS_PER_DAY
    for i in range(start_index, start_index + count):
        day = FIRST_DAY + timedelta(days=i // per_day)
        clinician = (i % per_day) // SLOTS_PER_DAY
        hour = 8 + i % SLOTS_PER_DAY
        client = i % CLIENTS
        lines.append(
            f"{prefix}-{i},cl-{client},Bench Client {client},"
            f"c{clinician}@example.org,{day.isoformat()}T{hour:02d}:00,50"
        )
    return ("\n".join(lines) + "\n").encode()


def wait_healthy(url: str, server: subprocess.Popen[bytes], limit_s: float = 30) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the server exited during start-up")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.05)  # polling a subprocess's start-up; no event to wait on
    raise SystemExit("the server did not answer /healthz in time")


async def load(url: str, token: str, total: int) -> float:
    """Add the clinicians and ``total`` appointments; returns seconds spent importing."""
    async with TlhClient(url, token, timeout=600) as client:
        for c in range(CLINICIANS):
            await client.staff.add(f"c{c}@example.org", f"Clinician {c}", "clinician", True)
        started = time.perf_counter()
        for first in range(0, total, BATCH):
            report = await client.appointments.import_file(
                rows(first, min(BATCH, total - first), "b"), "csv"
            )
            assert report.created == min(BATCH, total - first), report
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appointments", type=int, default=100_000)
    args = parser.parse_args()
    write_caches()
    with tempfile.TemporaryDirectory(prefix="tlh-bench-") as tmp:
        root = Path(tmp)
        env = {
            **os.environ,
            "TLH_CONFIG": str(root / "config.toml"),
            "TLH_DATA_DIR": str(root / "data"),
        }
        env.pop("TLH_URL", None)
        env.pop("TLH_TOKEN", None)
        help_ms = median_ms([PY, "-m", "tlh", "--help"], env)
        ok = judged(help_ms <= HELP_BUDGET_MS)
        print(
            f"tlh --help: {help_ms:.0f} ms (median of 10; budget {HELP_BUDGET_MS:.0f} ms): "
            f"{'ok' if ok else 'MISS'}"
        )

        port = free_port()
        url = f"http://127.0.0.1:{port}"
        init = subprocess.run(
            [
                PY,
                "-m",
                "tlh",
                "init",
                "--practice",
                "Bench",
                "--tz",
                "America/New_York",
                "--admin",
                "admin@example.org",
                "--url",
                url,
            ],
            env=env,
            capture_output=True,
            check=True,
        )
        token = init.stdout.decode().strip()
        server = subprocess.Popen(
            [PY, "-m", "tlh", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_healthy(url, server)
            loaded_s = asyncio.run(load(url, token, args.appointments))
            print(
                f"loaded {args.appointments:,} appointments in {loaded_s:.1f} s "
                f"({args.appointments // BATCH or 1} imports of up to {BATCH:,})"
            )
            busy_day = FIRST_DAY + timedelta(
                days=(args.appointments // (CLINICIANS * SLOTS_PER_DAY)) // 2
            )
            list_ms = median_ms(
                [PY, "-m", "tlh", "appt", "list", "--date", busy_day.isoformat(), "--json"], env
            )
            ok = judged(list_ms <= LIST_BUDGET_MS)
            print(
                f"tlh appt list --date {busy_day} --json: {list_ms:.0f} ms "
                f"(median of 10, {CLINICIANS * SLOTS_PER_DAY} appointments that day; "
                f"budget {LIST_BUDGET_MS:.0f} ms): {'ok' if ok else 'MISS'}"
            )
            path = root / "new.csv"
            path.write_bytes(rows(args.appointments, BATCH, "n"))
            import_s = wall([PY, "-m", "tlh", "appt", "import", str(path)], env)
            print(
                f"tlh appt import of {BATCH:,} new rows: {import_s * 1000:.0f} ms (start to exit)"
            )
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
    finish()
