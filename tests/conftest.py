"""Checks that hold for every test."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from tests.pgserver import PgServer, running

#: aiortc starts these per receiver and stops them only when its peer connection is
#: closed; one left running keeps the test process from exiting.
_MEDIA_THREADS = ("video-decoder", "audio-decoder")


def _media_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name in _MEDIA_THREADS and t.is_alive()}


@pytest.fixture(autouse=True)
def _peer_connections_closed() -> Iterator[None]:
    """Fail the test that leaves an aiortc peer connection open (its decoder running)."""
    before = _media_threads()
    yield
    deadline = time.monotonic() + 5.0
    left = _media_threads() - before
    while left and time.monotonic() < deadline:
        for thread in left:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        left = {t for t in left if t.is_alive()}
    assert not left, f"{len(left)} aiortc decoder thread(s) still running: a peer was not closed"


_exit_status = 0


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    global _exit_status
    _exit_status = int(exitstatus)


def pytest_unconfigure(config: pytest.Config) -> None:
    """A decoder thread still running would hang the interpreter's exit (CI would wait
    for its timeout): say so and leave with a failing status instead."""
    if _media_threads():
        import os
        import sys

        print("aiortc decoder threads left running; exiting without waiting", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_status or 1)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgServer]:
    """One throw-away PostgreSQL for the session (``tests/pgserver.py``), started on
    first use: only the tests that ask for it pay for it."""
    with running() as server:
        yield server


@pytest.fixture
def pg_url(pg_cluster: PgServer) -> str:
    """The URL of a fresh, empty database of the session's PostgreSQL."""
    return pg_cluster.database()
