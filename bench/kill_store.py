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
        data_dir = init_data_dir(Path(tmp) / "practice")
        t = time.perf_counter()
        total = await run_kills(data_dir, kills=kills, seed=seed, max_acks=30)
        took = time.perf_counter() - t
        print(
            f"{kills} kills, every acknowledged commit present and every batch whole; "
            f"{total:,} appointments at the end; {took:.1f} s"
        )


if __name__ == "__main__":
    args = sys.argv[1:]
    asyncio.run(main(int(args[0]) if args else 100, int(args[1]) if len(args) > 1 else 0))
