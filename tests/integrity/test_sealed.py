"""An encrypted practice as users run it: ``tlh init``, ``tlh serve``, ``tlh backup``,
``tlh restore`` and ``tlh key rotate`` as child processes on real files.

Nothing a client told the practice is readable in the data dir or a backup; a wrong or
missing key stops ``tlh serve`` with one line and writes nothing; a damaged sealed file
is named and left alone; a kill -9 at any point of a key rotation leaves a dir that
opens; a full disk during a sealed write loses nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tlh.domain.consent import ConsentDecision, ConsentRecord
from tlh.domain.models import Client
from tlh.services.bootstrap import local_context
from tlh.services.context import SYSTEM
from tlh.store.base import Put, note
from tlh.store.keys import KeySource, read_keyring
from tlh.store.tinystore import TinyStore

from .conftest import Api, Served
from .conftest import serve as serve_practice
from .test_storage_failures import _namespaces_or_skip, _serve_on_small_disk

NAME = "Ottoline Brackenwhistle"
EMAIL = "ottoline.brackenwhistle@example.org"
PHONE = "+12025550143"
DOB = "1958-02-27"
SIGNATURE = "iVBORw0KGgoSIGNATUREottolineZZ9"
NEEDLES = [NAME, "Brackenwhistle", EMAIL, PHONE, "2025550143", DOB, SIGNATURE]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TLH_")}
    return {**env, "TLH_CONFIG": str(tmp_path / "cfg" / "config.toml"), **extra}


def _tlh(tmp_path: Path, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tlh", *argv],
        capture_output=True, text=True, env=_env(tmp_path, **env), timeout=120,
    )  # fmt: skip


def _init(tmp_path: Path) -> tuple[Path, str, Path]:
    """``tlh --json init`` of an encrypted practice: (data dir, token, key file)."""
    data_dir = tmp_path / "data"
    done = _tlh(
        tmp_path, "--json", "init", "--practice", "Sealed Practice", "--tz", "UTC",
        "--admin", "admin@example.org", "--data-dir", str(data_dir),
        "--public-url", "http://127.0.0.1:9",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    said = json.loads(done.stdout)
    assert said["encrypted"] is True
    return data_dir, said["token"], Path(said["key_file"])


def _digest(root: Path) -> dict[str, tuple[str, int]]:
    return {
        p.relative_to(root).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }  # fmt: skip


def _hits(*roots: Path) -> list[str]:
    found = []
    for root in roots:
        paths = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
        for path in paths:
            data = path.read_bytes()
            found += [f"{path}: {n}" for n in NEEDLES if n.encode() in data]
    return found


def _serve_refuses(tmp_path: Path, data_dir: Path, *argv: str, **env: str) -> str:
    done = _tlh(tmp_path, "serve", "--data-dir", str(data_dir), "--port", "0", *argv, **env)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    return errors[0]


async def _seed_over_api(served: Served) -> str:
    async with aiohttp.ClientSession() as session:
        api = Api(served, session)
        status, body = await api.call(
            "POST", "/api/v1/clients", {"name": NAME, "email": EMAIL, "phone": PHONE, "dob": DOB}
        )
        assert status == 201, body
        return str(body["id"])


def test_nothing_a_client_told_the_practice_is_readable_at_rest(tmp_path: Path) -> None:
    data_dir, token, key_file = _init(tmp_path)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert data_dir not in key_file.parents
    served_env = {"TLH_KEY_DIR": str(key_file.parent)}
    os.environ.update(served_env)  # the serve helper passes its environment on
    try:
        with serve_practice(data_dir, token) as served:
            cid = asyncio.run(_seed_over_api(served))
        # A consent signature, written by the store as the consent page writes one.
        asyncio.run(_sign_consent(data_dir, cid, KeySource(key_file=key_file)))
        with serve_practice(data_dir, token) as served:
            backup = tmp_path / "backup.tlh"
            done = _tlh(tmp_path, "--url", served.url, "--token", token, "backup", str(backup))
            assert done.returncode == 0, done.stderr
    finally:
        for key in served_env:
            os.environ.pop(key, None)
    assert _hits(data_dir, backup) == []
    # ... and the records are all there for whoever holds the key.
    restored = tmp_path / "restored"
    done = _tlh(tmp_path, "restore", str(backup), "--data-dir", str(restored))
    assert done.returncode == 0, done.stderr
    assert _hits(restored) == []
    assert asyncio.run(_client_names(restored, KeySource(key_file=key_file))) == [NAME]


async def _sign_consent(data_dir: Path, client_id: str, keys: KeySource) -> None:
    async with local_context(data_dir, keys) as ctx:
        now = ctx.clock()
        record = ConsentRecord(
            id="cns_sealed", client_id=client_id, form_hash="0" * 64,
            decision=ConsentDecision.ACCEPTED, at=now, signed_name=NAME,
            signature_png=SIGNATURE,
        )  # fmt: skip
        await ctx.store.commit([Put(record)], audit=[note(SYSTEM, "consent.record", record.id)])


async def _client_names(data_dir: Path, keys: KeySource) -> list[str]:
    store = TinyStore(data_dir, keys=keys)
    await store.open()
    try:
        return [c.name for c in await store.all(Client)]  # type: ignore[attr-defined]
    finally:
        await store.close()


def test_a_wrong_or_missing_key_stops_serve_with_one_line_and_writes_nothing(
    tmp_path: Path,
) -> None:
    data_dir, _, _ = _init(tmp_path)
    before = _digest(data_dir)
    line = _serve_refuses(tmp_path, data_dir, TLH_KEY_DIR=str(tmp_path / "nowhere"))
    assert "is encrypted and no key was given" in line
    assert str(tmp_path / "nowhere") in line  # where it looked
    other = _init(tmp_path / "other")[2]  # another practice's key file
    line = _serve_refuses(tmp_path, data_dir, "--key-file", str(other))
    assert f"key file {other} does not unlock data dir {data_dir}" in line
    line = _serve_refuses(tmp_path, data_dir, TLH_KEY_FILE=str(tmp_path / "gone.key"))
    assert f"key file {tmp_path / 'gone.key'} does not exist" in line
    line = _serve_refuses(
        tmp_path, data_dir, TLH_KEY_DIR=str(tmp_path / "nowhere"), TLH_PASSPHRASE="guessing"
    )
    assert "TLH_PASSPHRASE does not unlock" in line
    assert _digest(data_dir) == before


def test_a_wrong_passphrase_and_the_right_one(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    phrase = "a long practice passphrase"
    done = _tlh(
        tmp_path, "--json", "init", "--practice", "P", "--tz", "UTC", "--admin",
        "a@example.org", "--data-dir", str(data_dir), "--public-url", "http://127.0.0.1:9",
        "--passphrase", TLH_PASSPHRASE=phrase,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["key_file"] is None
    before = _digest(data_dir)
    line = _serve_refuses(tmp_path, data_dir, TLH_PASSPHRASE=phrase + "!")
    assert line == f"error: TLH_PASSPHRASE does not unlock data dir {data_dir} (wrong passphrase)"
    assert _digest(data_dir) == before
    assert asyncio.run(_client_names(data_dir, KeySource(passphrase=phrase))) == []


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_a_damaged_sealed_file_stops_serve_naming_it(tmp_path: Path, damage: str) -> None:
    data_dir, _, key_file = _init(tmp_path)
    path = data_dir / "db" / "staff.json"
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[40] ^= 0x10
    else:
        data = data[:30]
    path.write_bytes(bytes(data))
    before = _digest(data_dir)
    line = _serve_refuses(tmp_path, data_dir, "--key-file", str(key_file))
    assert f"{path} is corrupt" in line
    assert "tlh restore" in line
    assert _digest(data_dir)["db/staff.json"] == before["db/staff.json"]


def test_a_backup_restored_with_the_wrong_key_is_a_clear_error(tmp_path: Path) -> None:
    data_dir, token, key_file = _init(tmp_path)
    os.environ["TLH_KEY_DIR"] = str(key_file.parent)
    try:
        with serve_practice(data_dir, token) as served:
            backup = tmp_path / "backup.tlh"
            done = _tlh(tmp_path, "--url", served.url, "--token", token, "backup", str(backup))
            assert done.returncode == 0, done.stderr
    finally:
        os.environ.pop("TLH_KEY_DIR")
    other = _init(tmp_path / "other")[2]
    target = tmp_path / "target"
    done = _tlh(
        tmp_path, "restore", str(backup), "--data-dir", str(target), "--key-file", str(other)
    )
    assert done.returncode == 6
    assert done.stderr.splitlines() == [
        f"error: key file {other} does not unlock backup {backup} (a key file of another"
        " practice, or one replaced by `tlh key rotate`)"
    ]
    assert not (target / "db").exists()


def test_audit_verify_detects_a_deleted_tail_behind_a_rewritten_head(tmp_path: Path) -> None:
    data_dir, token, key_file = _init(tmp_path)
    os.environ["TLH_KEY_DIR"] = str(key_file.parent)
    try:
        with serve_practice(data_dir, token) as served:
            for n in range(4):
                asyncio.run(_add(served, f"Tail Person {n}"))
            log = data_dir / "audit" / "audit.jsonl"
            head_path = data_dir / "audit" / "head.json"
            deadline = time.monotonic() + 10
            while json.loads(head_path.read_bytes())["seq"] != len(log.read_bytes().splitlines()):
                assert time.monotonic() < deadline, "the head never caught up"
                time.sleep(0.05)  # the head trails the log by up to HEAD_EVERY_S
            lines = log.read_bytes().splitlines(keepends=True)[:-2]
            log.write_bytes(b"".join(lines))
            last = json.loads(lines[-1])
            head = json.loads(head_path.read_bytes())
            head.update(seq=last["seq"], hash=last["hash"])
            head_path.write_text(json.dumps(head))
            done = _tlh(tmp_path, "--url", served.url, "--token", token, "audit", "verify")
    finally:
        os.environ.pop("TLH_KEY_DIR")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "head.json's signature does not match" in done.stdout + done.stderr


async def _add(served: Served, name: str) -> None:
    async with aiohttp.ClientSession() as session:
        status, body = await Api(served, session).call("POST", "/api/v1/clients", {"name": name})
        assert status == 201, body


KILLS = int(os.environ.get("TLH_ROTATE_KILLS", "100"))


def test_kill_9_anywhere_in_a_reencrypting_rotation_leaves_a_dir_that_opens(
    tmp_path: Path,
) -> None:
    data_dir, _, key_file = _init(tmp_path)
    keys = KeySource(key_dir=key_file.parent)
    expected = asyncio.run(_fill(data_dir, keys))
    argv = [
        sys.executable,
        "-m",
        "tlh",
        "key",
        "rotate",
        "--reencrypt",
        "--data-dir",
        str(data_dir),
    ]
    env = _env(tmp_path, TLH_KEY_DIR=str(key_file.parent))
    started = time.monotonic()
    subprocess.run(argv, env=env, check=True, capture_output=True, timeout=120)
    whole = time.monotonic() - started
    rng = random.Random(12)
    mid_rotation = 0
    for n in range(KILLS):
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            proc.wait(timeout=rng.uniform(0.3 * whole, 1.1 * whole))
        except subprocess.TimeoutExpired:
            proc.kill()
        proc.wait()
        ring = read_keyring(data_dir)
        assert ring is not None
        if len({w.key_id for w in ring.wraps}) > 1 or len({w.kek_id for w in ring.wraps}) > 1:
            mid_rotation += 1
        got = asyncio.run(_client_ids(data_dir, keys))
        assert got == expected, f"kill {n}: the dir opened with different records"
    assert mid_rotation >= KILLS // 10, f"only {mid_rotation} kills landed inside a rotation"


async def _fill(data_dir: Path, keys: KeySource) -> set[str]:
    """Records spread over many files (24 appointment months) and the journal."""
    from tests.store.conftest import appt, client

    async with local_context(data_dir, keys) as ctx:
        from datetime import UTC, datetime

        ops: list[Any] = []
        for m in range(24):
            start = datetime(2025 + m // 12, m % 12 + 1, 3, 9, tzinfo=UTC)
            ops += [Put(appt(f"apt_{m}", start=start))]
            ops += [Put(client(f"cli_{m}"))]
        await ctx.store.commit(ops, audit=[note(SYSTEM, "test.seed", *(o.record.id for o in ops))])
        await ctx.store.checkpoint()  # type: ignore[attr-defined]
        late = client("cli_late")
        await ctx.store.commit([Put(late)], audit=[note(SYSTEM, "test.seed", late.id)])
        return {f"cli_{m}" for m in range(24)} | {"cli_late"}


async def _client_ids(data_dir: Path, keys: KeySource) -> set[str]:
    store = TinyStore(data_dir, keys=keys)
    await store.open()
    try:
        return {c.id for c in await store.all(Client)}  # type: ignore[attr-defined]
    finally:
        store._journal.close()  # no checkpoint: leave the dir as the kill left it
        store._dir_lock.release()
        await store.audit.close()


async def test_a_full_disk_during_sealed_writes_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _namespaces_or_skip()
    source, token, key_file = _init(tmp_path / "source")
    monkeypatch.setenv("TLH_KEY_DIR", str(key_file.parent))
    with _serve_on_small_disk(source, token, tmp_path) as (served, filler):
        async with aiohttp.ClientSession() as session:
            api = Api(served, session)
            stored: list[str] = []
            answer: tuple[int, Any] = (0, {})
            for n in range(4000):
                answer = await api.call("POST", "/api/v1/clients", {"name": f"Sealed Full {n}"})
                if answer[0] != 201:
                    break
                stored.append(str(answer[1]["id"]))
            assert answer[0] == 507, answer
            assert len(stored) > 5
            filler.unlink()
            for cid in stored:
                status, body = await api.call("GET", f"/api/v1/clients/{cid}")
                assert status == 200, body
            _, verdict = await api.call("GET", "/api/v1/audit/verify")
            assert verdict["ok"], verdict["problems"]
        log = served.log_text()
    assert "Traceback" not in log
    assert "Sealed Full" not in log
