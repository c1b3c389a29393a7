"""``store_at``: the one place that turns a location into a store."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.seeding import seed
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


@pytest.mark.parametrize("url", ["postgresql://tlh@db/tlh", "postgres://db/tlh"])
def test_a_database_url_is_refused_until_its_backend_exists(url: str) -> None:
    assert is_database_url(url)
    with pytest.raises(StoreError, match="postgresql support is not implemented yet"):
        store_at(url)


def test_a_path_is_never_a_database_url(tmp_path: Path) -> None:
    assert not is_database_url(tmp_path / "postgresql:")
    assert not is_database_url(str(tmp_path))
