"""Issue 15: failover. Two ``tlh serve`` on one PostgreSQL behind HAProxy (the README's
recipe, config/proxy/haproxy.cfg); people wait through the balancer; the server holding
the rooms is killed with SIGKILL. Figure: the time from the kill to every waiting person
back in line on the other server (same entry, same place), as their pages would
reconnect (retrying every 50 ms while no server is ready). Goal: within the reconnect
grace (``[rooms] reconnect_grace_s``, 60 s), with each person's place kept. Two cases:
the kill once every entry is stored, and the kill right after the last hello (its page
told its place: a page hears it once its entry is written, so it is kept too).

    .venv/bin/python bench/failover.py [--waiting 10 100] [--runs 2]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp

from tests.pgserver import PgServer, running
from tests.store.pg.failover import fail_over, pair_behind_haproxy, settled, waiting_people

GRACE_S = 60.0


async def stored(pg: PgServer, dbname: str, n: int) -> None:
    """Wait (bounded) until the database holds ``n`` waiting-room entries."""
    query = "SELECT count(*) FROM tlh_records WHERE kind = 'room_entries'"
    async with asyncio.timeout(30):
        while int((await asyncio.to_thread(pg.sql, query, dbname)).strip() or 0) < n:
            await asyncio.sleep(0.05)  # polling the database, bounded by the timeout


async def one_run(
    tmp: Path, pg: PgServer, url: str, waiting: int, settle: bool
) -> tuple[float, bool]:
    with pair_behind_haproxy(tmp, url) as pair:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            await settled(pair)
            people, _ = await waiting_people(pair, session, waiting)
            if settle:
                await stored(pg, url.rsplit("/", 1)[1], waiting)
            before = {p.status["entry_id"]: p.status["position"] for p in people}
            took = await fail_over(pair, people, session)
            kept = {p.status["entry_id"]: p.status["position"] for p in people} == before
            for p in people:
                if p.ws is not None:
                    await p.ws.close()
    return took, kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--waiting", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    print(f"goal: everyone back in line, places kept, within the {GRACE_S:.0f} s grace")
    cases = [
        (True, "entries stored, then kill"),
        (False, "kill right after the last hello"),
    ]
    with running() as pg:
        for settle, case in cases:
            for n in args.waiting:
                for run in range(args.runs):
                    with tempfile.TemporaryDirectory(prefix="tlh-failover-") as tmp:
                        took, kept = asyncio.run(one_run(Path(tmp), pg, pg.database(), n, settle))
                    ok = kept and took < GRACE_S
                    print(
                        f"{case:<32} {n:>5} waiting, run {run + 1}: all back in line"
                        f" {took:6.2f} s; places kept: {'yes' if kept else 'NO'}"
                        f"  {'PASS' if ok else 'MISS'}"
                    )


if __name__ == "__main__":
    main()
