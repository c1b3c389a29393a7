"""Random op sequences against a plain dict model, across commits and a reopen."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import timedelta
from pathlib import Path

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.seeding import seed
from tests.store.conftest import T0, appt, client
from tlh.domain.models import Appointment, Client
from tlh.store.base import Delete, Op, Put
from tlh.store.tinystore import TinyStore, init_data_dir

ids = st.sampled_from(["x1", "x2", "x3", "x4"])
put_appt = st.builds(
    lambda i, day, minute, dur, who: Put(
        appt(
            i, start=T0 + timedelta(days=day, minutes=minute), duration_min=dur, clinicians=(who,)
        ),
    ),
    ids,
    st.integers(0, 70),
    st.integers(0, 1439),
    st.integers(0, 3000),
    st.sampled_from(["stf_1", "stf_2"]),
)
put_client = st.builds(
    lambda i, email: Put(client(i, email=email)),
    ids,
    st.sampled_from([None, "a@x.test", "b@x.test"]),
)
delete = st.builds(Delete, st.sampled_from([Client, Appointment]), ids)
batches = st.lists(
    st.lists(st.one_of(put_appt, put_client, delete), min_size=1, max_size=5), max_size=8
)


async def _check(store: TinyStore, model: dict[tuple[str, str], object]) -> None:
    for table, kind in (("clients", Client), ("appointments", Appointment)):
        expected = {i: r for (t, i), r in model.items() if t == table}
        assert {r.id: r for r in await store.all(kind)} == expected
    for email in ("a@x.test", "b@x.test"):
        want = sorted(i for (t, i), r in model.items() if t == "clients" and r.email == email)  # type: ignore[attr-defined]
        assert sorted(c.id for c in await store.find(Client, "email", email)) == want  # type: ignore[attr-defined]
    apts = [r for (t, _), r in model.items() if t == "appointments"]
    for day in range(0, 72, 3):
        lo = T0 + timedelta(days=day)
        hi = lo + timedelta(days=1, hours=5)
        for who in (None, "stf_1"):
            want = sorted(
                (
                    a
                    for a in apts
                    if (who is None or who in a.clinician_ids)
                    and (  # type: ignore[attr-defined]
                        lo <= a.start < hi if a.duration_min == 0 else a.start < hi and a.end > lo  # type: ignore[attr-defined]
                    )
                ),
                key=lambda a: (a.start, a.id),  # type: ignore[attr-defined]
            )
            assert await store.appointments_between(lo, hi, who) == want


async def _run(data_dir: Path, seq: list[list[Op]]) -> None:
    model: dict[tuple[str, str], object] = {}
    store = TinyStore(data_dir, checkpoint_ops=3)
    await store.open()
    for ops in seq:
        await seed(store, ops)
        for op in ops:
            if isinstance(op, Put):
                model[(op.table, op.record.id)] = op.record  # type: ignore[attr-defined]
            else:
                model.pop((op.table, op.id), None)
        await _check(store, model)
    await store.close()
    again = TinyStore(data_dir)
    await again.open()
    await _check(again, model)
    await again.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches)
def test_store_matches_dict_model(seq: list[list[Op]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(_run(init_data_dir(Path(tmp) / "p"), seq))


def test_stored_records_are_not_tracked_by_the_cycle_collector() -> None:
    """300,000 appointments would otherwise be walked by every full collection (77 ms
    a pass measured here, against 14 ms untracked). Safe: the records are frozen and
    hold only scalars, strings, tuples and other untracked records, so no cycle can form."""
    import gc

    from tlh.store.base import TABLES

    for table, cls in TABLES.items():
        assert cls.__struct_config__.gc is False, table
        for field in msgspec.structs.fields(cls):
            assert not any(t in str(field.type) for t in ("list[", "dict[", "set[")), (
                f"{table}.{field.name} could hold a cycle"
            )
    appt = Appointment(
        id="a1", clinician_ids=("stf_1",), start=T0, duration_min=50, created_at=T0, updated_at=T0
    )
    assert not gc.is_tracked(appt)


async def test_the_indexes_leave_nothing_for_the_cycle_collector_to_walk(store: TinyStore) -> None:
    """Id sets are tuples: a collection untracks them, where every ``set`` stays walked
    (190,000 of them at 100,000 appointments, a 55 ms pass)."""
    import gc

    await seed(
        store,
        [Put(appt(f"a{i}", external_id=f"e{i}", client_ids=("c1",))) for i in range(50)],
    )
    gc.collect()
    for field_index in store._index["appointments"].values():
        assert not any(gc.is_tracked(ids) for ids in field_index.values())
    assert not any(gc.is_tracked(ids) for ids in store._calendar._by_day.values())
