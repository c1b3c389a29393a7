"""kill -9 a writing store at random moments, then check nothing acknowledged is lost.

The child (``python -m tests.store.kill_harness DIR FIRST_SEQ SEED [SLOW_AUDIT]``)
commits in a loop: single puts, big batches and status changes of earlier records.
Before each commit it prints ``B seq n`` (the batch it is about to write), after
``commit()`` returns ``A seq``. The parent kills it at a random acknowledgement count,
reopens the store and checks that every acknowledged batch is there, that every batch
is all or nothing, and that every stored record has its audit entry (``tlh audit
verify`` with the store's cross-check passes). With ``SLOW_AUDIT`` the child's audit
writes each wait a few milliseconds first, so that kills often land between a commit's
journal write and its audit write: the window recovery must close.
"""

from __future__ import annotations

import asyncio
import os
import random
import select
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.seeding import seed as seed_store
from tlh.domain.models import Appointment, Status
from tlh.store import auditverify
from tlh.store.base import Put
from tlh.store.tinystore import TinyStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


def _appt(seq: int, i: int, day: int, status: Status = Status.SCHEDULED) -> Appointment:
    return Appointment(
        id=f"s{seq}-{i}",
        clinician_ids=("stf_1",),
        start=T0 + timedelta(days=day, hours=i % 10),
        duration_min=50,
        status=status,
        notes=f"{seq}",
        created_at=T0,
        updated_at=T0,
    )


async def child(data_dir: str, first_seq: int, seed: int, slow_audit: bool = False) -> None:
    """Commit forever, announcing each batch and acknowledging it after commit()."""
    rnd = random.Random(seed)
    store = TinyStore(data_dir, checkpoint_ops=400)
    if slow_audit:
        write = store.audit._write_sync

        def slow_write(data: bytes) -> None:
            time.sleep(rnd.random() * 0.01)  # runs in the writer's thread
            write(data)

        store.audit._write_sync = slow_write  # type: ignore[method-assign]
    await store.open()
    seq = first_seq
    while True:
        seq += 1
        n = 1 if rnd.random() < 0.6 else rnd.randint(50, 600)
        day = rnd.randint(0, 400)
        ops = [Put(_appt(seq, i, day)) for i in range(n)]
        existing = await store.count(Appointment)
        if existing and rnd.random() < 0.3:  # a status change of a random earlier record
            old = (await store.all(Appointment))[rnd.randrange(existing)]
            assert isinstance(old, Appointment)
            # the changed record keeps its id: counted under its own seq, not this one
            ops.append(Put(_status_change(old)))
        sys.stdout.write(f"B {seq} {n}\n")
        sys.stdout.flush()
        await seed_store(store, ops)
        sys.stdout.write(f"A {seq}\n")
        sys.stdout.flush()


def _status_change(old: Appointment) -> Appointment:
    import msgspec

    nxt = Status.CONFIRMED if old.status != Status.CONFIRMED else Status.SCHEDULED
    return msgspec.structs.replace(old, status=nxt)


def _read_lines(
    proc: subprocess.Popen[bytes], count: int, timeout: float
) -> tuple[list[str], bytes]:
    """Lines from the child until it has printed ``count`` lines, and the unread rest."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    buf = b""
    lines: list[str] = []
    seen = 0
    deadline = time.monotonic() + timeout
    while seen < count:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the writer did not acknowledge in time")
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            raise RuntimeError(f"the writer exited early: rc={proc.wait()}")
        buf += chunk
        *complete, buf = buf.split(b"\n")
        for line in complete:
            text = line.decode()
            lines.append(text)
            seen += 1
    return lines, buf


@dataclass
class KillReport:
    """What a run of kills left: records stored, audit entries recovery had to add."""

    records: int = 0
    recovered_entries: int = 0


async def verify(data_dir: Path, batches: dict[int, int], acked: set[int]) -> tuple[int, int]:
    """Reopen and check: acknowledged batches whole, every batch all or nothing, every
    record audited. Returns the records stored and the audit entries recovery added."""
    store = TinyStore(data_dir)
    await store.open()
    try:
        result = auditverify.verify(data_dir, await store.stored_changes())
        assert result.ok, [p.reason for p in result.problems[:5]]
        audited = {e["target"] for e in (await store.audit.read()) if e.get("commit") is not None}
        bare = [r.id for r in await store.all(Appointment) if r.id not in audited]  # type: ignore[attr-defined]
        assert not bare, f"{len(bare)} stored records have no audit entry, e.g. {bare[0]}"
        per_seq = Counter(
            int(rid.partition("-")[0][1:])
            for rid in (r.id for r in await store.all(Appointment))  # type: ignore[attr-defined]
        )
        for seq in acked:
            assert per_seq[seq] == batches[seq], f"acknowledged batch {seq} lost records"
        for seq, count in per_seq.items():
            assert seq in batches, f"records of a batch never announced: {seq}"
            assert count == batches[seq], f"batch {seq} is partial: {count}/{batches[seq]}"
        return await store.count(Appointment), store.recovered_entries
    finally:
        await store.close()


async def run_kills(
    data_dir: Path,
    kills: int,
    seed: int = 0,
    max_acks: int = 30,
    child_module: str = "tests.store.kill_harness",
    slow_audit: bool = False,
) -> KillReport:
    """Kill a writer ``kills`` times at random moments, verifying after each kill."""
    rnd = random.Random(seed)
    batches: dict[int, int] = {}
    acked: set[int] = set()
    report = KillReport()
    for round_ in range(kills):
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                child_module,
                str(data_dir),
                str(round_ * 100_000),
                str(rnd.randrange(1 << 30)),
                *(["slow-audit"] if slow_audit else []),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
        )
        try:
            lines, rest = _read_lines(proc, rnd.randint(1, 2 * max_acks), timeout=60)
            # Not a synchronisation: a random 0-5 ms offset, so that kills land at
            # every point of a commit (building, journal write, apply, checkpoint).
            time.sleep(rnd.random() * 0.005)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        # What the child printed before it died counts too; a torn last line does not.
        assert proc.stdout is not None
        rest += proc.stdout.read()
        lines += [line.decode() for line in rest.split(b"\n")[:-1]]
        proc.stdout.close()
        for line in lines:
            kind, seq, *rest = line.split()
            if kind == "B":
                batches[int(seq)] = int(rest[0])
            else:
                acked.add(int(seq))
        report.records, recovered = await verify(data_dir, batches, acked)
        report.recovered_entries += recovered
    return report


if __name__ == "__main__":
    asyncio.run(child(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), len(sys.argv) > 4))
