"""The relay forwards packet by packet (tlh.media.relay, relay_inlet): what the publisher
and the subscribers see of it with real aiortc peers on loopback.

Besides the frames, each side must go on getting what a receiver or sender gives it:
the publisher Receiver Reports, REMB and NACKs for what it lost; a subscriber Sender
Reports, retransmissions it asks for, and each frame as soon as its last packet reached
the relay (not one frame later, as when the relay re-assembled frames).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, RtcpRrPacket, RtcpSrPacket, unpack_remb_fci

from tlh.media import aiortc_rtp
from tlh.media.relay_inlet import Inlet

from .relay_support import Call, SteppedTrack, Subscriber


@pytest.fixture
async def call() -> AsyncIterator[Call]:
    made = Call()
    try:
        yield made
    finally:
        await made.close()


async def connected(call: Call, subscriber: Subscriber) -> None:
    await call.until(lambda: subscriber.pc.connectionState == "connected", "connected")


async def eventually(call: Call, condition: Callable[[], bool], what: str) -> None:
    await call.until(condition, what, within=6)


async def test_a_frame_reaches_the_subscriber_before_the_publisher_sends_the_next() -> None:
    track = SteppedTrack()
    call = Call(video=track)
    try:
        await call.publish()
        subscriber = await call.subscribe()
        subscriber.keep_video_rtcp()
        video = subscriber.pc.getTransceivers()[1]
        await connected(call, subscriber)
        video_pt = aiortc_rtp.negotiated_codecs(video)[0].payloadType
        frames_on_wire = [0]

        def on_wire(packet: bytes) -> None:
            if packet[1] == 0x80 | video_pt:  # a video frame's last packet
                frames_on_wire[0] += 1
                call.changed.set()

        aiortc_rtp.take_rtp(video.receiver.transport, on_wire)
        # The relay's sender for this subscriber runs once it reports (both kinds may).
        await eventually(
            call, lambda: any(isinstance(p, RtcpSrPacket) for p in subscriber.rtcp), "an SR"
        )
        for wanted in (1, 2, 3):
            track.step()  # one frame (the first a keyframe), and nothing after it
            await call.until(
                lambda wanted=wanted: frames_on_wire[0] >= wanted, f"frame {wanted}", within=3
            )
    finally:
        await call.close()


async def test_the_publisher_gets_receiver_reports_and_bitrate_estimates(call: Call) -> None:
    await call.publish()
    subscriber = await call.subscribe()
    await call.frames_everywhere(5, [subscriber])
    video_ssrc = call.publisher.video_sender._ssrc

    def reported() -> list[Any]:
        return [
            report
            for packet in call.publisher.rtcp
            if isinstance(packet, RtcpRrPacket)
            for report in packet.reports
            if report.ssrc == video_ssrc
        ]

    def estimates() -> list[tuple[int, list[int]]]:
        return [
            unpack_remb_fci(packet.fci)
            for packet in call.publisher.rtcp
            if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP
        ]

    await eventually(call, lambda: bool(reported()), "a receiver report on the video")
    await eventually(call, lambda: bool(estimates()), "a REMB")
    report = reported()[-1]
    assert report.highest_sequence > 0
    assert report.packets_lost == 0
    bitrate, ssrcs = estimates()[-1]
    assert bitrate > 0
    assert ssrcs == [video_ssrc]


async def test_a_subscriber_gets_sender_reports_of_what_was_forwarded(call: Call) -> None:
    await call.publish()
    subscriber = await call.subscribe()
    subscriber.keep_video_rtcp()
    await call.frames_everywhere(5, [subscriber])

    def reports() -> list[RtcpSrPacket]:
        return [p for p in subscriber.rtcp if isinstance(p, RtcpSrPacket)]

    await eventually(call, lambda: any(r.sender_info.packet_count > 0 for r in reports()), "SR")
    info = reports()[-1].sender_info
    outgoing = next(iter(call.relay.subscribers.values()))[1].outgoing
    assert 0 < info.packet_count <= outgoing.packets
    assert info.octet_count > info.packet_count  # payload bytes, not packets
    assert info.ntp_timestamp >> 32 > 3_900_000_000  # seconds since 1900: after 2023


async def test_a_subscribers_nack_is_answered_from_what_the_relay_sent(call: Call) -> None:
    await call.publish()
    subscriber = await call.subscribe()
    await call.frames_everywhere(5, [subscriber])
    outgoing = next(iter(call.relay.subscribers.values()))[1].outgoing
    (source,) = subscriber.video_receiver.getSynchronizationSources()
    await aiortc_rtp.send_nack(subscriber.video_receiver, source.source, [outgoing.last_seq])
    await eventually(call, lambda: outgoing.retransmitted == 1, "the retransmission")
    shown = subscriber.frames["video"]
    await call.until(lambda: subscriber.frames["video"] >= shown + 5, "video after it")


async def test_a_packet_lost_on_the_way_in_is_asked_for_and_fills_the_gap(
    call: Call, monkeypatch: pytest.MonkeyPatch
) -> None:
    dropped: list[int] = []
    received = Inlet.received

    def lossy(inlet: Inlet, dtls: Any, data: bytes) -> None:
        video = inlet.video
        if (
            not dropped
            and video is not None
            and data[8:12] == (video.ssrc or 0).to_bytes(4, "big")
            and call.subscribers[0].frames["video"] >= 5
        ):
            dropped.append(int.from_bytes(data[2:4], "big"))
            return  # lost on the way
        received(inlet, dtls, data)

    monkeypatch.setattr(Inlet, "received", lossy)
    await call.publish()
    subscriber = await call.subscribe()
    await call.frames_everywhere(5, [subscriber])
    await eventually(call, lambda: bool(dropped), "a packet dropped")
    await eventually(call, lambda: call.publisher.retransmissions >= 1, "the relay's NACK")
    shown = subscriber.frames["video"]
    await call.until(lambda: subscriber.frames["video"] >= shown + 10, "video after the loss")


async def test_a_new_publisher_continues_every_subscribers_stream(call: Call) -> None:
    await call.publish()
    subscriber = await call.subscribe()
    await call.frames_everywhere(5, [subscriber])
    await call.replace_publisher()
    shown = dict(subscriber.frames)
    await call.until(
        lambda: all(subscriber.frames[k] >= shown[k] + 10 for k in shown),
        "both kinds from the new publisher",
        within=8,
    )
    assert subscriber.sizes == {(160, 120)}
    assert call.publisher.keyframe_requests >= 1  # the subscriber's video restarted on one


async def test_a_removed_subscriber_is_forwarded_nothing_more(call: Call) -> None:
    await call.publish()
    subscriber = await call.subscribe()
    await call.frames_everywhere(3, [subscriber])
    await call.relay.remove_subscriber(next(iter(call.relay.subscribers)))
    assert call.relay.outgoing == {"audio": [], "video": []}
    seen = call.relay.frames_in["video"]
    await call.until(lambda: call.relay.frames_in["video"] > seen + 5, "the publisher, still")
