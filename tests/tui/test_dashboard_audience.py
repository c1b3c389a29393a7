"""The dashboard hears its own rooms only, and takes an arrival's row from the event."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from tlh.client import TlhClient
from tlh.media.participant import Participant

from .conftest import Practice
from .helpers import WAIT_S, Fakes, dashboard, running, screen_text, until, waiting

SIZE = (120, 30)


async def _guest_of_dr_b(practice: Practice) -> Participant:
    """A guest waiting in another clinician's room (Dr B's)."""
    email = f"drb-{secrets.token_hex(4)}@example.org"
    async with practice.admin() as admin:
        await admin.staff.add(email, "Dr B", "clinician", telehealth=True)
        made = await admin.invites.guest(email)
    guest = Participant(
        practice.url,
        link_token=made.url.split("#", 1)[1],
        display_name="Bo Other",
        audio=False,
        video=False,
    )
    await guest.start()
    await asyncio.wait_for(guest.wait_state("waiting", within=WAIT_S), WAIT_S + 1)
    return guest


async def _room_reads(admin: TlhClient, staff_id: str) -> int:
    """How many ``GET /rooms`` the staff member made (each is audited as ``room.read``)."""
    return sum(
        1
        for e in await admin.audit.list()
        if e["action"] == "room.read" and e["actor"]["id"] == staff_id
    )


async def test_an_arrival_in_another_clinicians_room_does_not_ring(practice: Practice) -> None:
    fakes = Fakes()
    async with running(practice, SIZE, fakes, notifications=True) as (app, pilot):
        other = await _guest_of_dr_b(practice)
        try:
            # Then someone arrives in this clinician's room: once their bell has rung,
            # any event about Dr B's guest would have been handled before it.
            async with waiting(pilot, practice) as person:
                toast = f"{practice.client_name} is waiting"
                await until(pilot, lambda: toast in screen_text(app), "the toast")
                assert fakes.rings == 1
                assert "Someone is waiting" not in screen_text(app)
                assert list(app.state.entries) == [person.entry_id]
                assert not any(n.entry_id == other.entry_id for n in app.state.notifications)
        finally:
            await other.close()


async def test_an_arrival_is_drawn_from_its_event_without_fetching_the_rooms(
    practice: Practice,
) -> None:
    fakes = Fakes()
    async with (
        running(practice, SIZE, fakes) as (app, pilot),
        practice.admin() as admin,
    ):
        me = (await app.client.staff.me()).id
        before = await _room_reads(admin, me)
        async with waiting(pilot, practice) as person:
            await until(pilot, lambda: fakes.rings == 1, "the bell")
            assert app.state.entries[person.entry_id].label == practice.client_name
            assert await _room_reads(admin, me) == before


async def test_the_admins_dashboard_rings_for_every_room(practice: Practice) -> None:
    fakes = Fakes()
    async with practice.admin() as client:
        app = dashboard(client, fakes)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, app.feed.synced.is_set, "the first sync")
            other: Any = await _guest_of_dr_b(practice)
            try:
                await until(pilot, lambda: other.entry_id in app.state.entries, "the arrival")
                await until(pilot, lambda: fakes.rings == 1, "the bell")
                assert app.state.entries[other.entry_id].label == "Bo Other"
            finally:
                await other.close()
