"""A socket's outbox: a frame for a socket that keeps up goes out at once (no task per
frame, the signalling relay's main cost), and a backed-up socket still gets every frame,
in order, without making whoever queues wait."""

from __future__ import annotations

import asyncio
import tracemalloc

from tlh.api.frames import PeerLeft, ServerFrame
from tlh.services.frame_outbox import Outbox

WAIT_S = 3.0


def _frame(n: int) -> ServerFrame:
    return PeerLeft(peer_id=f"ent_{n}")


async def test_a_frame_for_a_socket_that_keeps_up_is_written_before_offer_returns() -> None:
    sent: list[ServerFrame] = []

    async def send(frame: ServerFrame) -> None:  # a websocket's send that need not wait
        sent.append(frame)

    outbox = Outbox(send)
    for n in range(3):
        assert outbox.offer(_frame(n))
        assert sent == [_frame(k) for k in range(n + 1)]  # in this turn of the loop


async def test_a_backed_up_socket_gets_every_frame_in_order_once_it_drains() -> None:
    sent: list[ServerFrame] = []
    drained = asyncio.get_running_loop().create_future()
    all_sent = asyncio.Event()

    async def send(frame: ServerFrame) -> None:
        sent.append(frame)
        if len(sent) == 1:
            await drained  # the transport's buffer is full: wait for it to drain
        if len(sent) == 4:
            all_sent.set()

    outbox = Outbox(send)
    for n in range(4):
        assert outbox.offer(_frame(n))  # never waits
    assert sent == [_frame(0)]
    drained.set_result(None)
    async with asyncio.timeout(WAIT_S):
        await all_sent.wait()
    assert sent == [_frame(n) for n in range(4)]
    closed = asyncio.Event()
    outbox.finish(closed.set)
    async with asyncio.timeout(WAIT_S):
        await closed.wait()


async def test_cancelling_a_backed_up_outbox_abandons_its_sends() -> None:
    sent: list[ServerFrame] = []
    abandoned = asyncio.Event()

    async def send(frame: ServerFrame) -> None:
        sent.append(frame)
        try:
            await asyncio.get_running_loop().create_future()  # never drains
        except GeneratorExit:
            abandoned.set()
            raise

    outbox = Outbox(send)
    outbox.offer(_frame(0))
    outbox.offer(_frame(1))
    outbox.cancel()
    async with asyncio.timeout(WAIT_S):
        await abandoned.wait()
    await outbox.wait()
    assert sent == [_frame(0)]
    assert outbox.done


async def test_an_idle_outbox_holds_no_queue() -> None:
    """Memory per waiting socket: a thousand outboxes that have sent their frames cost
    their own few slots, not an empty queue each (760 bytes apiece)."""

    async def send(frame: ServerFrame) -> None:
        pass

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        outboxes = [Outbox(send) for _ in range(1000)]
        for outbox in outboxes:
            outbox.offer(_frame(0))
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held < 200 * 1000, f"{held / 1000:.0f} bytes per idle outbox"
