"""Reading each record once within a short unit of work (``PgStore.reading_once``).

A waiting client's hello reads the same few records in several places: its link's
appointment (is the link redeemable now; which room and when it is due), the clinician
(the page's status, whether they admit on arrival) and their open sessions (busy with
someone; may the visit start). In memory that costs nothing; on PostgreSQL each is a
round trip. Inside ``reading_once`` the task reads each record, and each indexed find,
from the database once: about 4 of the hello's 29 statements (a log of one hello on
the database). A commit of records on this server, by any task (the rooms write their
entries in a task of their own), makes every memo forget what it read; what another
server commits meanwhile is seen from the next unit of work on, as if those reads had
come a few milliseconds earlier.

The memo belongs to the task that opened it: tasks started inside the block (which
copy its context) read from the database as ever.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Hashable, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar, cast

T = TypeVar("T")

#: Record commits on this server so far: a memo older than the last one forgets.
_commits = 0


class Memo:
    """What one task has read, by query, since this server's last commit."""

    __slots__ = ("found", "owner", "since")

    def __init__(self) -> None:
        self.owner = asyncio.current_task()
        self.found: dict[Hashable, Any] = {}
        self.since = _commits


_memo: ContextVar[Memo | None] = ContextVar("tlh_pg_read_memo", default=None)


@contextlib.contextmanager
def reading_once() -> Iterator[None]:
    """Within the block, the current task reads each record once (nested: the outer
    memo goes on)."""
    if here() is not None:
        yield
        return
    token = _memo.set(Memo())
    try:
        yield
    finally:
        _memo.reset(token)


async def remembered(key: Hashable, read: Callable[[], Awaitable[T]]) -> T:
    """What ``read()`` answers: asked once per ``key`` within the current task's memo,
    every time without one."""
    memo = here()
    if memo is None:
        return await read()
    if key in memo.found:
        return cast("T", memo.found[key])
    found = await read()
    memo.found[key] = found
    return found


def here() -> Memo | None:
    """The current task's memo, if it opened one."""
    memo = _memo.get()
    if memo is None or memo.owner is not asyncio.current_task():
        return None
    if memo.since != _commits:
        memo.found.clear()
        memo.since = _commits
    return memo


def committing() -> None:
    """Records are being written here: no memo's reads stand any more."""
    global _commits
    _commits += 1
