"""RTP packets forwarded as they are, with their headers rewritten per subscriber (no aiortc).

The relay used to re-assemble each frame (aiortc's jitter buffer), hand it to every
subscriber's sender as an ``av.Packet``, and cut it into packets again: at 1 subscriber
that machinery, two asyncio hops per packet and the objects it made cost 5-6 % of a core
for one 1 Mbit/s stream. Here a packet from the publisher is read once (by the relay's
inlet) and written to each subscriber with that subscriber's payload type, SSRC, sequence and
timestamp offsets and its MID (``Outgoing.forward``): one ``bytes`` per subscriber, no
other object.

- sequence numbers: a subscriber's stream starts at a packet of the publisher's (for
  video a keyframe's first packet) and maps every later one by a fixed offset, so a loss
  upstream stays a gap the subscriber can see (and NACK), and a restart (new publisher,
  new SSRC) continues the subscriber's numbering without a jump;
- timestamps: the same, by a fixed offset per start;
- retransmissions: the last ``HISTORY`` video packets sent are kept (the bytes already
  made) and re-sent on a NACK, as RTX when the subscriber negotiated it.

Everything here is plain bytes and integers; ``relay_inlet`` and ``aiortc_rtp`` tie it
to aiortc.
"""

from __future__ import annotations

import random
import struct
from typing import Protocol

#: Packets kept per video subscriber for retransmission (aiortc's sender keeps 128).
HISTORY = 128
#: A jump larger than this in sequence numbers is a restart, not a loss (nothing NACKed).
MAX_GAP = 128
#: Packets after a stream's start beyond which none from before it can still arrive
#: (retransmissions come from a history of ~128): the check then stops, so the
#: sequence numbers can wrap.
GUARD = 0x4000
#: Timestamp step put between the last packet before a restart and the first after it.
RESTART_STEP = {"audio": 960, "video": 3000}

_FIXED = struct.Struct("!BBHII")
_SEQ_TS_SSRC = struct.Struct("!HII")  # from byte 2
_OSN = struct.Struct("!H")


class Outlet(Protocol):
    """A subscriber's wire (``aiortc_rtp.RtpOutlet``): each returns False when it cannot
    send now (not connected yet, or any more)."""

    def send(self, packet: bytes) -> bool:
        """Send ``packet`` (a retransmission: not counted in the sender's reports)."""

    def send_new(self, packet: bytes, ntp: int, rtp_timestamp: int, octets: int) -> bool:
        """Send ``packet`` for the first time, at ``ntp``, counted in the reports."""


def header_extension(data: bytes, ext_id: int) -> bytes | None:
    """The value of one-byte header extension ``ext_id`` (RFC 8285), if present."""
    first = data[0]
    if not first & 0x10 or not ext_id:
        return None
    start = 12 + 4 * (first & 0x0F)
    if len(data) < start + 4 or data[start] != 0xBE or data[start + 1] != 0xDE:
        return None
    pos = start + 4
    end = min(len(data), pos + 4 * ((data[start + 2] << 8) | data[start + 3]))
    while pos < end:
        byte = data[pos]
        if byte == 0:
            pos += 1
            continue
        length = (byte & 0x0F) + 1
        if byte >> 4 == ext_id:
            return data[pos + 1 : pos + 1 + length]
        if byte >> 4 == 15:
            return None
        pos += 1 + length
    return None


def vp8_keyframe_start(data: bytes, offset: int, end: int) -> bool:
    """Whether the VP8 payload at ``data[offset:end]`` begins a keyframe (RFC 7741 4.2-4.3:
    S set and partition 0, then the frame tag's inverse key frame bit clear)."""
    if end - offset < 2:
        return False
    descriptor = data[offset]
    if descriptor & 0x17 != 0x10:  # S=1, PID=0
        return False
    pos = offset + 1
    if descriptor & 0x80:  # X: an extension octet
        ext = data[pos]
        pos += 1
        if ext & 0x80:  # I: PictureID, 7 or 15 bits
            if pos >= end:
                return False
            pos += 2 if data[pos] & 0x80 else 1
        if ext & 0x40:  # L: TL0PICIDX
            pos += 1
        if ext & 0x30:  # T or K: TID/Y/KEYIDX
            pos += 1
    return pos < end and data[pos] & 0x01 == 0


