"""What ``tlh.store.open`` asks of the PostgreSQL backend: its store, and a database
made ready for a new practice."""

from __future__ import annotations

from tlh.store.keys import Keyring, NewKeys, new_keys
from tlh.store.pg.db import Database
from tlh.store.pg.keyring import read_ring, write_ring
from tlh.store.pg.store import PgStore
from tlh.store.seal import PLAIN, Codec

__all__ = ["PgStore", "database_keyring", "prepare_database"]


async def prepare_database(url: str, encrypt: NewKeys | None) -> Codec | None:
    """Make the schema; with ``encrypt`` and no keyring yet, a new data key whose keyring
    is stored in the database. The codec to open it with, or ``None`` when the database
    had a keyring already (its keys are then needed to open it)."""
    async with Database.briefly(url) as db:  # opening migrates
        if await read_ring(db) is not None:
            return None
        if encrypt is None:
            return PLAIN
        unlocked, _ = new_keys(encrypt)
        await write_ring(db, unlocked.ring)
        return unlocked.sealer()


async def database_keyring(url: str) -> Keyring | None:
    """The database's keyring (``None``: stored without sealing)."""
    async with Database.briefly(url) as db:
        return await read_ring(db)
