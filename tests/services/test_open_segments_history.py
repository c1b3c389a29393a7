"""Finding a clinician's open call does not look into months of ended sessions on disk:
the question is asked for every staff member at start-up and on every room view, and
with years of history it opened every month's key index (and kept them in memory)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import msgspec

from tests.seeding import seed
from tests.services.conftest import NOW, SEED, RecordingEvents
from tests.store.conftest import segment
from tlh.domain.sessions import SessionSegment
from tlh.services import sessions
from tlh.services.context import Context
from tlh.store.base import Put
from tlh.store.layout import init_data_dir
from tlh.store.tinystore import TinyStore


def doctors(sid: str, at: datetime) -> SessionSegment:
    return msgspec.structs.replace(segment(sid, at), clinician_id="stf_doc", started_by="stf_doc")


async def test_open_calls_are_found_without_opening_a_month_of_ended_ones(tmp_path: Path) -> None:
    data_dir = init_data_dir(tmp_path / "practice")
    ended = [doctors(f"ses_{n:03d}", NOW - timedelta(days=30 * n)) for n in range(2, 14)]
    # An open call begun three months ago (a server that died mid-call): its month has
    # a record that has not ended, so it stays in memory.
    stuck = msgspec.structs.replace(doctors("ses_open", NOW - timedelta(days=95)), ended_at=None)
    first = TinyStore(data_dir, hot_months=0, clock=lambda: NOW)
    await first.open()
    await seed(first, [*SEED, *(Put(s) for s in (*ended, stuck))])
    await first.close()

    store = TinyStore(data_dir, hot_months=0, clock=lambda: NOW)
    await store.open()
    try:
        assert len(store.months_on_disk("sessions")) >= 10
        ctx = Context(store=store, audit=store.audit, events=RecordingEvents(), clock=lambda: NOW)
        assert [s.id for s in await sessions.open_segments_of(ctx, "stf_doc")] == ["ses_open"]
        assert await sessions.open_segments_of(ctx, "stf_nobody") == []
        assert store.months_indexed("sessions") == []
    finally:
        await store.close()
