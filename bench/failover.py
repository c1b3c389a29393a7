"""Issue 15: failover. Two ``tlh serve`` on one PostgreSQL behind HAProxy (the README's
recipe, config/proxy/haproxy.cfg), both serving the live rooms; people wait on both (their
pages put on the two servers in turn); one server is killed with SIGKILL. Figure: the
time from the kill to every person whose page was on it back in line on the other
server (same entry, same place), as their pages would reconnect through the balancer
(retrying every 50 ms while no server is ready). Goal: within the reconnect grace
(``[rooms] reconnect_grace_s``, 60 s), with everyone's place kept, and the people on the
other server undisturbed (same socket, still answered). Two cases: the kill once every
entry is stored, and the kill right after the last hello, whose page is on the killed
server (told its place: a page hears it once its entry is written, so it is kept too).

    .venv/bin/python bench/failover.py [--waiting 10 100] [--runs 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
from verdicts import finish, judged

from tests.pgserver import PgServer, running
from tests.store.pg.failover import (
    Waiting,
    agreed_places,
    fail_over,
    new_guest,
    pair_behind_haproxy,
    places,
    settled,
    waiting_people,
)

GRACE_S = 60.0


async def stored(pg: PgServer, dbname: str, n: int) -> None:
    """Wait (bounded) until the database holds ``n`` waiting-room entries."""
    query = "SELECT count(*) FROM tlh_records WHERE kind = 'room_entries'"
    async with asyncio.timeout(30):
        while int((await asyncio.to_thread(pg.sql, query, dbname)).strip() or 0) < n:
            await asyncio.sleep(0.05)  # polling the database, bounded by the timeout


async def one_run(
    tmp: Path, pg: PgServer, url: str, waiting: int, settle: bool
) -> tuple[float, int, bool, bool]:
    """Seconds from the kill to the killed server's people back in line; how many they
    were; whether every place was kept; whether the other's people were undisturbed."""
    with pair_behind_haproxy(tmp, url) as pair:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            await settled(pair)
            people, _ = await waiting_people(pair, session, waiting - 1, on=pair.servers)
            before = await agreed_places(pair, people)  # both servers know everyone's
            victim = pair.servers[(waiting - 1) % 2]  # where the last one's turn puts it
            last = await new_guest(pair, session, "dev_last")
            await last.hello(session, victim)
            people.append(last)
            before[last.status["entry_id"]] = last.status["position"]
            if settle:
                await stored(pg, url.rsplit("/", 1)[1], waiting)
            stayed = [p for p in people if p.server != victim]
            took = await fail_over(pair, victim, people, session)
            undisturbed = await answering(stayed)
            kept = places(people) == before
            for p in people:
                if p.ws is not None:
                    await p.ws.close()
    return took, len(people) - len(stayed), kept, undisturbed


async def answering(people: list[Waiting]) -> bool:
    """Whether each of ``people`` is still on their socket and answered on it."""
    try:
        await asyncio.gather(*(p.answers() for p in people))
    except (AssertionError, ConnectionError, TimeoutError):
        return False
    return True


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
                        took, moved, kept, stayed = asyncio.run(
                            one_run(Path(tmp), pg, pg.database(), n, settle)
                        )
                    ok = judged(kept and stayed and took < GRACE_S)
                    print(
                        f"{case:<32} {n:>5} waiting, run {run + 1}: the killed server's"
                        f" {moved} back in line {took:6.2f} s; places kept:"
                        f" {'yes' if kept else 'NO'}; the other's {n - moved} undisturbed:"
                        f" {'yes' if stayed else 'NO'}; load {os.getloadavg()[0]:.2f}"
                        f"  {'PASS' if ok else 'MISS'}"
                    )


if __name__ == "__main__":
    main()
    finish()
