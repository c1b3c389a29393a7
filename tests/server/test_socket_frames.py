"""What a waiting page's socket keeps on the server's stack for its visit.

Every middleware that awaits the handler keeps a suspended frame for as long as the
handler runs, which for a socket is the whole visit (~300 bytes each, per socket: issue
21 item 4). The steps that act only before the handler pass it on without awaiting it;
the steps after it are one middleware (``tlh.server.middleware``), which passes a handler
that answers itself (the waiting page's socket) straight on as well.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from types import CodeType

from .conftest import Practice
from .rooms_helpers import guest

SERVER = "/tlh/server/"


def _awaited(coro: object) -> Iterator[CodeType]:
    """The code of each coroutine in the chain ``coro`` awaits, outermost first."""
    while coro is not None and hasattr(coro, "cr_code"):
        yield coro.cr_code
        coro = coro.cr_await


def _chain_through(name: str) -> list[CodeType]:
    """The awaited chain of the one task running the handler ``name`` now."""
    chains = [list(_awaited(t.get_coro())) for t in asyncio.all_tasks()]
    found = [c for c in chains if any(code.co_name == name for code in c)]
    assert len(found) == 1, f"{len(found)} tasks run {name}"
    return found[0]


async def test_a_waiting_socket_holds_no_middleware_frame(practice: Practice) -> None:
    peer, status = await guest(practice)
    assert status["state"] == "waiting"
    chain = _chain_through("participant_ws")
    ours = [code.co_qualname for code in chain if SERVER in code.co_filename]
    assert ours == ["participant_ws"]
    await peer.ws.close()
