"""``appointments_between`` and ``busy_between`` (``tlh.store.calendar``,
``tlh.store.busy``): the range edges, and agreement with the appointments stored
through adds, moves, cancellations, deletes and a reopen."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from tests.seeding import seed
from tests.store.conftest import T0, appt
from tests.store.contract.conftest import Backend, Store
from tlh.domain.conflicts import holds_time
from tlh.domain.models import Appointment, Kind, Status
from tlh.errors import InvalidInput
from tlh.store.base import Delete, Put

CLINICIANS = ("stf_1", "stf_2")


async def test_appointments_between_edges(store: Store) -> None:
    midnight = datetime(2026, 3, 11, tzinfo=UTC)
    late = appt("late", start=midnight - timedelta(minutes=30), duration_min=60)
    other = appt("other", start=midnight + timedelta(hours=9), clinicians=("stf_2",))
    ends_at = appt("ends", start=midnight - timedelta(hours=2), duration_min=60)
    point = appt("point", start=midnight + timedelta(hours=1), duration_min=0)
    await seed(store, [Put(a) for a in (late, other, ends_at, point)])

    async def ids(start: datetime, end: datetime, who: str | None = None) -> list[str]:
        return [a.id for a in await store.appointments_between(start, end, who)]

    assert await ids(midnight - timedelta(days=1), midnight) == ["ends", "late"]
    assert await ids(midnight, midnight + timedelta(days=1)) == ["late", "point", "other"]
    assert await ids(midnight, midnight + timedelta(days=1), "stf_1") == ["late", "point"]
    assert await ids(midnight, midnight + timedelta(days=1), "stf_9") == []
    # Half-open: an appointment ending exactly at the range start is outside; a
    # zero-length one is inside a range that holds its start.
    assert await ids(midnight - timedelta(hours=1), midnight - timedelta(minutes=30)) == []
    assert await ids(midnight + timedelta(hours=1), midnight + timedelta(hours=2)) == ["point"]
    assert await ids(midnight, midnight + timedelta(hours=1)) == ["late"]
    assert await ids(datetime(1900, 1, 1, tzinfo=UTC), datetime(2999, 1, 1, tzinfo=UTC)) == [
        "ends",
        "late",
        "point",
        "other",
    ]
    assert await ids(midnight, midnight) == []
    with pytest.raises(InvalidInput):
        await store.appointments_between(datetime(2026, 3, 11), datetime(2026, 3, 12))
    await seed(store, [Delete(Appointment, "late")])
    assert await ids(midnight, midnight + timedelta(days=1)) == ["point", "other"]


async def test_busy_between_counts_what_holds_time(store: Store) -> None:
    day = T0.replace(hour=0)
    await seed(
        store,
        [
            Put(appt("a", start=day + timedelta(hours=9))),
            Put(appt("b", start=day + timedelta(hours=11), status=Status.CANCELLED)),
            Put(appt("c", start=day + timedelta(hours=13), status=Status.LATE_CANCELLED)),
            Put(appt("v", start=day - timedelta(days=1), duration_min=3 * 1440,
                     kind=Kind.VACATION)),
            Put(appt("d", start=day + timedelta(hours=15), clinicians=("stf_1", "stf_2"))),
        ],
    )  # fmt: skip

    def span(start: datetime, minutes: int) -> tuple[int, int]:
        s = int(start.timestamp())
        return (s, s + minutes * 60)

    assert await store.busy_between(day, day + timedelta(days=1), "stf_1") == [
        span(day - timedelta(days=1), 3 * 1440),
        span(day + timedelta(hours=9), 50),
        span(day + timedelta(hours=15), 50),
    ]
    assert await store.busy_between(day, day + timedelta(days=1), "stf_2") == [
        span(day + timedelta(hours=15), 50)
    ]
    assert await store.busy_between(day, day, "stf_1") == []


def expected_busy(apts: list[Appointment], start: datetime, end: datetime, who: str):  # type: ignore[no-untyped-def]
    lo, hi = int(start.timestamp()), int(end.timestamp())
    spans = []
    for a in apts:
        if who not in a.clinician_ids or not holds_time(a):
            continue
        s, e = int(a.start.timestamp()), int(a.end.timestamp())
        if s < hi and (e > lo or s == e >= lo):
            spans.append((s, e))
    return sorted(spans)


def expected_between(apts: list[Appointment], start: datetime, end: datetime, who: str | None):  # type: ignore[no-untyped-def]
    def overlaps(a: Appointment) -> bool:
        if a.duration_min <= 0:
            return start <= a.start < end
        return a.start < end and a.end > start

    found = [a for a in apts if (who is None or who in a.clinician_ids) and overlaps(a)]
    return sorted(found, key=lambda a: (a.start, a.id))


async def check(store: Store, made: dict[str, Appointment], rnd: random.Random) -> None:
    apts = list(made.values())
    for _ in range(25):
        start = T0 + timedelta(minutes=rnd.randrange(-3 * 1440, 12 * 1440, 10))
        end = start + timedelta(minutes=rnd.randrange(10, 9 * 1440, 10))
        for who in (*CLINICIANS, None):
            got = await store.appointments_between(start, end, who)
            assert got == expected_between(apts, start, end, who)
            if who is not None:
                assert await store.busy_between(start, end, who) == expected_busy(
                    apts, start, end, who
                )


async def test_the_calendar_matches_the_appointments(backend: Backend) -> None:
    rnd = random.Random(13)
    store = backend.make()
    await store.open()
    made: dict[str, Appointment] = {}
    for n in range(200):
        long = rnd.random() < 0.05
        made[f"apt_{n}"] = appt(
            f"apt_{n}",
            start=T0 + timedelta(minutes=rnd.randrange(0, 10 * 1440, 10)),
            duration_min=rnd.randrange(2, 5) * 1440 if long else rnd.choice((0, 30, 50, 90)),
            clinicians=tuple(rnd.sample(CLINICIANS, rnd.choice((1, 2)))),
            status=rnd.choice(list(Status)),
            kind=Kind.VACATION if long else Kind.APPOINTMENT,
        )
    await seed(store, [Put(a) for a in made.values()])
    await check(store, made, rnd)
    await seed(store, change_some(made, rnd))
    await check(store, made, rnd)
    await store.close()
    reopened = backend.make()
    await reopened.open()
    try:
        await check(reopened, made, rnd)
        # Changes after a reopen (on ``tiny-cold``: of records in months left on disk).
        await seed(reopened, change_some(made, rnd))
        await check(reopened, made, rnd)
    finally:
        await reopened.close()
    last = backend.make()
    await last.open()
    try:
        await check(last, made, rnd)
    finally:
        await last.close()


def change_some(made: dict[str, Appointment], rnd: random.Random) -> list[Put | Delete]:
    """Delete, restate or move (in time and to another clinician) some of ``made``."""
    changes: list[Put | Delete] = []
    for key in rnd.sample(sorted(made), min(80, len(made))):
        a = made[key]
        roll = rnd.random()
        if roll < 0.3:
            changes.append(Delete(Appointment, a.id))
            del made[a.id]
        elif roll < 0.6:
            made[a.id] = msgspec.structs.replace(a, status=rnd.choice(list(Status)))
            changes.append(Put(made[a.id]))
        else:
            moved = a.start + timedelta(minutes=rnd.randrange(-1440, 1440, 10))
            made[a.id] = msgspec.structs.replace(a, start=moved, clinician_ids=("stf_2",))
            changes.append(Put(made[a.id]))
    return changes
