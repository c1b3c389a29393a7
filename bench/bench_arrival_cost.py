"""Issue 17: what one arrival costs the open dashboards (requests and audit lines).

A real ``tlh serve`` (subprocess, its access log captured) with two clinicians, Dr A and
Dr B; three dashboards are open: Dr A's, Dr B's and the admin's (``LiveFeed``, the
dashboard's worker, headless in this process). A client with an appointment with Dr B
then arrives through a join link (redeem + hello on the participant socket). Once every
dashboard has handled a later marker event (``practice.updated``, sent to everyone, so
every event before it has been handled), the script prints, per dashboard, the events
it got and the bells it rang, and for the server the ``GET /api/v1/rooms`` answered and
the audit lines written since the arrival, by action.

The code measured is whatever ``tlh`` is first on ``PYTHONPATH`` (server and dashboards
alike), so the same script measures two trees:

    PYTHONPATH=/path/to/tree .venv/bin/python bench/bench_arrival_cost.py [--waiting 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from textual.message import Message

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.serving import free_port
from tlh.api.events import StaffEvent
from tlh.client import TlhClient
from tlh.services.bootstrap import init_practice
from tlh.tui.live import LiveFeed
from tlh.tui.messages import EntryArrived
from tlh.tui.state import DashboardState

COOKIE = "__Host-tlh_link"
WAIT_S = 15.0


class Server:
    """``tlh serve`` in a subprocess, its log (the access log included) in a file."""

    def __init__(self, data_dir: Path, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tlh", "serve", "--data-dir", str(data_dir),
                 "--port", str(self.port)],
                env={**os.environ, "TLH_CONFIG": os.devnull},
                stdout=subprocess.DEVNULL, stderr=out,
                cwd=log.parent,  # ``-m`` puts the cwd first on sys.path: keep PYTHONPATH's tlh
            )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"tlh serve exited with {self.proc.returncode}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as r,
            ):
                if r.status == 200:
                    return
            time.sleep(0.05)  # the port is not open yet; bounded by the deadline
        raise SystemExit("tlh serve did not become healthy")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Dashboard(LiveFeed):
    """The dashboard's worker, noting each event it has finished handling."""

    def __init__(self, name: str, client: TlhClient) -> None:
        super().__init__(client, DashboardState(), post=self._posted)
        self.name = name
        self.handled: Counter[str] = Counter()
        self.bells = 0
        self._seen = asyncio.Condition()

    def _posted(self, message: Message) -> None:
        if isinstance(message, EntryArrived):
            self.bells += 1

    async def handle(self, event: StaffEvent) -> None:
        await super().handle(event)
        async with self._seen:
            self.handled[event.type] += 1
            self._seen.notify_all()

    async def wait_for(self, kind: str) -> None:
        async with self._seen:
            await asyncio.wait_for(self._seen.wait_for(lambda: self.handled[kind] > 0), WAIT_S)


@contextlib.asynccontextmanager
async def arrival(url: str, token: str) -> AsyncIterator[None]:
    """The client redeems the join link and says hello; inside, they are waiting (the
    socket stays open, so no ``room.updated`` for going offline comes meanwhile)."""
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{url}/api/v1/link/redeem", json={"token": token}, headers={"Origin": url}
        ) as r:
            if r.status != 200:
                raise SystemExit(f"redeem answered {r.status}")
            cookie = r.cookies[COOKIE].value
        async with http.ws_connect(
            f"{url}/api/v1/link/ws", headers={"Origin": url, "Cookie": f"{COOKIE}={cookie}"}
        ) as ws:
            await ws.send_json({"type": "hello", "device_id": "dev-bench"})
            async with asyncio.timeout(WAIT_S):
                async for msg in ws:
                    if msg.type == aiohttp.WSMsgType.TEXT and msg.json().get("type") == "status":
                        break
            yield


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--waiting", type=int, default=0, help="clients already waiting in each room (0-4)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        admin_token = await init_practice(data_dir, "Bench", "America/New_York", "a@example.org")
        server = Server(data_dir, Path(tmp) / "serve.log")
        try:
            boards, audit, log_from = await measure(server.url, admin_token, server, args.waiting)
        finally:
            server.stop()
        # Counted once the server has stopped: its access log is complete by then.
        gets = server.log.read_text()[log_from:].count('"GET /api/v1/rooms"')
    report(args.waiting, boards, audit, gets)


