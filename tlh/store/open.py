"""Which store a location names: the one place outside ``tlh.store``'s backends that
knows their classes, so the server, the services and the CLI depend on ``Repository``
only."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from tlh.errors import StoreError
from tlh.store.base import Repository
from tlh.store.keys import Keyring, KeySource, NewKeys, create_keys, read_keyring
from tlh.store.layout import init_data_dir
from tlh.store.seal import PLAIN, Codec

if TYPE_CHECKING:
    from tlh.store.pg.ephemeral import PgEphemeral
    from tlh.store.rotate import Rotated

#: URL schemes of a PostgreSQL database (issue 15's shared backend).
POSTGRES_SCHEMES = ("postgresql:", "postgres:")


def is_database_url(location: Path | str) -> bool:
    """Whether ``location`` names a database rather than a data dir."""
    return isinstance(location, str) and location.startswith(POSTGRES_SCHEMES)


def store_at(
    location: Path | str,
    *,
    keys: KeySource | None = None,
    codec: Codec | None = None,
    hot_months: int | None = None,
) -> Repository:
    """The (unopened) store at ``location``: a data dir (the embedded TinyDB-format
    store) or a ``postgresql://`` URL (``PgStore``), sealed with ``codec``, else with the
    data key ``keys`` opens. ``hot_months``: the embedded store's months kept in memory
    (``TinyStore.hot_months``; a database reads through its indexes anyway)."""
    if is_database_url(location):
        with _needs_psycopg():
            from tlh.store.pg.setup import PgStore
        return PgStore(str(location), keys=keys, codec=codec)
    from tlh.store.tinystore import TinyStore  # the embedded backend, loaded on use

    if hot_months is None:
        return TinyStore(Path(location), keys=keys, codec=codec)
    return TinyStore(Path(location), keys=keys, codec=codec, hot_months=hot_months)


def shared_state_of(store: Repository) -> PgEphemeral | None:
    """The short-lived security state (attempts, one-time codes) that the servers on a
    shared store keep in it, unopened; ``None`` for the embedded store (one server: the
    caller keeps them in memory)."""
    if type(store).__module__.startswith("tlh.store.pg."):
        from tlh.store.pg.setup import PgStore

        assert isinstance(store, PgStore)
        return store.ephemeral()
    return None


async def prepare_store(location: Path | str, encrypt: NewKeys | None) -> Codec | None:
    """Make ``location`` ready for a new practice: an empty data dir laid out, or a
    database's schema made; with ``encrypt``, a new data key (its keyring in the dir or
    the database). The codec to open it with, or ``None`` when it existed already (the
    caller's open then finds its keys, and refuses a second practice)."""
    if is_database_url(location):
        with _needs_psycopg():
            from tlh.store.pg.setup import prepare_database
        return await prepare_database(str(location), encrypt)
    data_dir = Path(location)
    if (data_dir / "meta.json").exists():
        return None
    made: list[Codec] = []

    def make_codec(where: Path) -> Codec:
        made.append(PLAIN if encrypt is None else create_keys(where, encrypt)[0].sealer())
        return made[0]

    init_data_dir(data_dir, make_codec)
    return made[0]


async def keyring_at(location: Path | str) -> Keyring | None:
    """The keyring of a data dir or database (``None``: stored without sealing)."""
    if is_database_url(location):
        with _needs_psycopg():
            from tlh.store.pg.setup import database_keyring
        return await database_keyring(str(location))
    return read_keyring(Path(location))


def rotate_keys_at(
    location: Path | str,
    source: KeySource,
    *,
    reencrypt: bool = False,
    new_key_file: Path | None = None,
    new_passphrase: str | None = None,
) -> Rotated:
    """``tlh key rotate`` where the practice's keyring is: a stopped server's data dir,
    or its database (see ``tlh.store.rotate`` and ``tlh.store.pg.keyring``)."""
    if is_database_url(location):
        with _needs_psycopg():
            from tlh.store.pg import keyring, rekey
        if reencrypt:
            return asyncio.run(
                rekey.rotate(
                    str(location),
                    source,
                    new_key_file=new_key_file,
                    new_passphrase=new_passphrase,
                )
            )
        return asyncio.run(
            keyring.rotate_keys(
                str(location), source, new_key_file=new_key_file, new_passphrase=new_passphrase
            )
        )
    from tlh.store import rotate

    return rotate.rotate(
        Path(location),
        source,
        reencrypt=reencrypt,
        new_key_file=new_key_file,
        new_passphrase=new_passphrase,
    )


def export_recovery_at(location: Path | str, source: KeySource) -> str:
    """``tlh key export-recovery`` where the practice's keyring is (see ``rotate_keys_at``)."""
    if is_database_url(location):
        with _needs_psycopg():
            from tlh.store.pg import keyring
        return asyncio.run(keyring.export_recovery(str(location), source))
    from tlh.store import rotate

    return rotate.export_recovery(Path(location), source)


@contextmanager
def _needs_psycopg() -> Iterator[None]:
    """Import the PostgreSQL backend (on use: the embedded store never loads psycopg),
    with a one-line hint when psycopg is not installed."""
    try:
        yield
    except ImportError as exc:
        if exc.name is not None and exc.name.startswith("psycopg"):
            raise StoreError(
                "a postgresql:// store needs psycopg: pip install 'tlh[postgresql]'"
            ) from None
        raise
