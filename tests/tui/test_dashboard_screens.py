"""Notifications (3) and Reports (4) against a real server, with real events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp import web

from tlh.api.events import StaffEvent
from tlh.domain.rooms import EntryState
from tlh.server.settings import Settings
from tlh.tui.screens.notifications import NotificationsScreen
from tlh.tui.screens.people import WARN_STYLE, timer
from tlh.tui.screens.reports import ReportsScreen
from tlh.tui.settings import DashboardSettings
from tlh.tui.state import SOMEONE, DashboardState

from .conftest import Practice, Server, book, free_port
from .helpers import Fakes, dashboard, running, screen_text, until
from .test_state import T0, entry

SIZE = (120, 30)


class SmsServer(Server):
    """The test server with texts sent to an SMS gateway on loopback."""

    gateway = ""

    def settings(self) -> Settings:
        from dataclasses import replace

        from tlh.messaging.config import MessagingConfig, WebhookConfig

        sms = MessagingConfig(sms="webhook", webhook=WebhookConfig(url=self.gateway, secret="s"))
        return replace(super().settings(), messaging=sms)


async def refuse(request: web.Request) -> web.Response:
    """A gateway that refuses every text (a permanent failure)."""
    return web.json_response({"error": "number not allowed"}, status=400)


@pytest.fixture
async def sms_practice(tmp_path: Path) -> AsyncIterator[Practice]:
    """A practice whose texts all fail at a real (refusing) SMS gateway."""
    from tlh.services.bootstrap import init_practice

    app = web.Application()
    app.router.add_post("/sms", refuse)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    server = SmsServer(tmp_path / "data")
    server.gateway = f"http://127.0.0.1:{port}/sms"
    admin_token = await init_practice(
        server.data_dir, "SMS Practice", "America/New_York", "admin@example.org"
    )
    await server.start()
    try:
        yield await book(server, admin_token, "Bea Okafor")
    finally:
        await asyncio.to_thread(server.close)
        await runner.cleanup()


async def redeem(practice: Practice) -> None:
    """Open the appointment's join link as a browser would (no media)."""
    async with practice.admin() as admin:
        link = await admin.invites.link(practice.appt_id)
    async with aiohttp.ClientSession() as http:
        token = link.url.split("#", 1)[1]
        async with http.post(
            f"{practice.url}/api/v1/link/redeem",
            json={"token": token},
            headers={"Origin": practice.url},
        ) as r:
            assert r.status == 200


async def test_consent_a_redeemed_link_and_a_failed_message_are_notifications(
    sms_practice: Practice,
) -> None:
    practice = sms_practice
    async with running(practice, SIZE) as (app, pilot):
        assert " new" not in screen_text(app)
        async with practice.admin() as admin:
            client_id = (await admin.appointments.get(practice.appt_id)).client_ids[0]
            await admin.consents.verbal(client_id, "agreed again by phone")
            await redeem(practice)
            await admin.invites.send(practice.appt_id, "sms", to="+1 202 555 0143")
        # Three notifications, one person: "1 new" (it counts people).
        await until(pilot, lambda: len(app.state.notifications) == 3, "three notifications")
        await until(pilot, lambda: "· 1 new" in screen_text(app), "1 new on People")
        await pilot.press("3")
        await until(pilot, lambda: isinstance(app.screen, NotificationsScreen), "screen 3")
        shown = screen_text(app)
        lines = [line for line in shown.splitlines() if practice.client_name in line]
        assert [("consent accepted" in x, "join link" in x) for x in lines[-2:]] == [
            (False, True),
            (True, False),
        ]
        assert "invitation by sms could not be sent" in lines[0]
        assert client_id not in shown
        assert app.state.unread == 0
        await pilot.press("2")
        await until(pilot, lambda: app.screen.id == "schedule", "schedule")
        assert " new" not in screen_text(app)


async def test_reports_show_this_weeks_session_and_attendance(practice: Practice) -> None:
    async with practice.clinician() as client:
        started = await client.sessions.start(practice.appt_id)
        await client.sessions.end(started.session.id)
        await client.appointments.set_status(practice.appt_id, "missed")
        app = dashboard(client, Fakes())
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, app.feed.synced.is_set, "the first sync")
            await pilot.press("4")
            await until(pilot, lambda: isinstance(app.screen, ReportsScreen), "screen 4")
            await until(pilot, lambda: "· 1 session" in screen_text(app), "this week's figures")
            shown = screen_text(app)
            day = started.session.started_at.astimezone(ZoneInfo(app.state.zone)).strftime("%a")
            assert f"{day} 1" in shown
            assert "Attendance: attended 0 · late 0 · no-show 1 · cancelled 0" in shown
            assert "Average duration: 0 min over 1 session" in shown
            assert "Invite channels: none yet" in shown


