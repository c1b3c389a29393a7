"""The media pieces without a server: ICE configuration, synthetic tracks, one call leg."""

from __future__ import annotations

import asyncio
from typing import Any

import aioice.ice
import pytest

from tlh.media.ice import configuration, ice_servers, is_loopback_url, loopback_only
from tlh.media.peer import PeerLink
from tlh.media.synthetic import AUDIO_SAMPLES, BarTrack, ToneTrack


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8080", True),
        ("https://localhost", True),
        ("http://[::1]:9000/j", True),
        ("https://clinic.example.org", False),
        ("http://192.0.2.7", False),
    ],
)
def test_loopback_servers_are_recognised(url: str, loopback: bool) -> None:
    assert is_loopback_url(url) is loopback


def test_configuration_is_explicit_and_skips_malformed_servers() -> None:
    assert configuration().iceServers == []  # never aiortc's public STUN default
    servers = ice_servers(
        [
            {"urls": "stun:stun.example.org"},
            {"urls": ["turn:turn.example.org"], "username": "u", "credential": "c"},
            {"urls": 5},
            {"nothing": True},
        ]
    )
    assert [s.urls for s in servers] == [["stun:stun.example.org"], ["turn:turn.example.org"]]
    assert servers[1].username == "u"


def test_loopback_candidates_only_inside_the_context() -> None:
    with loopback_only(True):
        assert aioice.ice.get_host_addresses(True, True) == ["127.0.0.1"]
    assert "127.0.0.1" not in aioice.ice.get_host_addresses(True, True)


async def test_synthetic_tracks_make_paced_changing_frames() -> None:
    tone, bar = ToneTrack(), BarTrack(width=64, height=48, fps=50)
    try:
        audio = [await tone.recv() for _ in range(2)]
        video = [await bar.recv() for _ in range(2)]
    finally:
        tone.stop()
        bar.stop()
    assert audio[0].samples == AUDIO_SAMPLES
    assert audio[1].pts == AUDIO_SAMPLES
    assert bytes(audio[0].planes[0]) != bytes(AUDIO_SAMPLES * 2)  # not silence
    assert (video[0].width, video[0].height) == (64, 48)
    assert bytes(video[0].planes[0]) != bytes(video[1].planes[0])  # the bar moved
    assert tone.frames_sent == 2
    assert bar.frames_sent == 2


async def test_two_call_legs_connect_on_loopback_and_count_frames() -> None:
    changed = asyncio.Event()
    legs: dict[str, PeerLink] = {}

    def relay(to: str) -> Any:
        async def send(frame: dict[str, Any]) -> None:
            # Deliver like a signalling server would: later, on its own task.
            task = asyncio.create_task(legs[to].description(frame["data"]["description"]))
            tasks.append(task)

        return send

    tasks: list[asyncio.Task[None]] = []
    for name, other in (("a", "b"), ("b", "a")):
        legs[name] = PeerLink(
            other, config=configuration(), loopback=True, send=relay(other), changed=changed.set
        )

    def flowing() -> bool:
        return all(
            leg.state == "connected"
            and min(leg.frames_received.get(k, 0) for k in ("audio", "video")) >= 3
            for leg in legs.values()
        )

    try:
        await legs["a"].offer()
        async with asyncio.timeout(15):
            while not flowing():
                changed.clear()
                await changed.wait()
        await asyncio.gather(*tasks)
        assert legs["a"].frames_sent > 0
        assert legs["b"].connected_at is not None
    finally:
        for leg in legs.values():
            await leg.close()
    assert all(leg.state == "closed" for leg in legs.values())


async def test_aiortc_private_parts_used_on_close_still_exist() -> None:
    """peer.py reaches into aiortc for a receiver's decoder thread and its connect task;
    an aiortc upgrade that renames them must fail here, not leak threads silently."""
    from aiortc import RTCPeerConnection

    pc = RTCPeerConnection()
    try:
        transceiver = pc.addTransceiver("video", direction="recvonly")
        assert hasattr(transceiver.receiver, "_RTCRtpReceiver__decoder_thread")
        assert hasattr(RTCPeerConnection, "_RTCPeerConnection__connect")
    finally:
        await pc.close()
