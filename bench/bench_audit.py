"""Audit log benchmarks: sequential vs concurrent appends (group commit), append latency
under load, and what the head.json anchor costs per batch.

Run: ``.venv/bin/python bench/bench_audit.py`` (a few seconds; dominated by fsync).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tlh.domain.models import Role
from tlh.services.context import Actor
from tlh.store import auditlog
from tlh.store.auditlog import AuditLog, verify

N = 1000
ACTOR = Actor(kind="staff", id="stf_bench", role=Role.CLINICIAN, source="127.0.0.1")


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank), in ms."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


async def timed(log: AuditLog, target: str, out: list[float]) -> None:
    t = time.perf_counter()
    await log.append(ACTOR, "client.read", target)
    out.append(time.perf_counter() - t)


async def run(
    name: str, body: Callable[[AuditLog], Awaitable[list[float]]], *, anchored: bool = True
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        log = AuditLog(Path(tmp))
        await log.start()
        t = time.perf_counter()
        lat = await body(log)
        elapsed = time.perf_counter() - t
        batches = log.batches_written
        await log.close()
        result = verify(Path(tmp))
        chained = [p for p in result.problems if "head" not in p.reason]
        if result.entries != N or chained or (anchored and not result.ok):
            raise SystemExit(f"{name}: the log does not verify: {result}")
    print(
        f"{name:<44} {N / elapsed:>9,.0f} appends/s  {batches:>5} batches  "
        f"p50 {pct(lat, 50):6.2f} ms  p99 {pct(lat, 99):6.2f} ms"
    )


async def sequential(log: AuditLog) -> list[float]:
    lat: list[float] = []
    for i in range(N):
        await timed(log, f"cli_{i}", lat)
    return lat


async def burst(log: AuditLog) -> list[float]:
    lat: list[float] = []
    await asyncio.gather(*(timed(log, f"cli_{i}", lat) for i in range(N)))
    return lat


async def sustained(log: AuditLog, workers: int = 50) -> list[float]:
    """``workers`` request handlers, each appending one after another."""
    lat: list[float] = []

    async def worker(w: int) -> None:
        for i in range(N // workers):
            await timed(log, f"cli_{w}_{i}", lat)

    await asyncio.gather(*(worker(w) for w in range(workers)))
    return lat


async def main() -> None:
    print(f"{N} appends each, every one fsynced before append returns\n")
    await run("sequential (1 at a time)", sequential)
    await run("concurrent burst (1000 gathered)", burst)
    await run("concurrent sustained (50 workers x 20)", sustained)
    # The anchor's price: the same sequential run without replacing head.json.
    with mock.patch.object(auditlog, "write_atomic", return_value=None):
        await run("sequential, head.json update disabled", sequential, anchored=False)
        await run("concurrent burst, head.json update disabled", burst, anchored=False)


if __name__ == "__main__":
    asyncio.run(main())
