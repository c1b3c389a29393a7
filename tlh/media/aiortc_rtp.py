"""aiortc's (and aioice's) private packet path, for forwarding RTP packet by packet.

``tlh.media.aiortc_private`` holds the private parts the relay uses at the frame level;
this module those it uses below it, to take a publisher's packets as they come off the
wire and put rewritten packets on each subscriber's wire without aiortc's receiver,
jitter buffer, sender task or asyncio queues (read from aiortc 1.16.0 and aioice 0.13,
both pinned in pyproject.toml; tests/media/test_aiortc_rtp.py checks each part):

- ``aioice.StunProtocol.datagram_received(data, addr)``: where asyncio hands each
  socket's datagrams (aioice parses each as STUN first);
  ``aioice.Connection.data_received(data, component)``: where the protocol hands every
  datagram that is not STUN (it queues it for ``recv()``, which the DTLS transport
  awaits); ``Connection._nominated[component]``: the selected ``CandidatePair``, whose
  ``protocol.transport`` (an asyncio datagram transport) and ``remote_addr`` send;
  ``Connection._protocols``: every local socket's protocol.
- asyncio's ``_SelectorDatagramTransport.max_size``: the buffer each ``recvfrom`` asks for.
- ``RTCIceTransport._connection``: the transport's aioice ``Connection``.
- ``RTCDtlsTransport._rx_srtp`` / ``_tx_srtp`` (pylibsrtp sessions, set once the
  handshake is done), ``_state`` (``State.CONNECTED`` while it may send),
  ``_rtp_header_extensions_map`` and ``_rtp_router.route_rtp(packet)`` (aiortc's own
  SSRC / payload type routing, used once per new SSRC).
- ``RTCRtpTransceiver._codecs`` and ``_headerExtensions``: what was negotiated.
- ``RTCRtpSender._retransmit(seq)``: called by ``_handle_rtcp_packet`` per NACKed packet;
  ``_ssrc``, ``_rtx_ssrc``; and ``__ntp_timestamp``, ``__rtp_timestamp``,
  ``__packet_count``, ``__octet_count``: what its RTCP task puts in each Sender Report.
- ``RTCRtpReceiver.__remote_streams`` (``StreamStatistics`` by SSRC: what its RTCP task
  puts in each Receiver Report), ``_send_rtcp``, ``_send_rtcp_nack``, ``_send_rtcp_pli``
  and ``__rtcp_ssrc`` (its SSRC in RTCP).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import pylibsrtp
from aiortc import RTCRtpReceiver, RTCRtpSender, RTCRtpTransceiver
from aiortc.codecs import is_rtx
from aiortc.rtcdtlstransport import RTCDtlsTransport, State
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, RtpPacket, pack_remb_fci

logger = logging.getLogger(__name__)

#: The aioice release these parts were read from (aiortc's is in aiortc_private).
AIOICE_VERSION = "0.13.0"
MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"

_REMOTE_STREAMS = "_RTCRtpReceiver__remote_streams"
_RTCP_SSRC = "_RTCRtpReceiver__rtcp_ssrc"
_SR_NTP = "_RTCRtpSender__ntp_timestamp"
_SR_RTP = "_RTCRtpSender__rtp_timestamp"
_SR_PACKETS = "_RTCRtpSender__packet_count"
_SR_OCTETS = "_RTCRtpSender__octet_count"
#: The largest UDP payload there is (IPv4's 65,507 rounded up).
MAX_DATAGRAM = 65_536
#: Seconds from the NTP epoch (1900) to the Unix epoch (1970).
NTP_UNIX = 2_208_988_800


def ntp_now() -> int:
    """The time as a 64-bit NTP timestamp (what aiortc's ``clock.current_ntp_time`` gives)."""
    return int((time.time() + NTP_UNIX) * 4294967296.0)


def is_srtp(data: bytes) -> bool:
    """An SRTP (not SRTCP) datagram, told apart as aiortc's DTLS transport does."""
    return len(data) >= 12 and 127 < data[0] < 192 and not 191 < data[1] < 209


def small_reads(dtls: RTCDtlsTransport) -> int:
    """Read ``dtls``'s datagrams with a 64 KiB buffer instead of asyncio's 256 KiB.

    asyncio's datagram transport asks ``recvfrom`` for ``max_size`` (256 KiB) bytes: glibc
    maps that much for every datagram, shrinks it and unmaps it (mmap + mremap + munmap +
    page faults: a third of the relay's CPU at one subscriber). No UDP datagram is larger
    than 64 KiB, which comes from the heap. Returns how many sockets it changed.
    """
    changed = 0
    for protocol in dtls.transport._connection._protocols:
        transport = getattr(protocol, "transport", None)
        if isinstance(getattr(transport, "max_size", None), int):
            transport.max_size = MAX_DATAGRAM  # type: ignore[union-attr]
            changed += 1
    return changed


def take_rtp(dtls: RTCDtlsTransport, handler: Callable[[bytes], None]) -> None:
    """Hand every SRTP packet ``dtls`` receives, decrypted, to ``handler``, on the spot.

    Everything else (STUN, DTLS, SRTCP, what comes before the keys) goes on to aiortc as
    before. Packets that do not decrypt are dropped, as aiortc drops them. The hook sits
    in each socket's protocol (before aioice tries, and fails, to parse the packet as
    STUN) and, for any other path, where aioice queues non-STUN datagrams.
    """
    connection = dtls.transport._connection

    failed = [False]

    def take(data: bytes) -> bool:
        srtp = dtls._rx_srtp
        if srtp is None or not is_srtp(data):
            return False
        try:
            plain = srtp.unprotect(data)
        except pylibsrtp.Error:
            return True
        try:
            handler(plain)
        except Exception as exc:  # a bug must not reach asyncio's datagram transport
            if not failed[0]:  # once per connection: this runs per packet
                failed[0] = True
                logger.exception("relay: handling an RTP packet failed: %s", type(exc).__name__)
        return True

    queue_it = connection.data_received

    def data_received(data: bytes, component: int) -> None:
        if not take(data):
            queue_it(data, component)

    connection.data_received = data_received  # type: ignore[method-assign]
    for protocol in connection._protocols:
        _take_first(protocol, take)


def _take_first(protocol: Any, take: Callable[[bytes], bool]) -> None:
    """Let ``take`` see ``protocol``'s datagrams before aioice parses them as STUN."""
    stun_first: Callable[[bytes, tuple[Any, ...]], None] = protocol.datagram_received

    def datagram_received(data: bytes, addr: tuple[Any, ...]) -> None:
        if not take(data):
            stun_first(data, addr)

    protocol.datagram_received = datagram_received


class RtpOutlet:
    """Sends plain RTP on a sender's (bundled) DTLS transport, synchronously, and keeps
    the figures the sender's own RTCP task puts in its Sender Reports."""

    __slots__ = ("_addr", "_pair", "_report", "_sender", "_sendto", "octets", "packets")

    def __init__(self, sender: RTCRtpSender) -> None:
        self._sender = sender
        #: The sender's attributes its RTCP task reads (written per packet: a dict store
        #: is cheaper than setattr of a mangled name).
        self._report: dict[str, Any] = vars(sender)
        self._pair: Any = None
        self._sendto: Callable[[bytes, tuple[str, int]], None] | None = None
        self._addr: tuple[str, int] = ("", 0)
        self.packets = 0
        self.octets = 0

    def send(self, packet: bytes) -> bool:
        """Protect and send ``packet``; False when the transport cannot send now."""
        dtls = self._sender.transport
        if dtls._state is not State.CONNECTED:
            return False
        pair = dtls.transport._connection._nominated.get(1)
        if pair is None:
            return False
        if pair is not self._pair:
            self._pair, self._sendto = pair, pair.protocol.transport.sendto
            self._addr = pair.remote_addr
        try:
            data = dtls._tx_srtp.protect(packet)
        except pylibsrtp.Error:
            return False
        assert self._sendto is not None
        self._sendto(data, self._addr)
        return True

    def send_new(self, packet: bytes, ntp: int, rtp_timestamp: int, octets: int) -> bool:
        """``send`` a packet sent for the first time (at ``ntp``, carrying ``octets`` of
        payload), counted in the sender's reports."""
        # ``send``'s lines, inlined: this runs per packet and subscriber.
        dtls = self._sender.transport
        if dtls._state is not State.CONNECTED:
            return False
        pair = dtls.transport._connection._nominated.get(1)
        if pair is not self._pair:
            if pair is None:
                return False
            self._pair, self._sendto = pair, pair.protocol.transport.sendto
            self._addr = pair.remote_addr
        try:
            data = dtls._tx_srtp.protect(packet)
        except pylibsrtp.Error:
            return False
        assert self._sendto is not None
        self._sendto(data, self._addr)
        self.packets += 1
        self.octets += octets
        report = self._report
        report[_SR_NTP] = ntp
        report[_SR_RTP] = rtp_timestamp
        report[_SR_PACKETS] = self.packets & 0xFFFFFFFF
        report[_SR_OCTETS] = self.octets & 0xFFFFFFFF
        return True


def on_retransmit_request(sender: RTCRtpSender, callback: Callable[[int], None]) -> None:
    """Answer the remote side's NACKs to ``sender`` with ``callback(sequence number)``
    (aiortc's own answer looks in a history its sender task alone fills)."""

    async def retransmit(sequence_number: int) -> None:
        callback(sequence_number)

    sender._retransmit = retransmit  # type: ignore[method-assign]


def sender_ssrcs(sender: RTCRtpSender) -> tuple[int, int]:
    """The SSRCs ``sender`` announced: (media, RTX)."""
    return sender._ssrc, sender._rtx_ssrc


def negotiated_codecs(transceiver: RTCRtpTransceiver) -> list[RTCRtpCodecParameters]:
    """The codecs negotiated for ``transceiver``, preferred first (empty before)."""
    return list(transceiver._codecs)


def extension_id(transceiver: RTCRtpTransceiver, uri: str) -> int:
    """The negotiated id of header extension ``uri`` on ``transceiver`` (0: none)."""
    return next((e.id for e in transceiver._headerExtensions if e.uri == uri), 0)


def rtx_payload_type(codecs: list[RTCRtpCodecParameters], payload_type: int | None) -> int | None:
    """The payload type of the RTX codec for ``payload_type`` among ``codecs``."""
    return next(
        (c.payloadType for c in codecs if is_rtx(c) and c.parameters.get("apt") == payload_type),
        None,
    )


def route(dtls: RTCDtlsTransport, plain: bytes) -> RTCRtpReceiver | None:
    """The receiver aiortc would hand ``plain`` (a decrypted RTP packet) to, if any."""
    try:
        packet = RtpPacket.parse(plain, dtls._rtp_header_extensions_map)
    except ValueError:
        return None
    found = dtls._rtp_router.route_rtp(packet)
    return found if isinstance(found, RTCRtpReceiver) else None


class ReceptionStatistics(StreamStatistics):
    """aiortc's per-SSRC reception figures, fed a packet's numbers instead of a packet."""

    def note(self, seq: int, timestamp: int) -> None:
        """One packet received (StreamStatistics.add, without an RtpPacket)."""
        in_order = self.max_seq is None or (seq - self.max_seq) & 0xFFFF < 0x8000
        self.packets_received += 1
        if self.base_seq is None:
            self.base_seq = seq
        if in_order:
            arrival = int(time.time() * self._clockrate)
            if self.max_seq is not None and seq < self.max_seq:
                self.cycles += 1 << 16
            self.max_seq = seq
            if timestamp != self._last_timestamp and self.packets_received > 1:
                assert self._last_arrival is not None
                assert self._last_timestamp is not None
                diff = abs((arrival - self._last_arrival) - (timestamp - self._last_timestamp))
                self._jitter_q4 += diff - ((self._jitter_q4 + 8) >> 4)
            self._last_arrival = arrival
            self._last_timestamp = timestamp


def reception_statistics(
    receiver: RTCRtpReceiver, ssrc: int, clock_rate: int
) -> ReceptionStatistics:
    """Figures for ``ssrc`` that ``receiver``'s Receiver Reports will carry."""
    streams: dict[int, StreamStatistics] = getattr(receiver, _REMOTE_STREAMS)
    stats = ReceptionStatistics(clock_rate)
    streams[ssrc] = stats
    return stats


async def send_pli(receiver: RTCRtpReceiver, media_ssrc: int) -> None:
    """Ask the remote sender of ``media_ssrc`` for a keyframe (RTCP PLI)."""
    await receiver._send_rtcp_pli(media_ssrc)


async def send_nack(receiver: RTCRtpReceiver, media_ssrc: int, lost: list[int]) -> None:
    """Ask the remote sender of ``media_ssrc`` to send packets ``lost`` again."""
    await receiver._send_rtcp_nack(media_ssrc, lost)


async def send_remb(receiver: RTCRtpReceiver, bitrate: int, ssrcs: list[int]) -> None:
    """Tell the remote sender the bitrate estimated for ``ssrcs`` (RTCP REMB)."""
    rtcp_ssrc = getattr(receiver, _RTCP_SSRC)
    if rtcp_ssrc is not None:
        fci = pack_remb_fci(bitrate, ssrcs)
        await receiver._send_rtcp(
            RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=rtcp_ssrc, media_ssrc=0, fci=fci)
        )
