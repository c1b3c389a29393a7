"""The server's echo peer: a headless aiortc peer gets its own media back through it.

The echo peer is the real one (``tlh.media.echo.EchoPeers``); the test's peer is a plain
aiortc connection with the synthetic tracks, on loopback. Limits (peers at once,
lifetime) and closing (no decoder thread left) are checked on the real objects.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from tlh.errors import Unavailable
from tlh.media.echo import BadOffer, EchoBusy, EchoPeers
from tlh.media.ice import configuration, gathering
from tlh.media.synthetic import BarTrack, ToneTrack
from tlh.net import is_loopback

WIDTH, HEIGHT = 160, 96  # not a camera's size: frames of this size came from our track


@dataclass(eq=False)
class PagePeer:
    """The page's side: sends a tone and a bar, records what comes back."""

    pc: RTCPeerConnection = field(default_factory=lambda: RTCPeerConnection(configuration()))
    sizes: list[tuple[int, int]] = field(default_factory=list)
    audio: int = 0
    readers: list[asyncio.Task[None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.tracks = [ToneTrack(), BarTrack(width=WIDTH, height=HEIGHT, fps=30)]
        for track in self.tracks:
            self.pc.addTrack(track)
        self.pc.on("track", self._on_track)

    def _on_track(self, track: MediaStreamTrack) -> None:
        self.readers.append(asyncio.get_running_loop().create_task(self._read(track)))

    async def _read(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                if track.kind == "video":
                    self.sizes.append((frame.width, frame.height))
                else:
                    self.audio += 1

    async def offer(self) -> str:
        offer = await self.pc.createOffer()
        await gathering(True, lambda: self.pc.setLocalDescription(offer))
        return str(self.pc.localDescription.sdp)

    async def accept(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))

    async def close(self) -> None:
        for track in self.tracks:
            track.stop()
        await self.pc.close()
        for reader in self.readers:
            reader.cancel()
        await asyncio.gather(*self.readers, return_exceptions=True)


@contextlib.asynccontextmanager
async def echo_peers(limit: int = 4, lifetime_s: float = 30.0) -> AsyncIterator[EchoPeers]:
    peers = EchoPeers(host="127.0.0.1", limit=limit, lifetime_s=lifetime_s)
    try:
        yield peers
    finally:
        await peers.close()


@contextlib.asynccontextmanager
async def page_peers(n: int) -> AsyncIterator[list[PagePeer]]:
    made = [PagePeer() for _ in range(n)]
    try:
        yield made
    finally:
        for peer in made:
            await peer.close()


async def until(condition: Callable[[], bool], within: float) -> None:
    """Wait (bounded) for a condition that no event announces."""
    async with asyncio.timeout(within):
        while not condition():
            await asyncio.sleep(0.02)


def decoder_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.endswith("-decoder")]


async def test_a_peer_gets_its_own_audio_and_video_back() -> None:
    async with echo_peers() as peers, page_peers(1) as (page,):
        await page.accept(await peers.answer("lnk_1/dev", await page.offer()))
        assert peers.active == 1
        await until(lambda: len(page.sizes) >= 5 and page.audio >= 5, within=10)
        # The echo re-encodes what it received: our bar, at our size, came back.
        assert set(page.sizes) == {(WIDTH, HEIGHT)}
        await peers.end("lnk_1/dev")
        assert peers.active == 0
    assert decoder_threads() == []


async def test_beyond_the_limit_the_answer_is_busy_and_an_owner_replaces_its_own() -> None:
    async with echo_peers(limit=2) as peers, page_peers(4) as pages:
        offers = [await page.offer() for page in pages]
        await peers.answer("lnk_1/a", offers[0])
        await peers.answer("lnk_2/b", offers[1])
        with pytest.raises(EchoBusy) as busy:
            await peers.answer("lnk_3/c", offers[2])
        assert busy.value.status == 503
        assert "busy" in str(busy.value)
        assert peers.active == 2
        # A page that tests again replaces its own echo peer rather than taking a slot.
        await peers.answer("lnk_1/a", offers[3])
        assert peers.active == 2
        await peers.end("lnk_2/b")
        await peers.answer("lnk_3/c", offers[2])
        assert peers.active == 2


async def test_an_echo_peer_is_closed_when_its_lifetime_is_up() -> None:
    async with echo_peers(lifetime_s=1.0) as peers, page_peers(1) as (page,):
        started = time.monotonic()
        await page.accept(await peers.answer("lnk_1/dev", await page.offer()))
        await until(lambda: len(page.sizes) >= 2, within=10)
        await until(lambda: peers.active == 0, within=5)
        assert time.monotonic() - started >= 1.0
        # The echo's side is gone: nothing more comes back.
        await until(lambda: page.pc.connectionState in ("closed", "failed"), within=10)
        seen = len(page.sizes)
        await page.close()
        assert len(page.sizes) == seen


async def test_close_ends_every_echo_peer_and_its_decoders() -> None:
    async with page_peers(2) as pages:
        async with echo_peers() as peers:
            for n, page in enumerate(pages):
                await page.accept(await peers.answer(f"lnk_{n}/dev", await page.offer()))
            await until(lambda: all(len(p.sizes) >= 2 for p in pages), within=10)
            await peers.close()
            assert peers.active == 0
            with pytest.raises(Unavailable, match="shutting down"):
                await peers.answer("lnk_9/dev", "v=0")
        for page in pages:
            await page.close()
    assert decoder_threads() == []


@pytest.mark.parametrize("sdp", ["not sdp at all", "v=0\r\n"])
async def test_an_unusable_offer_is_refused_and_holds_no_slot(sdp: str) -> None:
    async with echo_peers(limit=1) as peers:
        with pytest.raises(BadOffer) as bad:
            await peers.answer("lnk_1/dev", sdp)
        assert bad.value.status == 400
        assert peers.active == 0


async def test_an_offer_without_audio_or_video_is_refused() -> None:
    pc = RTCPeerConnection(configuration())
    try:
        pc.createDataChannel("only-data")
        offer = await pc.createOffer()
        await gathering(True, lambda: pc.setLocalDescription(offer))
        async with echo_peers() as peers:
            with pytest.raises(BadOffer, match="no audio or video"):
                await peers.answer("lnk_1/dev", pc.localDescription.sdp)
            assert peers.active == 0
    finally:
        await pc.close()


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("::1", True), ("[::1]", True), ("localhost", True), ("0.0.0.0", False)],
)
def test_loopback_hosts_are_recognised(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_the_server_imports_aiortc_only_when_a_test_starts() -> None:
    code = (
        "import sys, tlh.server.app, tlh.media.echo; "
        "print(sorted({'aiortc', 'av', 'aioice'} & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]"


def test_the_running_server_imports_the_media_stack_off_the_event_loop(tmp_path: Path) -> None:
    """Not at import (above), but once the server is up, in a thread: the first
    connection test or relayed call then finds aiortc and PyAV loaded."""
    code = """
import asyncio, sys
from pathlib import Path
from tlh.server.run import make_runner
from tlh.server.settings import Settings
from tlh.services.bootstrap import init_practice

async def main():
    data = Path(sys.argv[1])
    await init_practice(data, "P", "UTC", "admin@example.org")
    runner = make_runner(Settings(data_dir=data, port=0))
    await runner.setup()
    await runner.cleanup()  # waits for the preload
    print(sorted({'aiortc', 'av'} & set(sys.modules)))

asyncio.run(main())
"""
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.strip() == "['aiortc', 'av']", out.stderr


async def test_an_echo_peer_whose_page_vanishes_is_closed_when_its_connection_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No goodbye (the phone lost its network): the echo's consent checks (RFC 7675)
    go unanswered, its connection fails, and it is closed with its decoders well before
    its lifetime. aioice's check interval is shortened so that takes ~1 s, not 30."""
    import aioice.ice

    monkeypatch.setattr(aioice.ice, "CONSENT_INTERVAL", 0.1)
    async with echo_peers(lifetime_s=60.0) as peers, page_peers(1) as (page,):
        await page.accept(await peers.answer("lnk_1/dev", await page.offer()))
        await until(lambda: len(page.sizes) >= 2, within=10)
        # The page's network goes: its sockets close, nothing is said to the echo.
        ice = page.pc.getTransceivers()[0].sender.transport.transport
        for protocol in ice._connection._protocols:
            protocol.transport.close()
        started = time.monotonic()
        await until(lambda: peers.active == 0, within=10)
        assert time.monotonic() - started < 10
    assert decoder_threads() == []
