"""The busy-time index open slots read (``busy_between``) agrees with the appointments
the store holds, through adds, moves, cancellations, deletes and a reopen."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import msgspec

from tests.seeding import seed
from tlh.domain.conflicts import holds_time
from tlh.domain.models import Appointment, Kind, Status
from tlh.store.base import Delete, Put
from tlh.store.tinystore import TinyStore

from .conftest import T0, appt

CLINICIANS = ("stf_1", "stf_2")


async def expected(
    store: TinyStore, start: object, end: object, clinician: str
) -> list[tuple[int, int]]:
    found = await store.appointments_between(start, end, clinician)  # type: ignore[arg-type]
    return sorted(
        (int(a.start.timestamp()), int(a.end.timestamp())) for a in found if holds_time(a)
    )


async def check(store: TinyStore, rnd: random.Random) -> None:
    for _ in range(60):
        start = T0 + timedelta(minutes=rnd.randrange(-3 * 1440, 12 * 1440, 10))
        end = start + timedelta(minutes=rnd.randrange(10, 9 * 1440, 10))
        for clinician in CLINICIANS:
            assert await store.busy_between(start, end, clinician) == await expected(
                store, start, end, clinician
            )


async def test_busy_between_matches_the_appointments(data_dir: Path) -> None:
    rnd = random.Random(13)
    store = TinyStore(data_dir)
    await store.open()
    made: dict[str, Appointment] = {}
    for n in range(300):
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
    await check(store, rnd)
    changes: list[Put | Delete] = []
    for n in rnd.sample(range(300), 120):
        a = made[f"apt_{n}"]
        roll = rnd.random()
        if roll < 0.3:
            changes.append(Delete(Appointment, a.id))
        elif roll < 0.6:
            changes.append(Put(msgspec.structs.replace(a, status=rnd.choice(list(Status)))))
        else:
            moved = a.start + timedelta(minutes=rnd.randrange(-1440, 1440, 10))
            changes.append(Put(msgspec.structs.replace(a, start=moved)))
    await seed(store, changes)
    await check(store, rnd)
    await store.close()
    reopened = TinyStore(data_dir)
    await reopened.open()
    try:
        await check(reopened, rnd)
    finally:
        await reopened.close()
