"""The practice's keyring in the database (``tlh_meta`` row ``keyring``).

The data key that seals every document is wrapped as in a data dir's ``keys.json``
(``tlh.store.keys``): by a key file, a passphrase and/or a recovery code. Kept in the
database, every server of the practice finds the same wraps, and each unlocks them with
its own copy of the key file (or ``TLH_PASSPHRASE``); a dump of the database alone opens
nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from tlh.store.keys import Keyring, KeySource, decode_keyring, encode_keyring, unlock
from tlh.store.pg.db import Database
from tlh.store.seal import PLAIN, Codec

#: The ``tlh_meta`` key of the keyring.
KEYRING: Final = "keyring"


async def read_ring(db: Database) -> Keyring | None:
    """The database's keyring, or ``None`` for a practice stored without sealing."""
    async with db.connection("read the keyring") as conn:
        cur = await conn.execute("SELECT value FROM tlh_meta WHERE key = %s", (KEYRING,))
        row = await cur.fetchone()
    if row is None:
        return None
    return decode_keyring(str(row[0]).encode(), f"the keyring of the database at {db.where}")


async def write_ring(db: Database, ring: Keyring) -> None:
    """Store ``ring`` (a new practice's, a rotation's, a migrated data dir's)."""
    async with db.connection("store the keyring") as conn:
        await conn.execute(
            "INSERT INTO tlh_meta (key, value) VALUES (%s, %s) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (KEYRING, encode_keyring(ring).decode()),
        )


async def codec_of(db: Database, source: KeySource | None) -> Codec:
    """The database's codec: ``PLAIN`` without a keyring, else its data keys opened with
    ``source`` (``StoreKeyError`` in one line when they cannot be)."""
    ring = await read_ring(db)
    if ring is None:
        return PLAIN
    what = f"the database at {db.where}"
    unlocked = unlock(Path("."), source or KeySource(), ring=ring, what=what)
    return PLAIN if unlocked is None else unlocked.sealer()
