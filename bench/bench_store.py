"""Store benchmarks: bulk commit vs the fsync floor, commit latency under checkpoints,
the clinician-day query and open time, with 100,000 appointments in history.

Run: ``.venv/bin/python bench/bench_store.py`` (about half a minute).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.seeding import seed as seed_store
from tlh.domain.models import Appointment, Modality, Status
from tlh.store.base import Put
from tlh.store.tinystore import TinyStore, init_data_dir

T0 = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
CLINICIANS = [f"stf_{i:02d}" for i in range(20)]


def make_appointments(n: int, prefix: str, rnd: random.Random) -> list[Appointment]:
    """``n`` appointments over two years, 20 clinicians, business hours."""
    out = []
    for i in range(n):
        day = rnd.randrange(730)
        start = T0 + timedelta(days=day, minutes=30 * rnd.randrange(20))
        out.append(
            Appointment(
                id=f"{prefix}{i:06d}",
                modality=Modality.TELEHEALTH,
                clinician_ids=(rnd.choice(CLINICIANS),),
                client_ids=(f"cli_{rnd.randrange(5000):05d}",),
                start=start,
                duration_min=50,
                external_id=f"EXT-{prefix}{i}",
                created_at=T0,
                updated_at=T0,
            )
        )
    return out


def floor_write(path: Path, docs: list[dict[str, object]]) -> float:
    """json.dumps of the docs + write + one fsync: the cost of any durable bulk write."""
    t = time.perf_counter()
    data = json.dumps(docs).encode()
    with path.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return time.perf_counter() - t


async def main() -> None:
    rnd = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = init_data_dir(Path(tmp) / "practice")
        store = TinyStore(data_dir, checkpoint_ops=1000)
        await store.open()

        # (a) one batch of 10,000 vs the floor, same run, same docs
        batch = make_appointments(10_000, "bulk", rnd)
        docs = [msgspec.to_builtins(a) for a in batch]
        floors, commits = [], []
        for k in range(3):
            floors.append(floor_write(Path(tmp) / f"floor{k}.json", docs))
            t = time.perf_counter()
            await seed_store(store, [Put(a) for a in batch])
            commits.append(time.perf_counter() - t)
        f, c = min(floors), min(commits)
        print(
            f"(a) commit 10,000 appointments in one batch: {c * 1000:.1f} ms; "
            f"floor (json.dumps + write + fsync) {f * 1000:.1f} ms; ratio {c / f:.2f}x (target <= 5x)"
        )

        # 100,000 in history
        for k in range(9):
            history = make_appointments(10_000, f"h{k}_", rnd)
            await seed_store(store, [Put(a) for a in history])
        await store.checkpoint()
        total = await store.count(Appointment)

        # (b) single status-change commits while checkpoints happen
        ids = [a.id for a in await store.all(Appointment)]  # type: ignore[attr-defined]
        lat = []
        checkpoints = 0
        for _ in range(3000):
            old = await store.get(Appointment, rnd.choice(ids))
            assert old is not None
            new = msgspec.structs.replace(
                old, status=Status.CONFIRMED, updated_at=datetime.now(UTC)
            )
            t = time.perf_counter()
            await seed_store(store, [Put(new)])
            lat.append(time.perf_counter() - t)
            task = store._checkpoint_task
            if task is not None and not task.done() and getattr(task, "_counted", False) is False:
                task._counted = True  # type: ignore[attr-defined]
                checkpoints += 1
        q = statistics.quantiles(lat, n=100)
        print(
            f"(b) single status-change commit, {total:,} appointments, {checkpoints} checkpoints "
            f"during the run: p50 {q[49] * 1000:.2f} ms, p99 {q[98] * 1000:.2f} ms, "
            f"max {max(lat) * 1000:.2f} ms (target p99 <= 20 ms)"
        )

        # (c) a clinician's day
        day = T0 + timedelta(days=300)
        runs = 2000
        t = time.perf_counter()
        for i in range(runs):
            found = await store.appointments_between(
                day, day + timedelta(days=1), CLINICIANS[i % 20]
            )
        per = (time.perf_counter() - t) / runs
        print(
            f"(c) clinician's day among {total:,}: {per * 1e6:.1f} us per query "
            f"({len(found)} results; target <= 5 ms)"
        )

        # (d) open time
        t = time.perf_counter()
        await store.close()
        closed = time.perf_counter() - t
        store = TinyStore(data_dir)
        t = time.perf_counter()
        await store.open()
        opened = time.perf_counter() - t
        print(
            f"(d) open {await store.count(Appointment):,} appointments: {opened * 1000:.0f} ms "
            f"(close with final checkpoint: {closed * 1000:.0f} ms)"
        )
        await store.close()


if __name__ == "__main__":
    asyncio.run(main())
