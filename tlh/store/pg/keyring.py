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

from tlh.errors import StoreError
from tlh.store.keys import Keyring, KeySource, Unlocked, decode_keyring, encode_keyring, unlock
from tlh.store.pg.db import Database
from tlh.store.rotate import Rotated, plan_rotation, with_recovery
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
    unlocked = await _unlock(db, source or KeySource())
    return PLAIN if unlocked is None else unlocked.sealer()


async def rotate_keys(
    url: str,
    source: KeySource,
    *,
    new_key_file: Path | None = None,
    new_passphrase: str | None = None,
) -> Rotated:
    """``tlh key rotate`` for a practice in the database: the keyring row gains the new
    way in beside the old, the new key file replaces the old one, then the row keeps the
    new way only (a kill between leaves a row both open; running it again finishes).
    Servers running meanwhile keep working (the data key is the same); each opens with
    the new key file from its next start. A new data key (``--reencrypt``) is
    ``tlh.store.pg.rekey``'s."""
    async with Database.briefly(url) as db:
        plan = plan_rotation(
            await unlocked(db, source), new_key_file=new_key_file, new_passphrase=new_passphrase
        )
        await write_ring(db, plan.both)
        plan.write_key_file()
        await write_ring(db, plan.final)
        return plan.done


async def export_recovery(url: str, source: KeySource) -> str:
    """A new recovery code that opens the practice's database (replacing any earlier)."""
    async with Database.briefly(url) as db:
        code, ring = with_recovery(await unlocked(db, source))
        await write_ring(db, ring)
        return code


async def unlocked(db: Database, source: KeySource) -> Unlocked:
    """The database's keys opened with ``source``, for a command that changes them."""
    unlocked = await _unlock(db, source)
    if unlocked is None:
        raise StoreError(f"the database at {db.where} is not encrypted (made with --no-encrypt)")
    return unlocked


async def _unlock(db: Database, source: KeySource) -> Unlocked | None:
    """The database's keys opened with ``source`` (``StoreKeyError`` in one line when
    they cannot be); ``None`` when it is stored without sealing."""
    ring = await read_ring(db)
    if ring is None:
        return None
    return unlock(Path("."), source, ring=ring, what=f"the database at {db.where}")
