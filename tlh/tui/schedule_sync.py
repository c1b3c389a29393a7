"""The Schedule's data: the signed-in clinician's appointments today and the next days,
their clients' names, today's sessions and whether each of today's telehealth sessions
can start, kept current from the staff events.

Loaded whole on every (re)connection; after that, an appointment created, changed or
moved to a status is fetched again on its own (events carry ids, times and states only),
a session started or ended fetches today's sessions again, and a consent decision
re-checks that client's sessions today. A bulk import reloads it all. Events about
other clinicians' appointments (a clinician sees their own day; an admin sees
everyone's) are passed over without a request.

Names come from a look-up of the clients on these days only (``clients.lookup``): each
is an audited read, and nobody else's record is read.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from tlh.domain.models import Appointment, Staff
from tlh.errors import Forbidden, NotFound, TlhError

from .state import DashboardState, Placement
from .state_views import NEXT_REACH

if TYPE_CHECKING:
    from tlh.client import TlhClient

#: Eligibility look-ups in flight at once (a 200-appointment day must not flood the server).
ELIGIBILITY_PARALLEL = 8
#: Days after today the Schedule shows.
UPCOMING_DAYS = 7
#: Events after which one appointment is fetched again.
APPOINTMENT_EVENTS = frozenset(
    {
        "appointment.created",
        "appointment.updated",
        "appointment.status",
        # A client confirmed or cancelled it themselves (one-tap link, portal).
        "appointment.confirmed",
        "appointment.cancelled",
        # A client booked it in the portal.
        "appointment.self_booked",
    }
)
#: Events after which a client's sessions today are checked again.
CONSENT_EVENTS = frozenset({"consent.accepted", "consent.declined", "consent.revoked"})
#: Events after which today's sessions are fetched again.
SESSION_EVENTS = frozenset({"session.started", "session.ended"})


class ScheduleSync:
    """Loads the schedule into a ``DashboardState`` and follows the events about it."""

    def __init__(
        self,
        client: TlhClient,
        state: DashboardState,
        now: Callable[[], datetime],
    ) -> None:
        self.client = client
        self.state = state
        self.now = now
        #: Who is signed in (fetched once): a clinician's schedule is their own.
        self.me: Staff | None = None

    def _today(self) -> date:
        return self.now().astimezone(ZoneInfo(self.state.zone)).date()

    def _mine(self) -> str | None:
        """The clinician whose day this is; ``None`` for admins (everyone's)."""
        return self.me.id if self.me is not None and self.me.is_clinician else None

    async def load(self, *, first: int | None = None) -> None:
        """Today's and the next days' appointments with names and today's sessions,
        then whether today's telehealth sessions can start: all of them, or (``first``)
        only those among the next ``first`` sessions (what the People screen lists)."""
        if self.me is None:
            self.me = await self.client.staff.me()
        today, mine = self._today(), self._mine()
        self.state.every_room = mine is None
        appointments = await self.client.appointments.list(date=today, clinician=mine)
        upcoming = await self.client.appointments.list(
            from_=today + timedelta(days=1),
            to=today + timedelta(days=UPCOMING_DAYS),
            clinician=mine,
        )
        wanted = list(dict.fromkeys(c for a in (*appointments, *upcoming) for c in a.client_ids))
        found = await self.client.clients.lookup(wanted) if wanted else []
        self.state.load_schedule(appointments, {c.id: c.name for c in found}, upcoming)
        await self.load_sessions()  # the day first, then whether each session can start
        now = self.now()
        # Today's, and the next days' that count among the next sessions (past midnight).
        soon = [a for a in upcoming if a.start <= now + NEXT_REACH]
        startable = [a for a in (*appointments, *soon) if _startable(a, now)]
        if first is not None:
            shown = {a.id for a in self.state.next_sessions(now, first)}
            startable = [a for a in startable if a.id in shown]
        await self._check(startable)

    async def load_sessions(self) -> None:
        """Today's session segments (the Schedule's session states and outcomes)."""
        self.state.load_sessions(await self.client.sessions.list(day=self._today()))

    async def follow(self, kind: str, data: dict[str, Any]) -> bool:
        """Apply one staff event to the schedule; whether anything was fetched."""
        if kind == "appointments.imported":
            await self.load()
            return True
        if kind in SESSION_EVENTS and self._concerns_session(data):
            await self.load_sessions()
            return True
        if kind in APPOINTMENT_EVENTS and isinstance(data.get("id"), str):
            if not self._concerns(data):
                return False
            await self._refetch(str(data["id"]))
            return True
        if kind in CONSENT_EVENTS and isinstance(data.get("client_id"), str):
            now, client_id = self.now(), str(data["client_id"])
            theirs = [
                a
                for a in self.state.appointments.values()
                if client_id in a.client_ids and _startable(a, now)
            ]
            await self._check(theirs)
            return bool(theirs)
        return False

    def _concerns(self, data: dict[str, Any]) -> bool:
        """Whether an appointment event may change what this schedule shows."""
        appt_id = str(data["id"])
        if appt_id in self.state.appointments or appt_id in self.state.upcoming:
            return True
        mine = self._mine()
        clinicians = data.get("clinician_ids")
        return mine is None or (isinstance(clinicians, list) and mine in clinicians)

    def _concerns_session(self, data: dict[str, Any]) -> bool:
        """Whether a session event is about an appointment shown (or a room session)."""
        appt_id = data.get("appointment_id")
        return appt_id is None or appt_id in self.state.appointments

    async def _refetch(self, appt_id: str) -> None:
        try:
            appt = await self.client.appointments.get(appt_id)
        except (NotFound, Forbidden):
            self.state.place_appointment(appt_id, None, Placement.GONE)
            return
        await self._names(appt.client_ids)
        placement = self._placement(appt)
        self.state.place_appointment(appt_id, appt, placement)
        if placement is Placement.TODAY and _startable(appt, self.now()):
            await self._check([appt])

    def _placement(self, appt: Appointment) -> Placement:
        mine = self._mine()
        if mine is not None and mine not in appt.clinician_ids:
            return Placement.GONE  # moved to another clinician
        day, today = appt.start.astimezone(ZoneInfo(self.state.zone)).date(), self._today()
        if day == today:
            return Placement.TODAY
        if today < day <= today + timedelta(days=UPCOMING_DAYS):
            return Placement.UPCOMING
        return Placement.GONE

    async def _names(self, client_ids: Iterable[str]) -> None:
        missing = [c for c in client_ids if c not in self.state.client_names]
        if missing:
            with contextlib.suppress(TlhError):
                for client in await self.client.clients.lookup(missing):
                    self.state.client_names[client.id] = client.name

    async def _check(self, appointments: Iterable[Appointment]) -> None:
        gate = asyncio.Semaphore(ELIGIBILITY_PARALLEL)
        asked = [a.id for a in appointments]
        if not asked:
            return
        self.state.checking_eligibility(asked)

        async def one(appt_id: str) -> None:
            async with gate:
                try:
                    self.state.set_eligibility(await self.client.appointments.eligibility(appt_id))
                except TlhError:
                    self.state.eligibility_unknown(appt_id)  # no ``…`` left waiting

        await asyncio.gather(*(one(a) for a in asked))


def _startable(appt: Appointment, now: datetime) -> bool:
    """A telehealth appointment that has not ended: worth asking whether it can start."""
    return appt.modality.value == "telehealth" and appt.end > now
