"""Factories and a fresh data dir for the store tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tlh.domain.models import Appointment, Client, Status
from tlh.store.tinystore import TinyStore, init_data_dir

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes more than a couple of seconds")


def appt(
    id: str,
    start: datetime = T0,
    duration_min: int = 50,
    clinicians: tuple[str, ...] = ("stf_1",),
    status: Status = Status.SCHEDULED,
    **kw: object,
) -> Appointment:
    """An appointment with sensible defaults."""
    return Appointment(
        id=id,
        clinician_ids=clinicians,
        start=start,
        duration_min=duration_min,
        status=status,
        created_at=T0,
        updated_at=T0,
        **kw,  # type: ignore[arg-type]
    )


def client(id: str, email: str | None = None, external_id: str | None = None) -> Client:
    """A client with sensible defaults."""
    return Client(
        id=id,
        name="Test Person",
        email=email,
        external_id=external_id,
        created_at=T0,
        updated_at=T0,
    )


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A freshly initialised data dir."""
    return init_data_dir(tmp_path / "practice")


@pytest.fixture
async def store(data_dir: Path) -> AsyncIterator[TinyStore]:
    """An open store over ``data_dir``, closed after the test."""
    s = TinyStore(data_dir)
    await s.open()
    yield s
    await s.close()
