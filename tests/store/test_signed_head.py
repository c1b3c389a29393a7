"""In an encrypted dir the audit head is signed with a key derived from the data key: a
deleted tail cannot be hidden by rewriting ``head.json`` to match."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tlh.domain.models import Role
from tlh.errors import StoreCorrupt
from tlh.services.context import Actor
from tlh.store.auditlog import AuditLog, verify
from tlh.store.keys import new_data_key
from tlh.store.seal import PLAIN, Codec, Sealer

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
ADMIN = Actor(kind="staff", id="stf_admin", role=Role.ADMIN, source="127.0.0.1")


def _clock() -> Callable[[], datetime]:
    now = [T0]

    def clock() -> datetime:
        now[0] += timedelta(seconds=1)
        return now[0]

    return clock


def _sealer() -> Sealer:
    kid, key = new_data_key()
    return Sealer({kid: key}, kid)


async def _filled(data_dir: Path, n: int, codec: Codec) -> None:
    log = AuditLog(data_dir, clock=_clock())
    log.codec = codec
    await log.start()
    for i in range(1, n + 1):
        await log.append(ADMIN, "client.read", f"cli_{i}")
    await log.close()


def _lines(data_dir: Path) -> list[bytes]:
    return (data_dir / "audit" / "audit.jsonl").read_bytes().splitlines(keepends=True)


def _cut_tail_and_forge_head(data_dir: Path, keep: int) -> None:
    """What someone with the disk but not the key can do: delete the last lines and
    write a head that agrees with the shortened log (copying the old head's fields)."""
    lines = _lines(data_dir)[:keep]
    (data_dir / "audit" / "audit.jsonl").write_bytes(b"".join(lines))
    last = json.loads(lines[-1])
    head_path = data_dir / "audit" / "head.json"
    head = json.loads(head_path.read_bytes())
    head.update(seq=last["seq"], hash=last["hash"])
    if "mac" in head:  # a guess at a MAC: they do not have the key
        head["mac"] = hashlib.sha256(last["hash"].encode()).hexdigest()
    head_path.write_text(json.dumps(head))


async def test_the_head_carries_a_signature_under_the_data_key(tmp_path: Path) -> None:
    sealer = _sealer()
    await _filled(tmp_path, 3, sealer)
    head = json.loads((tmp_path / "audit" / "head.json").read_bytes())
    assert head["key"] == sealer.current.hex()
    assert len(head["mac"]) == 64
    assert verify(tmp_path, codec=sealer).ok


@pytest.mark.parametrize("forge", ["signed-guess", "unsigned", "deleted"])
async def test_verify_detects_a_deleted_tail_behind_a_rewritten_head(
    tmp_path: Path, forge: str
) -> None:
    sealer = _sealer()
    await _filled(tmp_path, 10, sealer)
    _cut_tail_and_forge_head(tmp_path, 7)
    head_path = tmp_path / "audit" / "head.json"
    if forge == "unsigned":
        head = json.loads(head_path.read_bytes())
        head_path.write_text(json.dumps({"seq": head["seq"], "hash": head["hash"]}))
    elif forge == "deleted":
        head_path.unlink()
    result = verify(tmp_path, codec=sealer)
    assert not result.ok
    assert any("head.json" in p.reason for p in result.problems)
    # and the server will not start on it (it would sign the shortened log)
    log = AuditLog(tmp_path)
    log.codec = sealer
    with pytest.raises(StoreCorrupt, match=r"head\.json"):
        await log.start()
    await log.close()


async def test_without_the_signature_a_rewritten_head_hides_the_deletion(
    tmp_path: Path,
) -> None:
    """Why the head is signed: in a --no-encrypt dir the same forgery passes."""
    await _filled(tmp_path, 10, PLAIN)
    _cut_tail_and_forge_head(tmp_path, 7)
    assert verify(tmp_path).ok


async def test_a_head_signed_with_another_key_is_refused(tmp_path: Path) -> None:
    await _filled(tmp_path, 4, _sealer())
    result = verify(tmp_path, codec=_sealer())
    assert [p.reason for p in result.problems] == [
        "head.json is signed with a key this dir does not hold (replaced?): the end is unanchored"
    ]
