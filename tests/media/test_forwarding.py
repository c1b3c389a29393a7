"""Packet-level forwarding on plain bytes (tlh.media.forwarding): header rewriting,
keyframe starts, sequence continuity, retransmission, loss tracking."""

from __future__ import annotations

import struct

from tlh.media.forwarding import (
    GUARD,
    HISTORY,
    KeyframeGate,
    LossTracker,
    Outgoing,
    header_extension,
    one_byte_extensions,
    vp8_keyframe_start,
)

SSRC_IN = 0x1111
PT_IN = 96


def rtp(
    seq: int,
    ts: int,
    payload: bytes,
    *,
    pt: int = PT_IN,
    marker: bool = False,
    ssrc: int = SSRC_IN,
    extensions: bytes = b"",
    padding: int = 0,
) -> bytes:
    """A plain RTP packet as a publisher sends it."""
    first = 0x80 | (0x10 if extensions else 0) | (0x20 if padding else 0)
    head = struct.pack("!BBHII", first, (0x80 if marker else 0) | pt, seq, ts, ssrc)
    pad = b"\x00" * (padding - 1) + bytes([padding]) if padding else b""
    return head + extensions + payload + pad


def fields(packet: bytes) -> tuple[int, int, int, int, int]:
    """(payload type, marker, seq, timestamp, SSRC) of an RTP packet."""
    first, second, seq, ts, ssrc = struct.unpack_from("!BBHII", packet)
    assert first >> 6 == 2
    return second & 0x7F, second >> 7, seq, ts, ssrc


KEY = b"\x90\x80\x81\x23" + b"\x10\x02\x00\x9d\x01\x2a"  # X, I (15-bit id), S; key tag
DELTA = b"\x90\x80\x81\x24" + b"\x31\x02\x00"  # S, but an inter frame
MIDDLE = b"\x80\x80\x81\x24" + b"\x00" * 8  # not the start of a frame


