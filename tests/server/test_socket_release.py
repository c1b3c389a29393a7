"""A closed websocket is freed when its handler ends, not at the next full collection
(aiohttp keeps a cycle through it otherwise: ~8 kB per reconnect piled up in storms)."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator

import pytest
from aiohttp import web

from tlh.server.keys import WEBSOCKETS

from .conftest import Practice
from .rooms_helpers import WAIT_S, connect, guest_cookie


@pytest.fixture
def no_collector() -> Iterator[None]:
    """Only reference counts free anything while the test runs."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def _gone(ref: weakref.ref[web.WebSocketResponse]) -> None:
    async with asyncio.timeout(WAIT_S):
        while ref() is not None:
            await asyncio.sleep(0.02)  # the handler and the connection finish


@pytest.mark.usefixtures("no_collector")
async def test_a_closed_participant_socket_is_freed_with_its_handler(practice: Practice) -> None:
    sockets = practice.client.server.app[WEBSOCKETS]
    peer = await connect(practice, await guest_cookie(practice))
    await peer.hello()
    [server_side] = list(sockets)
    ref = weakref.ref(server_side)
    del server_side
    await peer.ws.close()
    await _gone(ref)


@pytest.mark.usefixtures("no_collector")
async def test_a_closed_staff_event_socket_is_freed_with_its_handler(practice: Practice) -> None:
    sockets = practice.client.server.app[WEBSOCKETS]
    ws = await practice.client.ws_connect("/api/v1/events", headers=practice.auth())
    assert (await ws.receive_json(timeout=WAIT_S))["type"] == "events.ready"
    [server_side] = list(sockets)
    ref = weakref.ref(server_side)
    del server_side
    await ws.close()
    await _gone(ref)
