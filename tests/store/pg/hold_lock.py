"""A server stand-in for the kill -9 test: holds a ``Singleton`` and says when it leads.

    python -m tests.store.pg.hold_lock URL NAME

Prints ``leader`` once its job starts, then runs until killed.
"""

from __future__ import annotations

import asyncio
import sys

from tlh.store.pg.singleton import Singleton


async def main(url: str, name: str) -> None:
    async def start() -> None:
        print("leader", flush=True)

    async def stop() -> None:
        print("stopped", flush=True)

    singleton = Singleton(url, name, start, stop, retry_s=0.1)
    await singleton.open()
    await asyncio.Event().wait()  # until killed


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