class Wire:
    """An outlet that keeps what it is given; ``up`` False: not connected."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.new: list[tuple[int, int, int]] = []
        self.up = True

    def send(self, packet: bytes) -> bool:
        if self.up:
            self.sent.append(packet)
        return self.up

    def send_new(self, packet: bytes, ntp: int, rtp_timestamp: int, octets: int) -> bool:
        if self.up:
            self.new.append((ntp, rtp_timestamp, octets))
        return self.send(packet)


def video(wire: Wire, *, rtx: bool = True) -> Outgoing:
    out = Outgoing("video", wire)
    out.configure(100, 0xAAAA, 101 if rtx else None, 0xBBBB, (3, "1"))
    return out


def forward(out: Outgoing, packet: bytes, *, header: int = 12) -> bool:
    seq, ts = struct.unpack_from("!HI", packet, 2)
    start = vp8_keyframe_start(packet, header, len(packet))
    return out.forward(packet, seq, ts, header, start, ntp=7)


def test_keyframe_starts_are_told_from_the_payload_descriptor_and_frame_tag() -> None:
    def starts(payload: bytes) -> bool:
        return vp8_keyframe_start(b"\x00" * 12 + payload, 12, 12 + len(payload))

    assert starts(KEY)
    assert starts(b"\x10\x10\x02")  # no extension octet
    assert starts(b"\x90\x80\x05\x10")  # 7-bit picture id
    assert starts(b"\x90\xe0\x81\x23\x07\x40\x10")  # picture id, TL0PICIDX, TID
    assert not starts(DELTA)
    assert not starts(MIDDLE)
    assert not starts(b"\x11\x10")  # S but partition 1
    assert not starts(b"\x90\x80\x81")  # cut short
    assert not starts(b"")


def test_a_header_extension_is_found_by_its_id() -> None:
    block = one_byte_extensions([(1, "0"), (3, "abc")])
    packet = rtp(1, 0, b"x", extensions=block)
    assert header_extension(packet, 3) == b"abc"
    assert header_extension(packet, 1) == b"0"
    assert header_extension(packet, 2) is None
    assert header_extension(rtp(1, 0, b"x"), 3) is None


def test_a_forwarded_packet_carries_the_subscribers_identity_and_the_payload_unchanged() -> None:
    wire = Wire()
    out = video(wire)
    assert forward(out, rtp(5000, 90_000, KEY, marker=True))
    (packet,) = wire.sent
    pt, marker, _, ts, ssrc = fields(packet)
    assert (pt, marker, ssrc) == (100, 1, 0xAAAA)
    assert packet.endswith(KEY)
    assert header_extension(packet, 3) == b"1"  # the subscriber's MID
    assert wire.new == [(7, ts, len(KEY))]  # counted for its Sender Reports


def test_video_waits_for_a_keyframe_and_then_keeps_every_gap() -> None:
    wire = Wire()
    out = video(wire)
    assert not forward(out, rtp(10, 0, DELTA))  # waits: the relay asks for a keyframe
    assert not forward(out, rtp(11, 0, MIDDLE))
    assert wire.sent == []
    assert forward(out, rtp(12, 3000, KEY))
    assert forward(out, rtp(13, 3000, MIDDLE, marker=True))
    assert forward(out, rtp(15, 6000, DELTA))  # 14 was lost upstream
    seqs = [fields(p)[2] for p in wire.sent]
    stamps = [fields(p)[3] for p in wire.sent]
    assert [(s - seqs[0]) & 0xFFFF for s in seqs] == [0, 1, 3]  # the gap stays visible
    assert [(t - stamps[0]) & 0xFFFFFFFF for t in stamps] == [0, 0, 3000]


def test_a_start_waits_while_the_subscriber_cannot_be_sent_to() -> None:
    wire = Wire()
    wire.up = False
    out = video(wire)
    assert forward(out, rtp(1, 0, KEY))  # not a keyframe request: it is not connected
    wire.up = True
    assert not forward(out, rtp(2, 0, MIDDLE))  # its keyframe never went out: wait again
    assert forward(out, rtp(3, 3000, KEY))
    assert len(wire.sent) == 1


def test_a_restart_continues_the_subscribers_numbering() -> None:
    wire = Wire()
    out = video(wire)
    forward(out, rtp(100, 1000, KEY))
    forward(out, rtp(101, 4000, DELTA, marker=True))
    out.restart()  # a new publisher: its own numbering, far away
    assert not forward(out, rtp(40_000, 777_777, DELTA, ssrc=0x2222))
    forward(out, rtp(40_001, 780_777, KEY, ssrc=0x2222))
    seqs = [fields(p)[2] for p in wire.sent]
    stamps = [fields(p)[3] for p in wire.sent]
    assert (seqs[2] - seqs[1]) & 0xFFFF == 1
    assert 0 < (stamps[2] - stamps[1]) & 0xFFFFFFFF <= 3000


def test_a_packet_from_before_the_start_is_not_sent() -> None:
    wire = Wire()
    out = video(wire)
    forward(out, rtp(500, 0, KEY))
    forward(out, rtp(499, 0, MIDDLE))  # a late retransmission of the frame before
    assert len(wire.sent) == 1


def test_sequence_numbers_wrap_on_a_long_stream() -> None:
    wire = Wire()
    out = Outgoing("audio", wire)
    out.configure(111, 0xCCCC, None, 0, None)
    for n in range(70_000):  # more than 2**16 packets: the subscriber's numbers wrap
        assert out.forward(rtp(n & 0xFFFF, n * 960, b"opus"), n & 0xFFFF, n * 960, 12, True, 0)
    assert len(wire.sent) == 70_000
    first, last = fields(wire.sent[0])[2], fields(wire.sent[-1])[2]
    assert (last - first) & 0xFFFF == (70_000 - 1) & 0xFFFF
    assert GUARD < 70_000
    assert out.guarding is False  # the start is long past: its check stopped


def test_padding_is_forwarded_as_it_came() -> None:
    wire = Wire()
    out = video(wire)
    packet = rtp(1, 0, KEY, padding=4)
    assert out.forward(packet, 1, 0, 12, True, 0)
    sent = wire.sent[0]
    assert sent[0] & 0x20  # P bit
    assert sent.endswith(KEY + b"\x00\x00\x00\x04")
    assert wire.new[0][2] == len(KEY) + 4


def test_a_nacked_packet_is_sent_again_as_rtx() -> None:
    wire = Wire()
    out = video(wire)
    for n in range(5):
        forward(out, rtp(1000 + n, 0, KEY if n == 0 else MIDDLE))
    lost = wire.sent[2]
    seq = fields(lost)[2]
    out.retransmit(seq)
    out.retransmit((seq + 100) & 0xFFFF)  # never sent: nothing
    assert out.retransmitted == 1
    rtx = wire.sent[-1]
    pt, _, _, ts, ssrc = fields(rtx)
    assert (pt, ssrc, ts) == (101, 0xBBBB, fields(lost)[3])
    body = 12 + len(one_byte_extensions([(3, "1")]))
    assert rtx[body : body + 2] == struct.pack("!H", seq)  # the original sequence number
    assert rtx[body + 2 :] == MIDDLE
    assert len(wire.new) == 5  # retransmissions are not new packets


def test_without_rtx_a_nacked_packet_is_sent_again_as_it_was() -> None:
    wire = Wire()
    out = video(wire, rtx=False)
    forward(out, rtp(7, 0, KEY))
    out.retransmit(fields(wire.sent[0])[2])
    assert wire.sent[1] == wire.sent[0]


def test_history_keeps_the_last_packets_only() -> None:
    wire = Wire()
    out = video(wire)
    for n in range(HISTORY + 10):
        forward(out, rtp(n, 0, KEY if n == 0 else MIDDLE))
    out.retransmit(fields(wire.sent[0])[2])  # overwritten since
    out.retransmit(fields(wire.sent[-1])[2])
    assert out.retransmitted == 1


def test_losses_are_found_and_forgotten_as_aiortc_does() -> None:
    loss = LossTracker()
    assert not loss.add(65_534)
    assert not loss.add(65_535)
    assert loss.add(2)  # 0 and 1 missing, across the wrap
    assert loss.missing == {0, 1}
    assert not loss.add(1)  # late arrival
    assert loss.missing == {0}
    assert not loss.add(1_000)  # a jump: a restart, nothing to ask for
    assert loss.missing == set()
    assert loss.add(1_002)
    assert loss.add(1_100)
    assert loss.missing == {1_001, *range(1_003, 1_100)}
    assert loss.add(1_200)  # 1_001 is now too old to ask for
    assert loss.missing == {*range(1_072, 1_100), *range(1_101, 1_200)}


def test_extension_blocks_are_padded_to_words() -> None:
    assert one_byte_extensions([]) == b""
    block = one_byte_extensions([(3, "1")])
    assert block == b"\xbe\xde\x00\x01" + b"\x30" + b"1" + b"\x00\x00"


def test_keyframe_requests_are_rate_limited() -> None:
    gate = KeyframeGate(0.5)
    assert not gate.due(0.0)  # nobody asked
    gate.want()
    assert gate.due(0.0)
    gate.want()
    assert not gate.due(0.3)  # too soon: kept pending
    assert gate.due(0.6)
    assert not gate.due(5.0)  # sent; nobody asked again
