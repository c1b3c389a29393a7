"""A few SVG snapshots of the dashboard at 80x24 (pytest-textual-snapshot).

Deterministic by construction: the whole test runs with the wall clock frozen at ``AT``
(time-machine, ``tick=False``), so every time the server stamps (arrivals, admissions)
is ``AT``; the dashboard's clock is ``AT`` plus a fixed offset, so every timer reads
2:05; names are fixed; no id or token is on screen. Only the wall clock is frozen:
monotonic time (asyncio, Textual) runs as usual.

When a screen changes on purpose, look at the report pytest writes for the failing
snapshot, then record the new pictures and commit them (``__snapshots__/``):

    .venv/bin/pytest -p no:cacheprovider tests/tui/test_snapshots.py --snapshot-update
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import time_machine
from textual.pilot import Pilot

from tlh.client import TlhClient
from tlh.tui.app import DashboardApp
from tlh.tui.dialogs.explain import ExplainScreen

from .conftest import Server
from .helpers import Fakes, dashboard, until

#: The frozen wall clock (a Wednesday, 10:00 in the practice's New York).
AT = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
#: What the dashboard's clock says: every timer shows 2:05.
SHOWN_AT = AT + timedelta(minutes=2, seconds=5)
COOKIE = "__Host-tlh_link"
SIZE = (80, 24)

Snap = Callable[..., bool]


@dataclass
class Scene:
    """A clinician's day on a live server, and the sockets of the people in the room."""

    server: Server
    token: str
    sockets: list[aiohttp.ClientWebSocketResponse]

    def app(self) -> DashboardApp:
        return dashboard(TlhClient(self.server.url, self.token), Fakes(), now=lambda: SHOWN_AT)


async def join(http: aiohttp.ClientSession, url: str, link_url: str) -> Any:
    """A raw participant socket through a join link: redeemed, said hello, waiting."""
    origin = {"Origin": url}
    token = link_url.split("#", 1)[1]
    async with http.post(f"{url}/api/v1/link/redeem", json={"token": token}, headers=origin) as r:
        assert r.status == 200, await r.text()
        cookie = r.cookies[COOKIE].value
    ws = await http.ws_connect(
        f"{url}/api/v1/link/ws", headers={**origin, "Cookie": f"{COOKIE}={cookie}"}
    )
    await ws.send_json({"type": "hello", "device_id": f"dev-{len(token)}-{token[:4]}"})
    while (frame := await ws.receive_json(timeout=10))["type"] != "status":
        pass
    return ws, frame


async def stage(server: Server) -> Scene:
    """Dr Lee's day: Ana in session, two guests waiting, Ben's session cannot start yet."""
    http = aiohttp.ClientSession()
    url, admin_token = server.url, server.admin_token  # type: ignore[attr-defined]
    async with TlhClient(url, admin_token) as admin:
        lee = await admin.staff.add("lee@example.org", "Dr Lee", "clinician", telehealth=True)
        ana = await admin.clients.add("Ana Lima", email="ana@example.org")
        ben = await admin.clients.add("Ben Okafor", email="ben@example.org")
        for who in (ana, ben):  # a missing consent would put a client id on screen
            await admin.consents.verbal(who.id, "agreed by phone")
        booked = {}
        for who, minutes, status in ((ana, -1, "confirmed"), (ben, 60, "scheduled")):
            booked[who.id] = (
                await admin.appointments.add(
                    client_ids=[who.id], clinicians=["lee@example.org"],
                    start=(AT + timedelta(minutes=minutes)).isoformat(), duration_min=50,
                    modality="telehealth", status=status,
                )
            )[0]  # fmt: skip
        links = [(await admin.invites.link(booked[ana.id].id)).url]
        links += [(await admin.invites.guest("lee@example.org")).url for _ in range(2)]
    sockets = []
    for link in links:
        ws, _ = await join(http, url, link)
        sockets.append(ws)
    async with TlhClient(url, lee.token) as clinician:
        await clinician.sessions.start(booked[ana.id].id)
        first = next(e for e in (await clinician.rooms.list()).items[0].entries if e.label)
        await clinician.rooms.admit(first.id)
    await sockets[0].send_json({"type": "media", "state": "connected"})
    scene = Scene(server, lee.token, sockets)
    scene.http = http  # type: ignore[attr-defined]
    return scene


@pytest.fixture
def scene(tmp_path: Path) -> Iterator[Scene]:
    from tlh.services.bootstrap import init_practice

    with time_machine.travel(AT, tick=False):
        data_dir = tmp_path / "data"
        server = Server(data_dir)
        server.admin_token = asyncio.run(  # type: ignore[attr-defined]
            init_practice(data_dir, "Snapshot Practice", "America/New_York", "admin@example.org")
        )
        server._run(server._start())
        try:
            made = server._run(stage(server))
            yield made
            server._run(made.http.close())  # type: ignore[attr-defined]
        finally:
            server.close()


async def synced(pilot: Pilot[Any]) -> None:
    app = pilot.app
    assert isinstance(app, DashboardApp)
    await until(pilot, app.feed.synced.is_set, "the first sync")
    await until(pilot, lambda: len(app.state.eligibility) == 2, "eligibility of both sessions")
    await until(pilot, lambda: len(app.state.in_session()) == 1, "Ana in session")


def test_people(snap_compare: Snap, scene: Scene) -> None:
    assert snap_compare(scene.app(), terminal_size=SIZE, run_before=synced)


def test_schedule(snap_compare: Snap, scene: Scene) -> None:
    assert snap_compare(scene.app(), terminal_size=SIZE, run_before=synced, press=["2"])


def test_idle_lock(snap_compare: Snap, scene: Scene) -> None:
    assert snap_compare(scene.app(), terminal_size=SIZE, run_before=synced, press=["ctrl+l"])


def test_explain_dialog(snap_compare: Snap, scene: Scene) -> None:
    async def explain_ben(pilot: Pilot[Any]) -> None:
        await synced(pilot)
        await pilot.press("2", "down", "e")
        await until(pilot, lambda: isinstance(pilot.app.screen, ExplainScreen), "the dialog")

    assert snap_compare(scene.app(), terminal_size=SIZE, run_before=explain_ben)
