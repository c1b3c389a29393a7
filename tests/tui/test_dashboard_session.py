"""One dashboard per user, and a token the server refuses."""

from __future__ import annotations

import asyncio

from tlh.client import TlhClient
from tlh.tui.state import Connection

from .conftest import Practice
from .helpers import WAIT_S, Fakes, dashboard, running, screen_text, until


async def test_a_second_dashboard_supersedes_the_first(practice: Practice) -> None:
    async with (
        running(practice, (100, 30)) as (first, pilot),
        running(practice, (100, 30)) as (second, _),
    ):
        await until(
            pilot, lambda: first.state.connection == Connection.SUPERSEDED, "the first superseded"
        )
        await until(pilot, lambda: "opened elsewhere" in screen_text(first), "shown")
        assert second.state.connection == Connection.LIVE


async def test_a_refused_token_exits_with_a_clear_message(practice: Practice) -> None:
    async with TlhClient(practice.url, "tlh_not_a_real_token") as client:
        app = dashboard(client, Fakes())
        await asyncio.wait_for(app.run_async(headless=True, size=(80, 24)), WAIT_S)
    assert app.return_code == 1
    assert app.state.connection == Connection.SIGNED_OUT
    assert app.feed.failure is not None
    assert "token" in app.feed.failure


async def test_a_token_revoked_while_running_closes_the_dashboard(practice: Practice) -> None:
    """The server closes the old token's event stream at once; the dashboard's retry is
    refused and it exits saying why (no names left on a dismissed clinician's screen)."""
    async with practice.clinician() as client:
        app = dashboard(client, Fakes())
        running = asyncio.create_task(app.run_async(headless=True, size=(80, 24)))
        try:
            async with asyncio.timeout(WAIT_S):
                await app.feed.synced.wait()
            async with practice.admin() as admin:
                await admin.staff.new_token(practice.clinician_email)
            await asyncio.wait_for(asyncio.shield(running), WAIT_S)
        finally:
            if not running.done():
                app.exit()
                await running
    assert app.return_code == 1
    assert app.state.connection == Connection.SIGNED_OUT
    assert app.feed.failure is not None
    assert "token" in app.feed.failure
