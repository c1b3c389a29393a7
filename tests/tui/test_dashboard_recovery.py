"""The server goes away and comes back; another dashboard takes over (issue 22, item 5).

While the stream is down the rows are dimmed (they may be out of date) and the key bar
offers "retry now"; once the server answers again the dashboard is live within 2 s,
whenever in its wait it was. A dashboard opened elsewhere stays on screen read-only.
"""

from __future__ import annotations

import time

import pytest

from tlh.tui.screens.people import PeopleScreen
from tlh.tui.state import Connection

from .conftest import Practice
from .helpers import arrive_with, link_of, running, screen_text, until

SIZES = [(80, 24), (100, 30)]
#: Within this long of the server answering again, the screen is live.
RECOVERY_S = 2.0


def dimmed(screen: PeopleScreen, row: str) -> bool:
    """Whether every cell of a row is drawn dimmed."""
    cells = screen.table.get_row(row)
    return bool(cells) and all("dim" in {str(s.style) for s in c.spans} for c in cells if c)


def any_dimmed(screen: PeopleScreen) -> bool:
    """Whether a row of the table is drawn dimmed."""
    return any(dimmed(screen, str(key.value)) for key in screen.table.rows)


@pytest.mark.parametrize("size", SIZES)
async def test_stale_rows_dim_retry_now_is_offered_and_it_is_live_within_2_s(
    practice: Practice, size: tuple[int, int]
) -> None:
    person = await arrive_with(practice, await link_of(practice, practice.appt_id))
    try:
        async with running(practice, size) as (app, pilot):
            screen = app.screen
            assert isinstance(screen, PeopleScreen)
            await until(pilot, lambda: screen.selected_entry() == person.entry_id, "the row")
            # The rows of the first snapshot may be drawn before the event stream is live
            # (dimmed, as stale): once it is live they are drawn plain.
            await until(pilot, lambda: app.state.connection == Connection.LIVE, "live")
            await until(pilot, lambda: not dimmed(screen, person.entry_id), "the row plain")
            await practice.server.stop()
            await until(pilot, lambda: app.state.connection == Connection.RECONNECTING, "down")
            await until(pilot, lambda: dimmed(screen, person.entry_id), "the row dimmed")
            await until(pilot, lambda: "Retry now" in screen_text(app), "retry now offered")
            # The worst moment for the server to come back: just after an attempt failed
            # at the longest wait between attempts.
            longest = app.feed.backoff.max_s
            await until(
                pilot, lambda: f"retrying in {longest:g} s" in app.state.connection_note, "cap"
            )
            tried = app.feed.attempts
            await until(pilot, lambda: app.feed.attempts > tried, "a fresh failed attempt")
            await practice.server.start()
            back = time.monotonic()
            await until(pilot, lambda: app.state.connection == Connection.LIVE, "live again")
            took = time.monotonic() - back
            assert took <= RECOVERY_S, f"live again {took:.2f} s after the server answered"
            # (The server forgot who waited: whatever the rows are now, none is dimmed.)
            await until(pilot, lambda: not any_dimmed(screen), "bright again")
            assert "Retry now" not in screen_text(app)
    finally:
        await person.close()


async def test_a_superseded_dashboard_is_read_only(practice: Practice) -> None:
    person = await arrive_with(practice, await link_of(practice, practice.appt_id))
    try:
        async with running(practice, (100, 30), notifications=True) as (first, pilot):
            screen = first.screen
            assert isinstance(screen, PeopleScreen)
            await until(pilot, lambda: screen.selected_entry() == person.entry_id, "the row")
            async with running(practice, (100, 30)) as (second, _):
                await until(
                    pilot, lambda: first.state.connection == Connection.SUPERSEDED, "superseded"
                )
                await until(pilot, lambda: "read-only" in screen_text(first), "said")
                await until(pilot, lambda: dimmed(screen, person.entry_id), "stale rows dimmed")
                await pilot.press("a")
                await until(pilot, lambda: "opened elsewhere" in screen_text(first), "refused")
                await pilot.press("d")
                await pilot.pause()
                assert first.screen is screen  # no dialog: nothing is asked
                assert person.state == "waiting"
                assert second.state.connection == Connection.LIVE
                rooms = await second.client.rooms.list()
                assert [e.state.value for r in rooms.items for e in r.entries] == ["waiting"]
    finally:
        await person.close()
