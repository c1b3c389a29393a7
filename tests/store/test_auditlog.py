"""The audit log: chained, durable group commits, tamper evidence, torn-tail recovery."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import json
import os
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tlh.domain.models import Role
from tlh.errors import InvalidInput, StoreCorrupt, StoreError
from tlh.services.context import SYSTEM, Actor, AuditSink
from tlh.store import auditlog
from tlh.store.auditlog import ZERO_HASH, AuditLog, verify

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
ADMIN = Actor(kind="staff", id="stf_admin", role=Role.ADMIN, source="127.0.0.1")


def ticking_clock(step: timedelta = timedelta(seconds=1)) -> Callable[[], datetime]:
    """A clock that moves ``step`` on every reading, from T0."""
    now = [T0 - step]

    def clock() -> datetime:
        now[0] += step
        return now[0]

    return clock


@pytest.fixture
async def audit(tmp_path: Path) -> AsyncIterator[AuditLog]:
    log = AuditLog(tmp_path, clock=ticking_clock())
    await log.start()
    try:
        yield log
    finally:
        await log.close()


def lines_of(data_dir: Path) -> list[bytes]:
    return (data_dir / "audit" / "audit.jsonl").read_bytes().splitlines(keepends=True)


def write_lines(data_dir: Path, lines: list[bytes]) -> None:
    (data_dir / "audit" / "audit.jsonl").write_bytes(b"".join(lines))


async def filled(data_dir: Path, n: int) -> None:
    """A closed log of ``n`` entries (targets cli_1..cli_n)."""
    log = AuditLog(data_dir, clock=ticking_clock())
    await log.start()
    for i in range(1, n + 1):
        await log.append(ADMIN, "client.read", f"cli_{i}")
    await log.close()


def test_the_log_is_an_audit_sink(tmp_path: Path) -> None:
    sink: AuditSink = AuditLog(tmp_path)  # mypy checks the structural fit
    assert hasattr(sink, "append_many")


async def test_a_line_holds_ids_only_in_a_fixed_schema(audit: AuditLog, tmp_path: Path) -> None:
    await audit.append(ADMIN, "client.read", "cli_x")
    (line,) = [json.loads(raw) for raw in lines_of(tmp_path)]
    assert list(line) == ["seq", "at", "actor", "source", "action", "target", "prev", "hash"]
    assert line["actor"] == {"kind": "staff", "id": "stf_admin", "role": "admin"}
    assert line["at"] == "2026-03-10T09:00:00.000000Z"
    assert (line["seq"], line["source"], line["action"], line["target"]) == (
        1,
        "127.0.0.1",
        "client.read",
        "cli_x",
    )
    assert line["prev"] == ZERO_HASH


async def test_the_hash_can_be_checked_without_tlh(audit: AuditLog, tmp_path: Path) -> None:
    await audit.append_many(SYSTEM, "practice.init", ["stf_1", "practice"])
    prev = ZERO_HASH
    for raw in lines_of(tmp_path):
        entry = json.loads(raw)
        stored = entry.pop("hash")
        canonical = json.dumps(entry, sort_keys=True, separators=(",", ":"))
        assert entry["prev"] == prev
        assert hashlib.sha256((prev + canonical).encode()).hexdigest() == stored
        prev = stored


@pytest.mark.parametrize(
    ("action", "target"),
    [
        ("client.read", "ann@example.org"),
        ("client.read", "Ann Smith"),
        ("client.read", "+15551234567"),
        ("client.read", ""),
        ("Read Ann Smith's file", "cli_1"),
    ],
)
async def test_free_text_is_refused_and_not_echoed(
    audit: AuditLog, tmp_path: Path, action: str, target: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        await audit.append_many(ADMIN, action, ["cli_ok", target])
    assert "Ann" not in str(err.value)
    assert "example" not in str(err.value)
    assert "555" not in str(err.value)
    assert lines_of(tmp_path) == []


async def test_an_actor_named_by_email_is_refused(audit: AuditLog) -> None:
    with pytest.raises(InvalidInput):
        await audit.append(Actor(kind="staff", id="ann@example.org"), "client.read", "cli_1")


async def test_the_chain_continues_across_restarts(tmp_path: Path) -> None:
    await filled(tmp_path, 3)
    await filled(tmp_path, 2)
    entries = [json.loads(raw) for raw in lines_of(tmp_path)]
    assert [e["seq"] for e in entries] == [1, 2, 3, 4, 5]
    assert entries[3]["prev"] == entries[2]["hash"]
    head = json.loads((tmp_path / "audit" / "head.json").read_bytes())
    assert head == {"seq": 5, "hash": entries[4]["hash"]}
    assert verify(tmp_path) == auditlog.VerifyResult(ok=True, entries=5, problems=[])


async def test_concurrent_appends_share_few_fsyncs(audit: AuditLog, tmp_path: Path) -> None:
    await asyncio.gather(*(audit.append(ADMIN, "client.read", f"cli_{i}") for i in range(200)))
    entries = [json.loads(raw) for raw in lines_of(tmp_path)]
    assert [e["seq"] for e in entries] == list(range(1, 201))
    assert sorted(e["target"] for e in entries) == sorted(f"cli_{i}" for i in range(200))
    assert 1 <= audit.batches_written <= 3
    assert verify(tmp_path).ok


async def test_append_many_is_one_batch(audit: AuditLog, tmp_path: Path) -> None:
    await audit.append(ADMIN, "client.create", "cli_0")
    await audit.append_many(ADMIN, "client.read", [f"cli_{i}" for i in range(1, 51)])
    assert audit.batches_written == 2
    assert len(lines_of(tmp_path)) == 51


async def test_close_writes_everything_queued(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)
    await log.start()
    appends = [log.append(ADMIN, "client.read", f"cli_{i}") for i in range(20)]
    await asyncio.gather(*appends, log.close())
    assert len(lines_of(tmp_path)) == 20
    with pytest.raises(StoreError):
        await log.append(ADMIN, "client.read", "cli_late")


async def test_a_failed_write_fails_its_callers_and_keeps_the_chain(
    audit: AuditLog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await audit.append(ADMIN, "client.read", "cli_1")
    real_write = os.write

    def full_disk(fd: int, data: bytes) -> int:
        real_write(fd, bytes(data)[:10])  # a partial write, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full_disk)
    with pytest.raises(StoreError):
        await audit.append(ADMIN, "client.read", "cli_2")
    monkeypatch.undo()
    await audit.append(ADMIN, "client.read", "cli_3")
    assert [json.loads(raw)["seq"] for raw in lines_of(tmp_path)] == [1, 2]
    assert verify(tmp_path).ok


async def test_verify_names_an_edited_line(tmp_path: Path) -> None:
    await filled(tmp_path, 20)
    lines = lines_of(tmp_path)
    lines[11] = lines[11].replace(b"cli_12", b"cli_99")
    write_lines(tmp_path, lines)
    result = verify(tmp_path)
    assert not result.ok
    assert [(p.line, p.reason) for p in result.problems] == [
        (12, "hash does not match its contents (edited?)")
    ]


async def test_verify_names_a_line_rewritten_with_a_fresh_hash(tmp_path: Path) -> None:
    await filled(tmp_path, 5)
    lines = lines_of(tmp_path)
    entry = json.loads(lines[2])
    entry["target"] = "cli_other"
    del entry["hash"]
    canonical = json.dumps(entry, sort_keys=True, separators=(",", ":"))
    entry["hash"] = hashlib.sha256((entry["prev"] + canonical).encode()).hexdigest()
    lines[2] = json.dumps(entry, separators=(",", ":")).encode() + b"\n"
    write_lines(tmp_path, lines)
    problems = verify(tmp_path).problems
    assert [p.line for p in problems] == [4]
    assert "prev does not match" in problems[0].reason


async def test_verify_names_a_deleted_middle_line(tmp_path: Path) -> None:
    await filled(tmp_path, 20)
    lines = lines_of(tmp_path)
    del lines[11]
    write_lines(tmp_path, lines)
    problems = verify(tmp_path).problems
    assert [(p.line, p.reason) for p in problems] == [
        (12, "seq 13 follows 11 (a line was deleted)")
    ]


async def test_verify_names_a_deleted_first_line(tmp_path: Path) -> None:
    await filled(tmp_path, 3)
    write_lines(tmp_path, lines_of(tmp_path)[1:])
    problems = verify(tmp_path).problems
    assert [(p.line, p.reason) for p in problems] == [
        (1, "the log starts at seq 2, not 1 (lines deleted at the start)")
    ]


async def test_verify_names_a_deleted_tail_against_the_head(tmp_path: Path) -> None:
    await filled(tmp_path, 42)
    write_lines(tmp_path, lines_of(tmp_path)[:40])
    problems = verify(tmp_path).problems
    assert [(p.line, p.reason) for p in problems] == [
        (41, "the log ends at seq 40 but the head says 42 (lines deleted at the end)")
    ]


async def test_verify_names_a_malformed_line_and_resynchronises(tmp_path: Path) -> None:
    await filled(tmp_path, 5)
    lines = lines_of(tmp_path)
    lines[1] = b'{"seq": 2, "oops"\n'
    lines[3] = lines[3].replace(b'"source"', b'"name":"Ann","source"')
    write_lines(tmp_path, lines)
    problems = verify(tmp_path).problems
    assert [p.line for p in problems] == [2, 4]
    assert problems[0].reason == "not a valid audit entry (malformed JSON)"
    assert "unknown field" in problems[1].reason
    assert "Ann" not in problems[1].reason


async def test_verify_wants_the_head(tmp_path: Path) -> None:
    await filled(tmp_path, 2)
    (tmp_path / "audit" / "head.json").unlink()
    assert [p.line for p in verify(tmp_path).problems] == [2]


def test_verify_of_an_empty_data_dir_is_ok(tmp_path: Path) -> None:
    assert verify(tmp_path) == auditlog.VerifyResult(ok=True, entries=0, problems=[])


async def test_verify_accepts_the_log_file_itself(tmp_path: Path) -> None:
    await filled(tmp_path, 2)
    assert verify(tmp_path / "audit" / "audit.jsonl").entries == 2


async def test_a_torn_tail_is_dropped_on_start(tmp_path: Path) -> None:
    await filled(tmp_path, 3)
    intact = lines_of(tmp_path)
    write_lines(tmp_path, [*intact, b'{"seq":4,"at":"2026-03-'])
    assert verify(tmp_path).ok  # an unfinished last line is not (yet) an entry
    log = AuditLog(tmp_path)
    await log.start()
    try:
        assert lines_of(tmp_path) == intact
        await log.append(ADMIN, "client.read", "cli_4")
    finally:
        await log.close()
    assert [json.loads(raw)["seq"] for raw in lines_of(tmp_path)] == [1, 2, 3, 4]
    assert verify(tmp_path).ok


async def test_a_torn_first_line_leaves_an_empty_log(tmp_path: Path) -> None:
    (tmp_path / "audit").mkdir()
    write_lines(tmp_path, [b'{"seq":1,"at'])
    log = AuditLog(tmp_path)
    await log.start()
    await log.append(SYSTEM, "practice.init", "practice")
    await log.close()
    assert json.loads(lines_of(tmp_path)[0])["seq"] == 1
    assert verify(tmp_path).ok


async def test_start_refuses_a_log_whose_tail_was_deleted(tmp_path: Path) -> None:
    await filled(tmp_path, 5)
    write_lines(tmp_path, lines_of(tmp_path)[:3])
    log = AuditLog(tmp_path)
    with pytest.raises(StoreCorrupt, match="ends at seq 3"):
        await log.start()
    await log.close()


async def test_read_pages_by_time(audit: AuditLog) -> None:
    await audit.append_many(ADMIN, "client.read", [f"cli_{i}" for i in range(10)])
    for i in range(10):
        await audit.append(ADMIN, "client.update", f"cli_{i}")
    recent = await audit.read(limit=3)
    assert [e["seq"] for e in recent] == [18, 19, 20]
    since = datetime.fromisoformat((await audit.read(limit=20))[12]["at"])
    page = await audit.read(since=since, limit=4)
    assert [e["seq"] for e in page] == [13, 14, 15, 16]
    assert len(await audit.read()) == 20
    assert await audit.read(limit=0) == []
    exported = b"".join([chunk async for chunk in audit.export()])
    assert exported == audit.path.read_bytes()
    assert exported.count(b"\n") == 20


async def test_a_crashed_writer_fails_its_callers_instead_of_hanging(
    audit: AuditLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    def bug(*_: object) -> str:
        raise RuntimeError("a bug in the writer")

    monkeypatch.setattr(auditlog, "entry_hash", bug)
    with pytest.raises(StoreError, match="stopped"):
        await asyncio.wait_for(audit.append(ADMIN, "client.read", "cli_1"), timeout=5)
    with pytest.raises(StoreError, match="not open"):
        await audit.append(ADMIN, "client.read", "cli_2")


async def test_the_head_catches_up_once_appends_go_quiet_without_a_close(tmp_path: Path) -> None:
    log = AuditLog(tmp_path, clock=ticking_clock())
    await log.start()
    try:
        for i in range(1, 31):  # faster than HEAD_EVERY_S: the head lags meanwhile
            await log.append(ADMIN, "client.read", f"cli_{i}")
        head = tmp_path / "audit" / auditlog.HEAD_NAME
        deadline = asyncio.get_running_loop().time() + 5 * auditlog.HEAD_EVERY_S + 2
        while json.loads(head.read_bytes())["seq"] != 30:
            assert asyncio.get_running_loop().time() < deadline, "the head never caught up"
            await asyncio.sleep(0.01)  # polling a file the writer task updates
        assert verify(tmp_path).ok
    finally:
        await log.close()


async def test_a_lagging_head_is_still_an_anchor_and_close_moves_it_to_the_end(
    tmp_path: Path,
) -> None:
    await filled(tmp_path, 12)
    head = json.loads((tmp_path / "audit" / auditlog.HEAD_NAME).read_bytes())
    assert head["seq"] == 12
    write_lines(tmp_path, lines_of(tmp_path)[:11])
    assert [p.reason for p in verify(tmp_path).problems] == [
        "the log ends at seq 11 but the head says 12 (lines deleted at the end)"
    ]