def test_people_timers_warn_past_the_wait_and_the_call_limits() -> None:
    settings = DashboardSettings(warn_after_min=5, call_timer_min=50)
    in_call = entry(1, EntryState.IN_SESSION, state_since=T0)
    shown = timer(in_call, T0 + timedelta(minutes=49, seconds=59), settings)
    assert (shown.plain, shown.style) == ("49:59", "")
    shown = timer(in_call, T0 + timedelta(minutes=50), settings)
    assert (shown.plain, shown.style) == ("50:00", WARN_STYLE)
    # The call's clock runs from admission, not from the media connecting later.
    connected_late = entry(
        4, EntryState.IN_SESSION, admitted_at=T0, state_since=T0 + timedelta(minutes=1)
    )
    assert timer(connected_late, T0 + timedelta(minutes=3), settings).plain == "3:00"
    waiting = entry(2, arrived_at=T0)
    assert timer(waiting, T0 + timedelta(minutes=4), settings).style == ""
    assert timer(waiting, T0 + timedelta(minutes=5), settings).style == WARN_STYLE
    assert timer(entry(3, EntryState.LEFT), T0, settings).plain == ""


def test_notices_name_nobody_by_id_and_device_updates_are_not_notices() -> None:
    state = DashboardState()
    state.apply(StaffEvent(type="room.updated", data={"entry_id": "ent_1"}))
    assert (state.notifications, state.unread) == ([], 0)
    state.apply(StaffEvent(type="consent.declined", data={"client_id": "cli_9"}))
    state.apply(StaffEvent(type="message.failed", data={"kind": "reminder_24h", "channel": "sms"}))
    older, newest = state.notifications
    assert (state.who(older), older.text) == (SOMEONE, "consent declined")
    assert (state.who(newest), newest.text) == (SOMEONE, "reminder 24h by sms could not be sent")
    state.client_names["cli_9"] = "Bea\x1b[2J"
    assert state.who(older) == "Bea[2J"
    # A failed message names its client (the outbox sends the client's id, never more).
    state.apply(StaffEvent(type="message.failed", data={"kind": "consent", "client_id": "cli_9"}))
    assert state.who(state.notifications[-1]) == "Bea[2J"
    # Three notifications: two about Bea, one about nobody known: two people.
    assert state.unread_note() == " · 2 new"
    state.mark_read()
    assert state.unread_note() == ""


def test_people_waiting_early_for_an_upcoming_session_show_its_start_after_the_due() -> None:
    from tlh.domain.links import ParticipantKind
    from tlh.domain.models import Appointment
    from tlh.tui.screens.people import PeopleScreen

    def appt(id: str, start_in: timedelta) -> Appointment:
        return Appointment(
            id=id,
            clinician_ids=("stf_1",),
            start=T0 + start_in,
            duration_min=50,
            created_at=T0,
            updated_at=T0,
        )

    state = DashboardState(zone="America/New_York")
    state.load_schedule(
        [appt("apt_later", timedelta(hours=2)), appt("apt_soon", timedelta(minutes=30)),
         appt("apt_now", -timedelta(minutes=5))],
        {},
    )  # fmt: skip
    later = entry(1, appointment_id="apt_later")  # arrived first
    soon = entry(2, appointment_id="apt_soon")
    due = entry(3, appointment_id="apt_now")
    guest = entry(4, participant=ParticipantKind.GUEST)
    for e in (later, soon, due, guest):
        state.entries[e.id] = e
    people = PeopleScreen(state, lambda: T0, DashboardSettings)
    assert [e.id for e in people.rows()] == [due.id, soon.id, later.id, guest.id]
    local = (T0 + timedelta(hours=2)).astimezone(ZoneInfo("America/New_York"))
    assert people.where(later, T0) == f"early {local:%H:%M}"
    assert people.where(due, T0) == "waiting"
    assert people.where(guest, T0) == "guest"
    # Once the session starts they are simply waiting.
    assert people.where(soon, T0 + timedelta(minutes=31)) == "waiting"
