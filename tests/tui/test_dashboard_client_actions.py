"""Staff hear of it when a client confirms or cancels from their reminder's one-tap link
(issue 13, item 4): the dashboard lists a notification naming the client and the
Schedule's row shows the new status, from the event alone."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import aiohttp

from tests.seeding import seed
from tlh.domain.action_links import ActionLink, LinkAction
from tlh.domain.models import Appointment, Status
from tlh.server.keys import STORE
from tlh.services.links import mint_token
from tlh.store.base import Put
from tlh.tui.screens.notifications import NotificationsScreen
from tlh.tui.screens.schedule import ScheduleScreen

from .conftest import Practice
from .helpers import booked, running, screen_text, until

SIZE = (120, 30)


async def _link(practice: Practice, appt_id: str, action: LinkAction) -> str:
    """A one-tap link of the appointment, as the reminder's outbox would have issued it
    (stored as its hash in the server's store): its token."""
    token, digest = mint_token()
    store = practice.server.runner.app[STORE]
    async with practice.admin() as admin:
        appt = await admin.appointments.get(appt_id)
    assert isinstance(appt, Appointment)
    link = ActionLink(
        id=f"act_{action.value}",
        token_hash=digest,
        action=action,
        appointment_id=appt_id,
        client_id=appt.client_ids[0],
        created_at=appt.created_at,
        valid_until=appt.start,
    )
    await asyncio.to_thread(practice.server._run, seed(store, [Put(link)]))
    return token


async def _use(practice: Practice, token: str) -> None:
    async with (
        aiohttp.ClientSession(practice.url) as http,
        http.post(
            "/api/v1/actions/use", json={"token": token}, headers={"Origin": practice.url}
        ) as response,
    ):
        assert response.status == 200, await response.text()


async def test_a_confirmation_and_a_late_cancellation_show_on_the_dashboard(
    practice: Practice,
) -> None:
    appt_id, _ = await booked(practice, "Nia Tapper", timedelta(hours=2), status="scheduled")
    confirm = await _link(practice, appt_id, LinkAction.CONFIRM)
    cancel = await _link(practice, appt_id, LinkAction.CANCEL)
    async with running(practice, SIZE) as (app, pilot):

        def shown() -> Appointment | None:
            return app.state.appointments.get(appt_id) or app.state.upcoming.get(appt_id)

        assert (found := shown()) is not None
        assert found.status is Status.SCHEDULED
        await _use(practice, confirm)
        await until(pilot, lambda: bool(app.state.notifications), "the notification")
        await until(
            pilot, lambda: (a := shown()) is not None and a.status is Status.CONFIRMED, "the row"
        )
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, ScheduleScreen), "schedule")
        screen = app.screen
        assert isinstance(screen, ScheduleScreen)
        if appt_id in app.state.appointments:  # today's row (not near midnight)
            await until(
                pilot,
                lambda: "confirmed" in str(screen.table.get_cell(appt_id, "status")),
                "the row's status",
            )
        await pilot.press("3")
        await until(pilot, lambda: isinstance(app.screen, NotificationsScreen), "screen 3")
        await until(pilot, lambda: "confirmed their appointment" in screen_text(app), "listed")
        line = next(x for x in screen_text(app).splitlines() if "confirmed their" in x)
        assert "Nia Tapper" in line  # named from the client id the event carries

        await _use(practice, cancel)  # 2 hours ahead: a late cancellation
        await until(pilot, lambda: "cancelled their appointment late" in screen_text(app), "listed")
        await until(
            pilot,
            lambda: (a := shown()) is None or a.status is Status.LATE_CANCELLED,
            "the row",
        )
        [note] = [n for n in app.state.notifications if n.kind == "appointment.cancelled"]
        assert note.appointment_id == appt_id
