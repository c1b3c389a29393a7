"""A seeded practice for the import/export service tests.

The store is the real ``TinyStore`` in ``tmp_path``; the in-memory ``FakeStore``
below (a test double of the ``Repository`` interface) is used only if the TinyDB
store cannot be imported. Audit and events are recording objects.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tlh.domain.audience import Audience, Shown
from tlh.domain.models import Appointment, Policy, Role, Staff
from tlh.services.context import Actor, Context
from tlh.services.csvfile import IMPORT_COLUMNS
from tlh.store.base import INDEXED, POLICY_ID, Op, Put, Repository

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
TZ = "America/New_York"
ADMIN = Actor(kind="staff", id="stf_admin", role=Role.ADMIN)


def staff(id: str, email: str, role: Role = Role.CLINICIAN, active: bool = True) -> Staff:
    return Staff(
        id=id, email=email, name=id, role=role, active=active, created_at=NOW, updated_at=NOW
    )


SEED: list[Op] = [
    Put("policy", Policy(practice_name="Test practice", timezone=TZ)),
    Put("staff", staff("stf_admin", "admin@example.com", Role.ADMIN)),
    Put("staff", staff("stf_sched", "sched@example.com", Role.SCHEDULER)),
    Put("staff", staff("stf_doc", "doc@example.com")),
    Put("staff", staff("stf_other", "other@example.com")),
    Put("staff", staff("stf_gone", "gone@example.com", active=False)),
]


class FakeStore:
    """In-memory ``Repository`` (fallback only): puts and deletes, indexed finds."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[str, msgspec.Struct]] = {}
        self.commits = 0

    def get(self, table: str, id: str) -> msgspec.Struct | None:
        return self.tables.get(table, {}).get(id)

    def all(self, table: str) -> Iterable[msgspec.Struct]:
        return list(self.tables.get(table, {}).values())

    def find(self, table: str, field: str, value: object) -> list[msgspec.Struct]:
        assert field in INDEXED[table]
        return [r for r in self.all(table) if getattr(r, field) == value]

    def appointments_between(
        self, start: datetime, end: datetime, clinician_id: str | None = None
    ) -> list[Appointment]:
        found = [
            a
            for a in self.all("appointments")
            if isinstance(a, Appointment)
            and a.start < end
            and a.end > start
            and (clinician_id is None or clinician_id in a.clinician_ids)
        ]
        return sorted(found, key=lambda a: a.start)

    def count(self, table: str) -> int:
        return len(self.tables.get(table, {}))

    async def commit(self, ops: Sequence[Op]) -> None:
        self.commits += 1
        for op in ops:
            if isinstance(op, Put):
                rid = POLICY_ID if op.table == "policy" else op.record.id  # type: ignore[attr-defined]
                self.tables.setdefault(op.table, {})[rid] = op.record
            else:
                self.tables.get(op.table, {}).pop(op.id, None)

    async def update(
        self, table: str, id: str, change: Callable[[msgspec.Struct | None], msgspec.Struct | None]
    ) -> msgspec.Struct | None:
        # No await between the read and the write: nothing can come in between.
        current = self.get(table, id)
        new = change(current)
        if new is None or new is current:
            return current
        await self.commit([Put(table, new)])
        return new


class RecordingAudit:
    def __init__(self) -> None:
        self.entries: list[tuple[str, str, str]] = []

    async def append(self, actor: Actor, action: str, target: str) -> None:
        self.entries.append((actor.id, action, target))

    async def append_many(self, actor: Actor, action: str, targets: Sequence[str]) -> None:
        self.entries.extend((actor.id, action, t) for t in targets)


class RecordingEvents:
    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, Any]]] = []
        #: Whom each published event was for, and what it showed beyond ids.
        self.sent_to: list[tuple[Audience, Shown | None]] = []

    def publish(
        self, type: str, data: dict[str, Any], audience: Audience, shown: Shown | None = None
    ) -> None:
        self.published.append((type, data))
        self.sent_to.append((audience, shown))


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Repository]:
    try:
        from tlh.store.tinystore import TinyStore, init_data_dir
    except ImportError:  # the TinyDB store not there yet: the in-memory double
        fake = FakeStore()
        await fake.commit(SEED)
        yield fake
        return
    data_dir = init_data_dir(tmp_path / "data")
    real = TinyStore(data_dir)
    await real.open()
    try:
        await real.commit(SEED)
        yield real
    finally:
        await real.close()


@pytest.fixture
def ctx(store: Repository) -> Context:
    return Context(store=store, audit=RecordingAudit(), events=RecordingEvents(), clock=lambda: NOW)


def make_csv(rows: Sequence[dict[str, str]], columns: Sequence[str] = IMPORT_COLUMNS) -> bytes:
    """A CSV file with ``columns`` as header and ``rows`` (missing cells empty)."""
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=list(columns), restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def row(**cells: str) -> dict[str, str]:
    """One import row with sensible defaults (doc@, 50 minutes, client Ada by external id)."""
    base = {
        "clinician_email": "doc@example.com",
        "duration_min": "50",
        "client_external_id": "C1",
        "client_name": "Ada Lovelace",
    }
    base.update(cells)
    return {k: v for k, v in base.items() if v != "-"}
