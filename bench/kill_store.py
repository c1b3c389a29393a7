"""kill -9 a writing store ~100 times at random moments; every acknowledged commit must
survive and every batch must be all or nothing.

Run: ``.venv/bin/python bench/kill_store.py [KILLS] [SEED]`` (default 100 kills).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.store.kill_harness import run_kills
from tlh.store.tinystore import init_data_dir


async def main(kills: int, seed: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        # Each run on its own dir: batch numbers restart with each run.
        plain = await run_kills(
            init_data_dir(Path(tmp) / "plain"), kills=kills, seed=seed, max_acks=30
        )
        slow = await run_kills(
            init_data_dir(Path(tmp) / "slow"), kills=kills, seed=seed + 1, slow_audit=True
        )
        took = time.perf_counter() - t
        print(
            f"{2 * kills} kills ({kills} with slowed audit writes), every acknowledged commit "
            "present, every batch whole, every stored record audited (verify ok); "
            f"{slow.records:,} appointments at the end; audit entries recovery added: "
            f"{plain.recovered_entries:,} (plain), {slow.recovered_entries:,} (slowed); "
            f"{took:.1f} s"
        )


if __name__ == "__main__":
    args = sys.argv[1:]
    asyncio.run(main(int(args[0]) if args else 100, int(args[1]) if len(args) > 1 else 0))
