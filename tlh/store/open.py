"""Which store a location names: the one place outside ``tlh.store``'s backends that
knows their classes, so the server, the services and the CLI depend on ``Repository``
only."""

from __future__ import annotations

from pathlib import Path

from tlh.errors import StoreError
from tlh.store.base import Repository
from tlh.store.keys import KeySource
from tlh.store.seal import Codec

#: URL schemes of a PostgreSQL database (issue 15's shared backend).
POSTGRES_SCHEMES = ("postgresql:", "postgres:")


def is_database_url(location: Path | str) -> bool:
    """Whether ``location`` names a database rather than a data dir."""
    return isinstance(location, str) and location.startswith(POSTGRES_SCHEMES)


def store_at(
    location: Path | str, *, keys: KeySource | None = None, codec: Codec | None = None
) -> Repository:
    """The (unopened) store at ``location``: a data dir (the embedded TinyDB-format
    store, sealed with ``keys``/``codec``) or, later, a ``postgresql://`` URL."""
    if is_database_url(location):
        raise StoreError(
            "a postgresql:// store was given, but postgresql support is not implemented yet;"
            " use a data dir"
        )
    from tlh.store.tinystore import TinyStore  # the embedded backend, loaded on use

    return TinyStore(Path(location), keys=keys, codec=codec)
