"""Each private aiortc/aioice part of the relay's packet path, tested on its own
(tlh.media.aiortc_rtp).

These fail when an aiortc or aioice upgrade renames or reshapes one of them, instead of
the relay quietly dropping every packet, sending nothing, or reporting zeros.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator, Callable

import aioice
import pytest
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender
from aiortc.clock import current_ntp_time
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpSrPacket,
    unpack_remb_fci,
)

from tlh.media import aiortc_private, aiortc_rtp
from tlh.media.ice import configuration
from tlh.media.relay import SenderTrack, codec_preferences

from .support import negotiate


class Line:
    """A video sender whose packets the test writes itself, and a receiver of them."""

    def __init__(self) -> None:
        self.changed = asyncio.Event()
        self.sending = RTCPeerConnection(configuration())
        self.receiving = RTCPeerConnection(configuration())
        self.started = False
        self.track = SenderTrack("video", self._started)
        transceiver = self.sending.addTransceiver(self.track, direction="sendonly")
        transceiver.setCodecPreferences(codec_preferences("video"))
        self.sender: RTCRtpSender = transceiver.sender
        self.sender_transceiver = transceiver
        self.transceiver = self.receiving.addTransceiver("video", direction="recvonly")
        self.receiver: RTCRtpReceiver = self.transceiver.receiver
        aiortc_private.tap_encoded_frames(self.receiver, lambda codec, frame: None)
        self.at_sender: list[object] = []
        self.at_receiver: list[object] = []
        self._keep(self.sender, self.at_sender)
        self._keep(self.receiver, self.at_receiver)
        for pc in (self.sending, self.receiving):
            pc.on("connectionstatechange", self.changed.set)

    def _started(self) -> None:
        self.started = True
        self.changed.set()

    def _keep(self, part: RTCRtpSender | RTCRtpReceiver, kept: list[object]) -> None:
        handle = part._handle_rtcp_packet

        async def handled(packet: object) -> None:
            kept.append(packet)
            self.changed.set()
            await handle(packet)  # type: ignore[arg-type]

        part._handle_rtcp_packet = handled  # type: ignore[method-assign]

    async def until(self, condition: Callable[[], bool], what: str, within: float = 6) -> None:
        try:
            async with asyncio.timeout(within):
                while not condition():
                    self.changed.clear()
                    await self.changed.wait()
        except TimeoutError:
            raise AssertionError(f"timed out waiting for {what}") from None

    async def connect(self) -> None:
        await negotiate(self.sending, self.receiving)
        await self.until(lambda: self.started, "the sender started")
        await self.until(lambda: self.receiving.connectionState == "connected", "connected")

    def packet(self, seq: int, payload: bytes = b"\x10\x10\x02\x00") -> bytes:
        """An RTP packet as the sender would send it (its SSRC and payload type)."""
        pt = aiortc_rtp.negotiated_codecs(self.sender_transceiver)[0].payloadType
        assert pt is not None
        return struct.pack("!BBHII", 0x80, 0x80 | pt, seq, seq * 3000, self.sender._ssrc) + payload

    async def close(self) -> None:
        self.track.stop()
        for pc in (self.sending, self.receiving):
            await aiortc_private.close_peer(pc)


@pytest.fixture
async def line() -> AsyncIterator[Line]:
    made = Line()
    try:
        yield made
    finally:
        await made.close()


def test_the_pinned_aioice_is_the_one_installed() -> None:
    assert aioice.__version__ == aiortc_rtp.AIOICE_VERSION


def test_ntp_time_is_aiortcs() -> None:
    assert abs(aiortc_rtp.ntp_now() - current_ntp_time()) < 2**32 // 10  # within 0.1 s


def test_srtp_and_srtcp_are_told_apart_as_aiortc_does() -> None:
    assert aiortc_rtp.is_srtp(b"\x80\x60" + b"\x00" * 10)
    assert not aiortc_rtp.is_srtp(b"\x80\xc8" + b"\x00" * 10)  # sender report
    assert not aiortc_rtp.is_srtp(b"\x16\xfe\xfd" + b"\x00" * 10)  # DTLS
    assert not aiortc_rtp.is_srtp(b"\x80\x60")


async def test_negotiated_parameters_are_read(line: Line) -> None:
    await line.connect()
    codecs = aiortc_rtp.negotiated_codecs(line.sender_transceiver)
    assert [c.mimeType for c in codecs] == ["video/VP8", "video/rtx"]
    assert aiortc_rtp.rtx_payload_type(codecs, codecs[0].payloadType) == codecs[1].payloadType
    assert aiortc_rtp.rtx_payload_type(codecs, 1) is None
    assert aiortc_rtp.extension_id(line.transceiver, aiortc_rtp.MID_URI) > 0
    assert aiortc_rtp.extension_id(line.transceiver, "urn:nothing") == 0
    media, rtx = aiortc_rtp.sender_ssrcs(line.sender)
    assert media != rtx
    assert f"a=ssrc:{media} " in line.sending.localDescription.sdp


async def test_written_packets_arrive_decrypted_and_counted_in_sender_reports(
    line: Line,
) -> None:
    outlet = aiortc_rtp.RtpOutlet(line.sender)
    assert not outlet.send(b"\x80\x60" + bytes(10))  # not connected yet
    await line.connect()
    assert aiortc_rtp.small_reads(line.receiver.transport) >= 1
    arrived: list[bytes] = []

    def take(plain: bytes) -> None:
        arrived.append(plain)
        line.changed.set()

    aiortc_rtp.take_rtp(line.receiver.transport, take)
    sent = [line.packet(seq) for seq in (10, 11, 12)]
    for seq, packet in zip((10, 11, 12), sent, strict=True):
        assert outlet.send_new(packet, aiortc_rtp.ntp_now(), seq * 3000, 4)
    await line.until(lambda: len(arrived) == 3, "three packets")
    assert arrived == sent

    def reports() -> list[RtcpSrPacket]:
        return [p for p in line.at_receiver if isinstance(p, RtcpSrPacket)]

    await line.until(lambda: any(r.sender_info.packet_count for r in reports()), "an SR")
    info = reports()[-1].sender_info
    assert (info.packet_count, info.octet_count, info.rtp_timestamp) == (3, 12, 36_000)


async def test_nacks_reach_the_retransmit_callback(line: Line) -> None:
    asked: list[int] = []

    def retransmit(seq: int) -> None:
        asked.append(seq)
        line.changed.set()

    aiortc_rtp.on_retransmit_request(line.sender, retransmit)
    await line.connect()
    await aiortc_rtp.send_nack(line.receiver, line.sender._ssrc, [7, 9])
    await line.until(lambda: asked == [7, 9], "both NACKed packets")


async def test_a_pli_and_a_remb_reach_the_sender(line: Line) -> None:
    keyframes = [0]

    def asked() -> None:
        keyframes[0] += 1
        line.changed.set()

    aiortc_private.on_keyframe_request(line.sender, asked)
    await line.connect()
    await aiortc_rtp.send_pli(line.receiver, line.sender._ssrc)
    await aiortc_rtp.send_remb(line.receiver, 800_000, [line.sender._ssrc])
    await line.until(lambda: keyframes[0] == 1, "the PLI")

    def estimates() -> list[tuple[int, list[int]]]:
        return [
            unpack_remb_fci(p.fci)
            for p in line.at_sender
            if isinstance(p, RtcpPsfbPacket) and p.fmt == RTCP_PSFB_APP
        ]

    await line.until(lambda: bool(estimates()), "the REMB")
    bitrate, ssrcs = estimates()[0]
    assert 790_000 < bitrate <= 800_000  # REMB's mantissa/exponent rounding
    assert ssrcs == [line.sender._ssrc]


async def test_reception_figures_go_out_in_receiver_reports(line: Line) -> None:
    await line.connect()
    ssrc = line.sender._ssrc
    stats = aiortc_rtp.reception_statistics(line.receiver, ssrc, 90_000)
    for seq in (100, 101, 103):  # 102 lost
        stats.note(seq, seq * 3000)

    def reports() -> list[object]:
        return [
            r
            for p in line.at_sender
            if isinstance(p, RtcpRrPacket)
            for r in p.reports
            if r.ssrc == ssrc
        ]

    await line.until(lambda: bool(reports()), "a receiver report")
    report = reports()[-1]
    assert report.highest_sequence == 103  # type: ignore[attr-defined]
    assert report.packets_lost == 1  # type: ignore[attr-defined]


async def test_a_packet_is_routed_as_aiortc_routes_it(line: Line) -> None:
    await line.connect()
    assert aiortc_rtp.route(line.receiver.transport, line.packet(1)) is line.receiver
    assert aiortc_rtp.route(line.receiver.transport, b"\x80") is None
    stray = struct.pack("!BBHII", 0x80, 0x80 | 33, 1, 0, 0xDEAD)
    assert aiortc_rtp.route(line.receiver.transport, stray) is None
