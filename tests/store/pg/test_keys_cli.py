"""``tlh key`` on a practice whose store is PostgreSQL: its keyring is in the database
(``tlh_meta``), so the commands rotate and extend it there, as the data-dir commands do
in ``keys.json``. Checked as a practice runs them: ``tlh key ... --data-dir`` on the dir
whose tlh.toml names the database; the keyring then read back from the database."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.ops.running import tlh_run
from tests.store.pg.practice import init_on
from tlh.errors import StoreKeyError
from tlh.store.keys import Keyring, KeySource, new_kek, unlock, write_key_file
from tlh.store.open import keyring_at


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


def test_reencrypt_is_refused_in_one_line_and_changes_nothing(tmp_path: Path, pg_url: str) -> None:
    data_dir, _, key_file = init_on(tmp_path, pg_url)
    before = ring_of(pg_url)
    done = tlh_run(
        "key", "rotate", "--reencrypt", "--data-dir", str(data_dir), "--key-file", str(key_file)
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "--reencrypt is not available for a practice in PostgreSQL" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert ring_of(pg_url) == before


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
