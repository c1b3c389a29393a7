"""``tlh key`` on a practice whose store is PostgreSQL: its keyring is in the database
(``tlh_meta``), so the commands rotate and extend it there, as the data-dir commands do
in ``keys.json``. Checked as a practice runs them: ``tlh key ... --data-dir`` on the dir
whose tlh.toml names the database; the keyring then read back from the database."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.ops.running import serving, tlh_run
from tests.seeding import seed
from tests.store.pg.practice import init_on
from tests.store.pg.support import query
from tlh.domain.models import Client
from tlh.errors import StoreKeyError
from tlh.services.bootstrap import local_context
from tlh.store.base import Put
from tlh.store.keys import Keyring, KeySource, new_kek, unlock, write_key_file
from tlh.store.open import keyring_at
from tlh.store.pg import keyring, rekey
from tlh.store.pg.db import Database


def ring_of(url: str) -> Keyring:
    ring = asyncio.run(keyring_at(url))
    assert ring is not None
    return ring


def opens(ring: Keyring, source: KeySource) -> bool:
    try:
        return unlock(Path("."), source, ring=ring, what="the test database") is not None
    except StoreKeyError:
        return False


def test_a_rotation_moves_the_database_to_a_new_key_file(tmp_path: Path, pg_url: str) -> None:
    data_dir, _, key_file = init_on(tmp_path, pg_url)
    before = ring_of(pg_url)
    new_file = tmp_path / "new.key"
    done = tlh_run(
        "--json", "key", "rotate", "--data-dir", str(data_dir), "--key-file", str(key_file),
        "--new-key-file", str(new_file),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["key_file"] == str(new_file)
    after = ring_of(pg_url)
    assert after.current == before.current  # the data key is the same: servers keep on
    assert opens(after, KeySource(key_file=new_file))
    assert not opens(after, KeySource(key_file=key_file))


def test_a_recovery_code_opens_the_database(tmp_path: Path, pg_url: str) -> None:
    data_dir, _, key_file = init_on(tmp_path, pg_url)
    done = tlh_run(
        "--json", "key", "export-recovery", "--data-dir", str(data_dir),
        "--key-file", str(key_file),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    code = json.loads(done.stdout)["recovery_code"]
    ring = ring_of(pg_url)
    assert opens(ring, KeySource(passphrase=code))
    assert opens(ring, KeySource(key_file=key_file))  # the key file still does


EMAIL = "ana.rekey@example.org"


def add_clients(url: str, key_file: Path, n: int) -> list[str]:
    """``n`` clients with an email each (an index value kept as a keyed digest)."""

    async def go() -> list[str]:
        async with local_context(url, keys=KeySource(key_file=key_file)) as ctx:
            now = datetime.now(UTC)
            made = [
                Client(
                    id=f"cli_{k:04d}", name=f"Person {k}", created_at=now, updated_at=now,
                    email=EMAIL if k == 0 else f"p{k}@example.org", external_id=f"ext-{k}",
                )
                for k in range(n)
            ]  # fmt: skip
            await seed(ctx.store, [Put(c) for c in made])
            return [c.id for c in made]

    return asyncio.run(go())


def key_ids(url: str) -> set[str]:
    """The ids of the data keys the database's records are sealed under."""
    # The seal's header: 4 bytes of magic, 1 of format, then the 8-byte key id.
    rows = asyncio.run(query(url, "SELECT DISTINCT substring(doc from 6 for 8) FROM tlh_records"))
    return {bytes(r[0]).hex() for r in rows}


def found_and_verified(url: str, key_file: Path) -> tuple[list[str], bool]:
    """The ids of the clients found by ``EMAIL``, and whether the audit log verifies."""

    async def go() -> tuple[list[str], bool]:
        async with local_context(url, keys=KeySource(key_file=key_file)) as ctx:
            found = await ctx.store.find(Client, "email", EMAIL)
            return [c.id for c in found], (await ctx.store.audit.verify()).ok

    return asyncio.run(go())


