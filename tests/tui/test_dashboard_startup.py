"""Starting the dashboard against a server that is down, or slow.

Down: the status line says it is reconnecting and why, retries with a growing delay,
and goes live with the data once the server is back on the same port. Slow: the
skeleton (status line, column headers, key help) is on screen before any data, also
when the first look (``tlh dashboard``'s) is held up beyond its hold. The
server is made slow without touching it: the dashboard talks to it through a loopback
TCP proxy that holds every chunk from the server for ``LAG_S`` before passing it on.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator

import pytest
from textual.worker import Worker, WorkerCancelled

from tlh.client import TlhClient
from tlh.client.events import Backoff, EventStream
from tlh.client.websocket import WebSocket
from tlh.errors import Unavailable
from tlh.tui.first_look import FirstLook
from tlh.tui.state import Connection

from .conftest import Practice
from .helpers import WAIT_S, Fakes, dashboard, running, screen_text, until

#: How long the proxy holds each chunk coming back from the server.
LAG_S = 0.2


async def test_unreachable_at_start_retries_then_goes_live(practice: Practice) -> None:
    await practice.server.stop()
    async with running(practice, (120, 30), synced=False) as (app, pilot):
        reason = f"cannot reach the tlh server at {practice.url}"
        await until(pilot, lambda: reason in screen_text(app), "the reason on screen")
        line = next(x for x in screen_text(app).splitlines() if reason in x)
        assert re.search(r"People · reconnecting \(cannot reach .* retrying in [\d.]+ s\)", line)
        # It keeps trying, each time waiting longer (0.25 s, 0.5 s, then 1 s).
        await until(pilot, lambda: "retrying in 1 s" in screen_text(app), "a longer backoff")
        assert not app.feed.synced.is_set()
        await practice.server.start()
        await until(pilot, app.feed.synced.is_set, "live once the server is back")
        assert app.state.connection == Connection.LIVE
        assert app.feed.failure is None
        await pilot.press("2")
        await until(pilot, lambda: practice.client_name in screen_text(app), "the data")
        assert reason not in screen_text(app)


async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, lag_s: float) -> None:
    """Copy ``reader`` to ``writer``, each chunk ``lag_s`` after it arrived (order kept)."""
    chunks: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def read() -> None:
        while chunk := await reader.read(65536):
            chunks.put_nowait((time.monotonic() + lag_s, chunk))
        chunks.put_nowait((time.monotonic() + lag_s, b""))

    reading = asyncio.create_task(read())
    try:
        while chunk := await deliver(chunks):
            writer.write(chunk)
            await writer.drain()
    finally:
        reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reading
        writer.close()


async def deliver(chunks: asyncio.Queue[tuple[float, bytes]]) -> bytes:
    due, chunk = await chunks.get()
    await asyncio.sleep(max(0.0, due - time.monotonic()))  # the injected latency
    return chunk


@contextlib.asynccontextmanager
async def slow_proxy(target_port: int, lag_s: float) -> AsyncIterator[str]:
    """A loopback proxy to ``target_port`` whose answers arrive ``lag_s`` late; its URL."""
    pipes: set[asyncio.Task[None]] = set()

    async def accept(down_r: asyncio.StreamReader, down_w: asyncio.StreamWriter) -> None:
        up_r, up_w = await asyncio.open_connection("127.0.0.1", target_port)
        pipes.update(
            {
                asyncio.create_task(relay(down_r, up_w, 0.0)),
                asyncio.create_task(relay(up_r, down_w, lag_s)),
            }
        )

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        for task in pipes:
            task.cancel()
        await asyncio.gather(*pipes, return_exceptions=True)
        await server.wait_closed()


@pytest.mark.parametrize("first_look", [False, True], ids=["alone", "first-look"])
async def test_a_slow_server_shows_the_skeleton_before_the_data(
    practice: Practice, first_look: bool
) -> None:
    """Also when ``tlh dashboard``'s first look (several answers, each ``LAG_S`` late)
    is not done within its hold: the frame does not wait for it any longer."""
    async with (
        slow_proxy(practice.server.port, LAG_S) as url,
        TlhClient(url, practice.clinician_token) as client,
    ):
        look = FirstLook(client, hold_s=LAG_S * 1.5) if first_look else None
        app = dashboard(client, Fakes(), first_look=look)
        started = time.monotonic()
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: "People · connecting" in screen_text(app), "the skeleton")
            skeleton_s = time.monotonic() - started
            shown = screen_text(app)
            assert "Where" in shown  # the table's headers
            assert "Who" in shown
            assert "q Quit" in shown  # the key bar
            assert "1 People" in shown  # and the screens as tabs
            assert not app.state.appointments
            assert not app.feed.synced.is_set()
            await until(pilot, app.feed.synced.is_set, "the data through the slow proxy")
            assert time.monotonic() - started > skeleton_s + LAG_S  # the data came later
            await pilot.press("2")
            await until(pilot, lambda: practice.client_name in screen_text(app), "the schedule")


class StubbornClient(TlhClient):
    """A client whose event stream never connects and answers a cancel with a timeout,
    as aiohttp's own timeout did when it fired together with the cancel."""

    attempts = 0

    def events(self, *, dashboard: bool = False, backoff: Backoff | None = None) -> EventStream:
        return EventStream(self._connect)

    async def _connect(self) -> WebSocket:
        self.attempts += 1
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            raise Unavailable("cannot reach the tlh server: no answer within 30 s") from None
        raise AssertionError("never answers")


async def test_quitting_ends_the_worker_despite_a_cancel_taken_for_a_timeout(
    practice: Practice,
) -> None:
    """q while the stream connects: the live worker's cancel wins over the retry, so the
    worker ends with the dashboard instead of retrying forever behind it."""
    async with StubbornClient(practice.url, practice.clinician_token) as client:
        app = dashboard(client, Fakes())

        async def quit_while_connecting() -> Worker[None]:
            async with app.run_test(size=(80, 24)) as pilot:
                await until(pilot, lambda: client.attempts == 1, "connecting")
                live = next(w for w in app.workers if w.name == "live")
                await pilot.press("q")
            return live

        live = await asyncio.wait_for(quit_while_connecting(), WAIT_S)
        with pytest.raises(WorkerCancelled):
            await asyncio.wait_for(live.wait(), WAIT_S)
    assert client.attempts == 1
