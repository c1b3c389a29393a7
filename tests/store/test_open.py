"""``store_at``: the one place that turns a location into a store."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.pgserver import PgServer
from tests.seeding import seed
from tests.serving import free_port
from tests.store.conftest import client
from tlh.domain.models import Client, Policy
from tlh.errors import StoreError
from tlh.store.base import Delete, Put
from tlh.store.capabilities import DataDirStore
from tlh.store.open import is_database_url, store_at


async def test_a_data_dir_opens_the_embedded_store_behind_the_protocol(data_dir: Path) -> None:
    store = store_at(data_dir)
    assert isinstance(store, DataDirStore)  # backups copy its files
    await store.open()
    try:
        assert store.is_open
        assert store.policy() is None  # before `tlh init`
        await seed(store, [Put(client("c1")), Put(Policy(practice_name="P", timezone="UTC"))])
        assert await store.get(Client, "c1") == client("c1")
        assert await store.count(Client) == 1
        assert [c.id for c in await store.all(Client)] == ["c1"]
        policy = store.policy()
        assert policy is not None
        assert policy.practice_name == "P"
        await seed(store, [Delete(Client, "c1"), Put(policy)])
        assert await store.get(Client, "c1") is None
        assert (await store.verify_audit()).ok
    finally:
        await store.close()
    assert not store.is_open


async def test_a_database_url_opens_the_postgresql_store(pg_url: str) -> None:
    assert is_database_url(pg_url)
    store = store_at(pg_url)
    await store.open()
    try:
        assert await store.count(Client) == 0
        assert (await store.verify_audit()).ok
    finally:
        await store.close()


async def test_an_unreachable_database_is_one_clear_line(pg_cluster: PgServer) -> None:
    url = f"postgresql://tlh:s3cret-pw@127.0.0.1:{free_port()}/nothing"
    with pytest.raises(StoreError) as caught:
        await store_at(url).open()
    said = caught.value.message
    assert "cannot reach the database" in said
    assert "\n" not in said
    assert "s3cret-pw" not in said


def test_without_psycopg_a_database_url_says_what_to_install() -> None:
    """An install without the ``postgresql`` extra gets the pip line, not a traceback."""
    code = (
        "import sys; sys.modules['psycopg'] = None\n"
        "from tlh.errors import StoreError\n"
        "from tlh.store.open import store_at\n"
        "try:\n"
        "    store_at('postgresql://tlh@db/tlh')\n"
        "except StoreError as exc:\n"
        "    print(exc.message)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == (
        "a postgresql:// store needs psycopg: pip install 'tlh[postgresql]'"
    )


def test_a_path_is_never_a_database_url(tmp_path: Path) -> None:
    assert not is_database_url(tmp_path / "postgresql:")
    assert not is_database_url(str(tmp_path))