def test_reencrypt_seals_every_record_under_a_new_data_key(tmp_path: Path, pg_url: str) -> None:
    data_dir, _, key_file = init_on(tmp_path, pg_url)
    add_clients(pg_url, key_file, 30)
    before = ring_of(pg_url)
    assert key_ids(pg_url) == {before.current}
    old_key = key_file.read_bytes()
    done = tlh_run(
        "--json", "key", "rotate", "--reencrypt", "--data-dir", str(data_dir),
        "--key-file", str(key_file),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    said = json.loads(done.stdout)
    after = ring_of(pg_url)
    assert after.current != before.current
    # Every record is under the new key, and the old key is gone from the keyring.
    assert key_ids(pg_url) == {after.current}
    assert said["reencrypted_files"] >= 31  # the clients, the admin, the policy, ...
    assert {w.key_id for w in after.wraps} == {after.current}
    old_file = tmp_path / "old.key"
    old_file.write_bytes(old_key)
    assert not opens(after, KeySource(key_file=old_file))
    # The email is found by its digest under the new key; the head is signed with it.
    assert found_and_verified(pg_url, key_file) == (["cli_0000"], True)
    with serving(data_dir, "--key-file", str(key_file)) as (proc, _, _):
        assert proc.poll() is None


def test_reencrypt_is_refused_while_a_server_runs(tmp_path: Path, pg_url: str) -> None:
    data_dir, _, key_file = init_on(tmp_path, pg_url)
    before = ring_of(pg_url)
    with serving(data_dir, "--key-file", str(key_file)):
        done = tlh_run(
            "key", "rotate", "--reencrypt", "--data-dir", str(data_dir),
            "--key-file", str(key_file),
        )  # fmt: skip
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "stop every tlh server of the practice first" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert ring_of(pg_url) == before
    assert key_ids(pg_url) == {before.current}
    # Nothing is left marked: the practice's servers start as before.
    with serving(data_dir, "--key-file", str(key_file)) as (proc, _, _):
        assert proc.poll() is None


class Stopped(Exception):
    """Stands for the process dying at a step of the rotation."""


def test_an_interrupted_reencrypt_keeps_servers_out_and_a_rerun_finishes(
    tmp_path: Path, pg_url: str
) -> None:
    data_dir, _, key_file = init_on(tmp_path, pg_url)
    add_clients(pg_url, key_file, 30)
    before = ring_of(pg_url)

    def stop_after_a_batch(step: str) -> None:
        if step.startswith("records:"):
            raise Stopped(step)

    async def interrupted() -> None:
        async with Database.briefly(pg_url) as db:
            unlocked = await keyring.unlocked(db, KeySource(key_file=key_file))
            await rekey.reencrypt(db, unlocked, step=stop_after_a_batch, batch=10)

    with pytest.raises(Stopped):
        asyncio.run(interrupted())
    half = ring_of(pg_url)
    assert len(key_ids(pg_url)) == 2  # 10 records moved, the rest not yet
    assert opens(half, KeySource(key_file=key_file))
    # No server opens a half-rotated practice; it says how to finish, in one line.
    refused = tlh_run("serve", "--data-dir", str(data_dir), "--key-file", str(key_file))
    assert refused.returncode != 0
    assert "Traceback" not in refused.stderr
    assert "half-way through `tlh key rotate --reencrypt`; run it again" in refused.stderr
    done = tlh_run(
        "key", "rotate", "--reencrypt", "--data-dir", str(data_dir), "--key-file", str(key_file)
    )
    assert done.returncode == 0, done.stderr
    after = ring_of(pg_url)
    assert after.current not in (before.current, half.current)
    assert key_ids(pg_url) == {after.current}
    assert found_and_verified(pg_url, key_file) == (["cli_0000"], True)


@pytest.mark.parametrize("command", [["key", "rotate"], ["key", "export-recovery"]])
def test_a_wrong_key_file_is_one_line_and_changes_nothing(
    tmp_path: Path, pg_url: str, command: list[str]
) -> None:
    data_dir, _, _ = init_on(tmp_path, pg_url)
    other = tmp_path / "another-practice.key"
    write_key_file(other, new_kek())
    before = ring_of(pg_url)
    done = tlh_run(*command, "--data-dir", str(data_dir), "--key-file", str(other))
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "does not unlock" in done.stderr
    assert ring_of(pg_url) == before