class KeyframeGate:
    """At most one keyframe request per ``interval`` s; a request in between waits."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.pending = False
        self._last: float | None = None

    def want(self) -> None:
        """Someone needs a keyframe."""
        self.pending = True

    def due(self, now: float) -> bool:
        """Whether to send a request now (and note it as sent)."""
        if not self.pending or (self._last is not None and now - self._last < self.interval):
            return False
        self.pending = False
        self._last = now
        return True


class LossTracker:
    """Sequence numbers missing from a stream, for NACKs (aiortc's NackGenerator, on ints)."""

    __slots__ = ("max_seq", "missing")

    def __init__(self) -> None:
        self.max_seq: int | None = None
        self.missing: set[int] = set()

    def add(self, seq: int) -> bool:
        """Note ``seq`` received; True when it revealed newly missing packets."""
        last = self.max_seq
        if last is None:
            self.max_seq = seq
            return False
        ahead = (seq - last) & 0xFFFF
        if ahead == 0 or ahead >= 0x8000:
            self.missing.discard(seq)
            return False
        self.max_seq = seq
        if ahead == 1:
            return False
        if ahead > MAX_GAP:  # a restart, or too old to ask for
            self.missing.clear()
            return False
        # Only on a new gap (rare): what is older than MAX_GAP is no longer asked for.
        kept = {s for s in self.missing if (seq - s) & 0xFFFF <= MAX_GAP}
        kept.update((last + n) & 0xFFFF for n in range(1, ahead))
        self.missing = kept
        return True


class Outgoing:
    """One subscriber's stream of one kind: the publisher's packets, rewritten.

    ``configure`` (once the subscriber's connection is negotiated) gives the
    subscriber's payload type(s), SSRC(s) and MID extension; until then, and while the
    connection cannot send, nothing is forwarded. Video starts on a keyframe.
    """

    __slots__ = (
        "configured", "extension", "first_byte", "first_seq", "guarding", "history", "kind",
        "last_seq", "last_ts", "mapped", "outlet", "packets", "pt", "retransmitted", "rtx_pt",
        "rtx_seq", "rtx_ssrc", "seq_offset", "ssrc", "ts_offset",
    )  # fmt: skip

    def __init__(self, kind: str, outlet: Outlet) -> None:
        self.kind = kind
        self.outlet = outlet
        self.configured = False
        self.pt = self.ssrc = 0
        self.rtx_pt: int | None = None
        self.rtx_ssrc = 0
        self.first_byte = 0x80  # version 2; | 0x10 with header extensions
        self.extension = b""
        #: Whether a start packet fixed the offsets (False: waiting for one).
        self.mapped = False
        #: Whether packets from before the start may still arrive (see ``GUARD``).
        self.guarding = False
        self.seq_offset = self.ts_offset = 0
        self.first_seq = 0
        self.last_seq = random.getrandbits(15)  # low half, as aiortc: no early wrap
        self.last_ts = random.getrandbits(32)
        self.rtx_seq = random.getrandbits(15)
        self.history: list[bytes | None] | None = [None] * HISTORY if kind == "video" else None
        self.packets = 0
        self.retransmitted = 0

    def configure(
        self, pt: int, ssrc: int, rtx_pt: int | None, rtx_ssrc: int, mid: tuple[int, str] | None
    ) -> None:
        """The subscriber's negotiated parameters; ``mid``: (extension id, MID) or None."""
        self.pt, self.ssrc, self.rtx_pt, self.rtx_ssrc = pt, ssrc, rtx_pt, rtx_ssrc
        self.extension = one_byte_extensions([mid] if mid else [])
        self.first_byte = 0x90 if self.extension else 0x80
        self.configured = True

    def restart(self) -> None:
        """The publisher's stream changed: wait for the next start (video: a keyframe)."""
        self.mapped = False

    def forward(self, data: bytes, seq: int, ts: int, offset: int, start: bool, ntp: int) -> bool:
        """Send the publisher's packet ``data`` (payload from ``offset``); False when this
        stream waits for a keyframe and ``data`` does not start one."""
        mapped = self.mapped
        if mapped:
            seq_offset, ts_offset = self.seq_offset, self.ts_offset
            out_seq = (seq + seq_offset) & 0xFFFF
            if self.guarding:
                since = (out_seq - self.first_seq) & 0xFFFF
                if since >= 0x8000:
                    return True  # from before this stream's start (a late retransmission)
                if since >= GUARD:
                    self.guarding = False
        elif not start:
            return False
        else:  # continue this subscriber's numbering from its last packet
            seq_offset = (self.last_seq + 1 - seq) & 0xFFFF
            ts_offset = (self.last_ts + RESTART_STEP[self.kind] - ts) & 0xFFFFFFFF
            out_seq = (seq + seq_offset) & 0xFFFF
        out_ts = (ts + ts_offset) & 0xFFFFFFFF
        packet = (
            _FIXED.pack(
                self.first_byte | (data[0] & 0x20),
                (data[1] & 0x80) | self.pt,
                out_seq,
                out_ts,
                self.ssrc,
            )
            + self.extension
            + data[offset:]
        )
        if not self.outlet.send_new(packet, ntp, out_ts, len(data) - offset):
            return True  # not connected (yet, or any more): a start waits for the next
        if not mapped:
            self.mapped, self.guarding = True, True
            self.seq_offset, self.ts_offset, self.first_seq = seq_offset, ts_offset, out_seq
        if self.history is not None:
            self.history[out_seq % HISTORY] = packet
        if (out_seq - self.last_seq) & 0xFFFF < 0x8000:
            self.last_seq, self.last_ts = out_seq, out_ts
        self.packets += 1
        return True

    def retransmit(self, seq: int) -> None:
        """Send packet ``seq`` again (as RTX when negotiated), if it is still kept."""
        if self.history is None:
            return
        packet = self.history[seq % HISTORY]
        if packet is None or _OSN.unpack_from(packet, 2)[0] != seq:
            return
        if self.rtx_pt is not None:
            body = 12 + len(self.extension)
            packet = (
                _FIXED.pack(
                    packet[0],
                    (packet[1] & 0x80) | self.rtx_pt,
                    self.rtx_seq,
                    _SEQ_TS_SSRC.unpack_from(packet, 2)[1],
                    self.rtx_ssrc,
                )
                + packet[12:body]
                + packet[2:4]
                + packet[body:]
            )
            self.rtx_seq = (self.rtx_seq + 1) & 0xFFFF
        if self.outlet.send(packet):
            self.retransmitted += 1


def one_byte_extensions(elements: list[tuple[int, str]]) -> bytes:
    """An RTP one-byte header extension block (RFC 8285) carrying text ``elements``."""
    body = b"".join(
        bytes([(ext_id << 4) | (len(value.encode()) - 1)]) + value.encode()
        for ext_id, value in elements
    )
    if not body:
        return b""
    body += b"\x00" * (-len(body) % 4)
    return struct.pack("!HH", 0xBEDE, len(body) // 4) + body