async def join_link(admin: TlhClient, name: str, clinician: str, slot: int) -> str:
    """A client with consent and a 2-minute appointment with ``clinician``, the
    ``slot``-th from a minute ago (the join window opens 10 minutes before): its link."""
    client = await admin.clients.add(name, email="ana@example.org")
    await admin.consents.verbal(client.id, "agreed by phone")
    appt = (
        await admin.appointments.add(
            client_ids=[client.id],
            clinicians=[clinician],
            start=(datetime.now(UTC) + timedelta(minutes=2 * slot - 1)).isoformat(),
            duration_min=2,
            modality="telehealth",
            status="confirmed",
        )
    )[0]
    return (await admin.invites.link(appt.id)).url.split("#", 1)[1]


async def measure(
    url: str, admin_token: str, server: Server, waiting: int
) -> tuple[list[Dashboard], list[dict[str, Any]], int]:
    """The dashboards after the arrival, the audit lines since, where the log was."""
    async with TlhClient(url, admin_token) as admin, contextlib.AsyncExitStack() as seated:
        tokens = {"admin": admin_token}
        for name in ("A", "B"):
            made = await admin.staff.add(
                f"dr{name.lower()}@example.org", f"Dr {name}", "clinician", telehealth=True
            )
            tokens[f"Dr {name}"] = made.token
        for n in range(waiting):
            for room in ("dra@example.org", "drb@example.org"):
                token = await join_link(admin, f"Waiting {room[:3]} {n}", room, n)
                await seated.enter_async_context(arrival(url, token))
        link_token = await join_link(admin, "Ana Bench", "drb@example.org", waiting)

        clients = [TlhClient(url, tokens[n]) for n in ("Dr A", "Dr B", "admin")]
        boards = [Dashboard(n, c) for n, c in zip(("Dr A", "Dr B", "admin"), clients, strict=True)]
        tasks = [asyncio.create_task(b.run()) for b in boards]
        try:
            for board in boards:
                await asyncio.wait_for(board.synced.wait(), WAIT_S)
            log_from = len(server.log.read_text())
            since = datetime.now(UTC)
            async with arrival(url, link_token):
                # The marker: every dashboard gets it after whatever the arrival sent it.
                await admin.practice.update(timezone="America/New_York")
                for board in boards:
                    await board.wait_for("practice.updated")
                audit = [
                    e for e in await admin.audit.list(since=since) if e["action"] != "audit.read"
                ]
                # Stopped while the client still waits: their leaving is another event.
                await stop(tasks)
        finally:
            await stop(tasks)
            for c in clients:
                await c.close()
    return boards, audit, log_from


async def stop(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel the dashboards' workers, again while one is still running: a cancel that
    lands while aiohttp's own timeout expires comes back as a TimeoutError, which the
    worker takes for a lost connection and retries."""
    pending = set(tasks)
    for _ in range(20):
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.5)
        if not pending:
            return
    raise SystemExit("a dashboard worker would not stop")


def report(waiting: int, boards: list[Dashboard], audit: list[dict[str, Any]], gets: int) -> None:
    print(
        f"one client arriving in Dr B's room ({waiting} already waiting in each room),"
        " 3 dashboards open (Dr A, Dr B, admin):"
    )
    for board in boards:
        events = {k: v for k, v in board.handled.items() if k != "practice.updated"}
        print(f"  {board.name:<6} events {dict(events)}  bells {board.bells}")
    print(f"  GET /api/v1/rooms answered: {gets}")
    by_action = Counter(e["action"] for e in audit)
    print(f"  audit lines: {len(audit)}  {dict(sorted(by_action.items()))}")
    readers = Counter(str(e["actor"]) for e in audit if e["action"] in ("room.read", "client.read"))
    print(f"  room.read + client.read lines by reader: {sorted(readers.values())}")


if __name__ == "__main__":
    asyncio.run(main())
