"""A seeded practice for the service tests, on each backend.

The store is a real ``Repository`` with its real audit log (read back with ``audited``):
``tiny``, the embedded ``TinyStore`` in ``tmp_path``; ``pg``, a ``PgStore`` over a fresh
database of the session's throw-away PostgreSQL (``tests/pgserver.py``). Events are
recorded.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.seeding import seed
from tlh.domain.audience import Audience, Shown
from tlh.domain.models import Policy, Role, Staff
from tlh.services.context import Actor, Context
from tlh.services.csvfile import IMPORT_COLUMNS
from tlh.store.base import Op, Put, Repository
from tlh.store.layout import init_data_dir
from tlh.store.open import store_at

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
TZ = "America/New_York"
ADMIN = Actor(kind="staff", id="stf_admin", role=Role.ADMIN)


def staff(id: str, email: str, role: Role = Role.CLINICIAN, active: bool = True) -> Staff:
    return Staff(
        id=id, email=email, name=id, role=role, active=active, created_at=NOW, updated_at=NOW
    )


SEED: list[Op] = [
    Put(Policy(practice_name="Test practice", timezone=TZ)),
    Put(staff("stf_admin", "admin@example.com", Role.ADMIN)),
    Put(staff("stf_sched", "sched@example.com", Role.SCHEDULER)),
    Put(staff("stf_doc", "doc@example.com")),
    Put(staff("stf_other", "other@example.com")),
    Put(staff("stf_gone", "gone@example.com", active=False)),
]


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


#: The backends every service test runs on.
BACKENDS = ["tiny", "pg"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The store backend of this run of the test (``tiny`` or ``pg``)."""
    return str(request.param)


@pytest.fixture
async def store(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Repository]:
    location: Path | str = (
        init_data_dir(tmp_path / "data")
        if backend == "tiny"
        else str(request.getfixturevalue("pg_url"))
    )
    real = store_at(location)
    await real.open()
    try:
        await seed(real, SEED)
        yield real
    finally:
        await real.close()


@pytest.fixture
def ctx(store: Repository) -> Context:
    return Context(store=store, audit=store.audit, events=RecordingEvents(), clock=lambda: NOW)


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
