"""The backends every ``Repository`` must be: each contract test runs once per backend.

``tiny``: a ``TinyStore`` over a fresh data dir; ``tiny-cold``: the same, but every
appointment month a reopened store finds is left on disk and read on demand (the months
a long history keeps out of memory); ``pg``: a ``PgStore`` over a fresh
database of the session's throw-away PostgreSQL (``tests/pgserver.py``). ``Backend.make``
gives another store over the same data: the same store reopened, or (for ``pg``) a
second server sharing the database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tlh.store.base import Repository
from tlh.store.layout import init_data_dir

#: A backend as the contract tests use it: the protocol, nothing more.
Store = Repository


@dataclass
class Backend:
    name: str
    #: A new, unopened store over this test's data.
    make: Callable[[], Store]
    #: A second server may hold it open at the same time (a shared backend).
    shared: bool


BACKENDS = ["tiny", "tiny-cold", "pg"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """How to make a store of the parametrized backend over this test's fresh data."""
    if request.param.startswith("tiny"):
        from tlh.store.tinystore import TinyStore

        data_dir = init_data_dir(tmp_path / "practice")
        # A hot window ending a century from now: every month is before it.
        hot = -1200 if request.param == "tiny-cold" else 3
        return Backend(request.param, lambda: TinyStore(data_dir, hot_months=hot), shared=False)
    from tlh.store.pg.store import PgStore

    url: str = request.getfixturevalue("pg_url")
    return Backend("pg", lambda: PgStore(url, wait_s=3.0), shared=True)


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[Store]:
    """An open store of the backend, closed after the test."""
    s = backend.make()
    await s.open()
    try:
        yield s
    finally:
        await s.close()
