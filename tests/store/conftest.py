"""Factories and a fresh data dir for the store tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tlh.domain.action_links import ActionLink, LinkAction
from tlh.domain.links import Channel, JoinLink, LinkPurpose, ParticipantKind
from tlh.domain.messages import Message, MessageChannel, MessageKind, MessageStatus
from tlh.domain.models import Appointment, Client, Status
from tlh.domain.sessions import SessionSegment
from tlh.store.backup import restore, write_snapshot
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


def message(
    id: str,
    at: datetime = T0,
    status: MessageStatus = MessageStatus.SENT,
    **kw: object,
) -> Message:
    """A sent reminder email made at ``at``."""
    return Message(
        id=id,
        idempotency_key=f"reminder:{id}",
        kind=MessageKind.REMINDER_24H,
        channel=MessageChannel.EMAIL,
        to="person@example.org",
        subject="Your appointment",
        text="See you soon.",
        status=status,
        next_attempt_at=at,
        created_at=at,
        sent_at=at if status is MessageStatus.SENT else None,
        **kw,  # type: ignore[arg-type]
    )


def link(id: str, at: datetime = T0, **kw: object) -> JoinLink:
    """A client's join link made at ``at``, valid for two hours."""
    return JoinLink(
        id=id,
        token_hash=f"hash-{id}",
        purpose=LinkPurpose.JOIN,
        participant=ParticipantKind.CLIENT,
        channel=Channel.EMAIL,
        created_at=at,
        created_by="system",
        valid_from=at,
        valid_until=at + timedelta(hours=2),
        **kw,  # type: ignore[arg-type]
    )


def action(id: str, at: datetime = T0, appointment_id: str = "apt_1") -> ActionLink:
    """A confirm link made at ``at``, valid for a day."""
    return ActionLink(
        id=id,
        token_hash=f"hash-{id}",
        action=LinkAction.CONFIRM,
        appointment_id=appointment_id,
        client_id="cli_1",
        created_at=at,
        valid_until=at + timedelta(days=1),
    )


def segment(id: str, at: datetime = T0, ended: bool = True, **kw: object) -> SessionSegment:
    """A clinician's session segment started at ``at`` (ended 50 minutes on)."""
    return SessionSegment(
        id=id,
        clinician_id="stf_1",
        started_at=at,
        started_by="stf_1",
        ended_at=at + timedelta(minutes=50) if ended else None,
        **kw,  # type: ignore[arg-type]
    )


async def backup_round_trip(
    make: Callable[[Path], TinyStore],
    source: Path,
    tmp_path: Path,
    answers: Callable[[TinyStore], Awaitable[object]],
) -> TinyStore:
    """Back up the store over ``source`` (opened with ``make``), restore the backup into
    a new dir and open that twice (every month loaded, having no key indexes yet; then
    indexed), each time answering as the store backed up did. The last store (closed)."""
    s = make(source)
    await s.open()
    expected = await answers(s)
    archive = tmp_path / "backup.tar.gz"
    await write_snapshot(s, archive)
    await s.close()
    target = tmp_path / "restored"
    restore(archive, target)
    for _ in range(2):
        again = make(target)
        await again.open()
        try:
            assert await answers(again) == expected
        finally:
            await again.close()
    return again


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
