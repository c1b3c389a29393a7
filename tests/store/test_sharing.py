"""Records loaded by the embedded store share the values they repeat
(``tlh.store.sharing``): a clinician's id, a visit's start, the appointment's id on its
link. Nothing a read returns changes: a date in another zone keeps its zone."""

from __future__ import annotations

import gc
import tracemalloc
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from tests.seeding import seed
from tests.store.conftest import appt, link
from tlh.domain.links import JoinLink
from tlh.domain.models import Appointment
from tlh.domain.sessions import Participation, SessionSegment
from tlh.store.base import Put
from tlh.store.tinystore import TinyStore, init_data_dir

NOW = datetime.now(UTC).replace(second=0, microsecond=0)
DAY = NOW.replace(hour=9, minute=0) + timedelta(days=2)
CLINICIANS = [f"stf_{n}" for n in range(4)]


def a_day(count: int) -> list[Appointment]:
    """``count`` visits of four clinicians at eight times of one day, each client once."""
    return [
        appt(
            f"apt_{n:05d}",
            DAY + timedelta(hours=n % 8),
            clinicians=(CLINICIANS[n % 4],),
            client_ids=(f"cli_{n:05d}",),
        )
        for n in range(count)
    ]


async def reopened(data_dir: Path) -> TinyStore:
    s = TinyStore(data_dir)
    await s.open()
    return s


async def test_loaded_records_share_what_they_repeat(data_dir: Path) -> None:
    visits = a_day(16)
    links = [link(f"lnk_{n:05d}", NOW, appointment_id=v.id) for n, v in enumerate(visits)]
    s = await reopened(data_dir)
    await seed(s, [Put(r) for r in (*visits, *links)])
    await s.close()
    s = await reopened(data_dir)
    try:
        got = [await s.get(Appointment, v.id) for v in visits]
        assert got == visits
        first, fifth = got[0], got[4]  # one clinician, times an hour apart
        assert first is not None
        assert fifth is not None
        assert first.clinician_ids is fifth.clinician_ids
        assert got[8] is not None
        assert first.start is got[8].start
        assert first.updated_at is first.created_at
        found = await s.get(JoinLink, "lnk_00003")
        assert found is not None
        assert found.appointment_id is got[3].id
    finally:
        await s.close()


async def test_a_date_in_another_zone_keeps_its_zone(data_dir: Path) -> None:
    five = timezone(timedelta(hours=5))
    utc = appt("apt_utc", DAY)
    local = appt("apt_local", DAY.astimezone(five))
    s = await reopened(data_dir)
    await seed(s, [Put(utc), Put(local)])
    await s.close()
    s = await reopened(data_dir)
    try:
        a, b = await s.get(Appointment, "apt_utc"), await s.get(Appointment, "apt_local")
        assert a is not None
        assert b is not None
        assert a.start == b.start
        assert a.start.utcoffset() == timedelta(0)
        assert b.start.utcoffset() == timedelta(hours=5)
    finally:
        await s.close()


async def test_a_loaded_appointment_holds_less_memory(tmp_path: Path) -> None:
    """2,000 visits of one day: without sharing each holds its own clinician ids, start
    and dates (about 200 bytes more each)."""

    async def heap_of_open(data_dir: Path) -> int:
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            s = await reopened(data_dir)
            gc.collect()
            grown = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        await s.close()
        return grown

    sizes = {}
    for count in (1, 2001):
        data_dir = init_data_dir(tmp_path / f"practice-{count}")
        s = await reopened(data_dir)
        await seed(s, [Put(v) for v in a_day(count)])
        await s.close()
        sizes[count] = await heap_of_open(data_dir)
    per_visit = (sizes[2001] - sizes[1]) / 2000
    assert per_visit < 650, f"{per_visit:.0f} bytes of memory a loaded appointment"


async def test_a_call_s_participants_share_the_clinician_the_client_and_the_words(
    data_dir: Path,
) -> None:
    """A session segment's participants (``Plan.inner``): the clinician's id, the
    client's, "staff", "client" and "email", and the clinician joining as it started."""
    visits = a_day(2)

    def call(n: int, visit: Appointment) -> SessionSegment:
        staff, client = visit.clinician_ids[0], visit.client_ids[0]
        return SessionSegment(
            id=f"ses_{n}",
            appointment_id=visit.id,
            clinician_id=staff,
            started_at=visit.start,
            started_by=staff,
            ended_at=visit.start + timedelta(minutes=50),
            participants=(
                Participation(peer_id=staff, kind="staff", staff_id=staff, joined_at=visit.start),
                Participation(
                    peer_id=f"ent_{n}",
                    kind="client",
                    client_id=client,
                    channel="email",
                    joined_at=visit.start + timedelta(minutes=1),
                ),
            ),
        )

    calls = [call(n, v) for n, v in enumerate(visits)]
    s = await reopened(data_dir)
    await seed(s, [Put(r) for r in (*visits, *calls)])
    await s.close()
    s = await reopened(data_dir)
    try:
        await s.warmed()
        first, second = [await s.get(SessionSegment, c.id) for c in calls]
        assert [first, second] == calls
        assert first is not None
        assert second is not None
        staff, client = first.participants
        assert staff.peer_id is staff.staff_id is first.clinician_id
        assert staff.joined_at is first.started_at
        assert staff.kind is second.participants[0].kind
        assert client.kind is second.participants[1].kind
        assert client.channel is second.participants[1].channel
        visit = await s.get(Appointment, visits[0].id)
        assert visit is not None
        assert client.client_id is visit.client_ids[0]
    finally:
        await s.close()
