"""A commit of many records indexes them together: what the store answers after it is
what a store that read the same records from disk (and indexed them one by one) answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.store.conftest import appt
from tlh.domain.models import Appointment, Kind, Status
from tlh.services.context import SYSTEM
from tlh.store.base import Delete, Put, note, op_id
from tlh.store.tinystore import TinyStore

DAY = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


async def answers(s: TinyStore) -> list[object]:
    week = (DAY - timedelta(days=1), DAY + timedelta(days=8))
    return [
        [a.id for a in await s.appointments_between(*week)],
        [a.id for a in await s.appointments_between(*week, clinician_id="stf_1")],
        [a.id for a in await s.appointments_between(*week, clinician_id="stf_2")],
        await s.busy_between(*week, clinician_id="stf_1"),
        await s.busy_between(*week, clinician_id="stf_2"),
        [a.id for a in await s.find(Appointment, "client_ids", "cli_1")],
        [a.id for a in await s.find(Appointment, "series_id", "ser_1")],
        {
            v: [a.id for a in found]
            for v, found in (
                await s.find_many(Appointment, "external_id", ["e-0", "e-1", "e-7", "e-x"])
            ).items()
        },
    ]


async def test_a_bulk_commit_answers_as_the_same_records_read_from_disk(
    store: TinyStore, data_dir: Path
) -> None:
    first = [
        appt(f"apt_{n}", start=DAY + timedelta(hours=n % 10, days=n // 10), external_id=f"e-{n}")
        for n in range(40)
    ]
    # Holds the very span the first version of apt_n3 below holds (busy spans carry no id).
    first.append(appt("apt_twin", start=DAY + timedelta(minutes=90), clinicians=("stf_1", "stf_2")))
    await store.commit(
        [Put(a) for a in first], audit=[note(SYSTEM, "t.put", *(a.id for a in first))]
    )
    moved = appt("apt_1", start=DAY + timedelta(days=3), clinicians=("stf_2",), external_id="e-1")
    ops = [
        # Many new records on the same days and clinicians (one key each holds many ids)...
        *(
            Put(
                appt(
                    f"apt_n{n}",
                    start=DAY + timedelta(minutes=30 * n),
                    clinicians=("stf_1", "stf_2") if n % 3 == 0 else ("stf_1",),
                    client_ids=("cli_1",),
                    series_id="ser_1" if n % 2 else None,
                    external_id=f"n-{n}",
                    kind=Kind.VACATION if n == 5 else Kind.APPOINTMENT,
                    duration_min=3000 if n == 5 else 50,
                    status=Status.CANCELLED if n == 7 else Status.SCHEDULED,
                )
            )
            for n in range(30)
        ),
        # ...a stored one moved to another day and clinician, another deleted...
        Put(moved),
        Delete(Appointment, "apt_2"),
        # ...and one written twice in the same commit: the second version stands.
        Put(appt("apt_n3", start=DAY + timedelta(days=5), external_id="e-7")),
    ]
    await store.commit(ops, audit=[note(SYSTEM, "t.put", *{op_id(op) for op in ops})])
    now = await answers(store)
    assert "apt_n3" in now[0]
    assert "apt_1" in now[2]
    assert "apt_2" not in now[0]
    assert now[-1]["e-7"] == ["apt_7", "apt_n3"]
    twin = int((DAY + timedelta(minutes=90)).timestamp())
    assert (twin, twin + 50 * 60) in now[3]  # apt_n3's first version took only its own
    await store.close()
    again = TinyStore(data_dir)
    await again.open()
    try:
        assert await answers(again) == now
    finally:
        await again.close()
