"""Issue 6: CPU of the pass-through relay against aiortc's decoding MediaRelay, in one run.

The relay runs in its own process (this file with ``--serve MODE``), so its CPU is its
own process time; publishers and subscribers are aiortc peers in this process, talking
to it on loopback (offers and answers over the child's stdin/stdout).

- publisher: 640x480 VP8 at 30 fps (``--fps``), ~1 Mbit/s, plus a 440 Hz Opus tone
  (tlh.media.synthetic.ToneTrack). The video, synthetic.py's moving bar with noise added
  (see ``encode_loop``), is encoded once before the run (3 s, keyframe first) and
  replayed as packets in a loop; a keyframe request restarts the loop, so the relay sees
  a real stream and keyframe requests are answered, while this process spends no CPU
  encoding;
- subscribers count the frames they receive without decoding (tapped receivers);
- ``passthrough``: tlh.media.relay.Relay; ``mediarelay``: aiortc.contrib.media.MediaRelay
  (the relay decodes once and encodes once per subscriber).

Cases: 1 publisher -> 1 / 2 / 4 / 8 subscribers through the pass-through relay, then
MediaRelay, then Debian's Janus (bench_janus.py; ``--no-janus`` skips it), one right after
the other so the peers see the same load; then 10 relayed 1:1 calls (10 publishers each
-> 1 subscriber) through the pass-through relay; each ``--runs`` times (default 2: the
machine is shared). Each case: connect, wait for frames at every subscriber, warm up
2 s, measure ``--seconds``. Prints per row the 1-minute load average, % of one core of
each, and a verdict per subscriber count against issue 21's goals: MediaRelay's CPU
>= 10x the pass-through's, and the pass-through's CPU per forwarded stream <= 1.5x
Janus's; and the frames per second each subscriber got.

    .venv/bin/python bench/bench_relay.py [--seconds 10] [--fps 30] [--runs 2] [--no-janus]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fractions
import json
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from verdicts import finish, judged

from tlh.media import aiortc_private
from tlh.media.ice import configuration, gathering
from tlh.media.relay import Relay
from tlh.media.synthetic import ToneTrack

WIDTH, HEIGHT = 640, 480
LOOP_SECONDS = 3
BITRATE = 1_000_000
SUBSCRIBER_COUNTS = (1, 2, 4, 8)
#: Issue 21's goals: MediaRelay's CPU over the pass-through's, at every subscriber
#: count; the pass-through's CPU per forwarded stream over Janus's.
GOAL_SAVING = 10.0
GOAL_JANUS = 1.5
#: A subscriber getting fewer frames per second than this share of the publisher's:
#: the relay fell behind (its CPU is then not what forwarding every frame costs).
KEEP_UP = 0.9


# -- the relay's process -------------------------------------------------------------------


class Server:
    """The relay side: one relay per call, peers created on request."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.relays: dict[int, Relay] = {}
        self.media_relay = MediaRelay()
        self.published: dict[int, list[MediaStreamTrack]] = {}
        self.peers: list[RTCPeerConnection] = []

    async def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request["op"]
        if op == "cpu":
            return {"cpu": time.process_time()}
        pc = RTCPeerConnection(configuration())
        self.peers.append(pc)
        call = int(request["call"])
        if self.mode == "passthrough":
            relay = self.relays.setdefault(call, Relay())
            if op == "publish":
                await relay.attach_publisher(pc)
            else:
                relay.add_subscriber(pc)
        elif op == "publish":
            tracks = self.published.setdefault(call, [])
            pc.on("track", tracks.append)
        else:
            for track in self.published[call]:
                pc.addTrack(self.media_relay.subscribe(track))
        return {"sdp": await answer(pc, request["sdp"])}

    async def close(self) -> None:
        for relay in self.relays.values():
            await relay.close()
        for pc in self.peers:
            await aiortc_private.close_peer(pc)


async def answer(pc: RTCPeerConnection, sdp: str) -> str:
    await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
    local = await pc.createAnswer()
    await gathering(True, lambda: pc.setLocalDescription(local))
    return str(pc.localDescription.sdp)


async def serve(mode: str) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    server = Server(mode)
    try:
        while line := await reader.readline():
            request = json.loads(line)
            if request["op"] == "quit":
                break
            sys.stdout.write(json.dumps(await server.handle(request)) + "\n")
            sys.stdout.flush()
    finally:
        await server.close()


# -- publishers and subscribers (this process) ---------------------------------------------


def encode_loop(fps: int) -> list[bytes]:
    """``LOOP_SECONDS`` of video as VP8 frames at ~``BITRATE`` (CBR), the first a keyframe.

    The picture is synthetic.py's moving bar on grey, with low-level noise added: the
    bare bar compresses to ~65 kbit/s, far below a camera's ~1 Mbit/s, and a relay's
    cost follows the packets it forwards.
    """
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    codec.bit_rate = BITRATE
    codec.time_base = fractions.Fraction(1, fps)
    codec.gop_size = 3000
    codec.options = {
        "deadline": "realtime",
        "cpu-used": "8",
        "lag-in-frames": "0",
        "minrate": str(BITRATE),
        "maxrate": str(BITRATE),
        "bufsize": str(BITRATE),
    }
    grain = bytes(0x48 + b % 16 for b in range(256))  # noise of +-8 around 0x50
    bar = WIDTH // 10
    step = max(2, WIDTH // (2 * fps))
    rng = random.Random(6)
    frames = []
    for n in range(LOOP_SECONDS * fps):
        picture = av.VideoFrame(width=WIDTH, height=HEIGHT, format="yuv420p")
        luma = picture.planes[0]
        pixels = bytearray(rng.randbytes(luma.line_size * HEIGHT).translate(grain))
        x = (n * step) % (WIDTH - bar)
        for row in range(HEIGHT):
            start = row * luma.line_size + x
            pixels[start : start + bar] = b"\xeb" * bar
        luma.update(bytes(pixels))
        for plane in picture.planes[1:]:
            plane.update(b"\x80" * (plane.line_size * (HEIGHT // 2)))
        picture.pts, picture.time_base = n, codec.time_base
        frames.append(b"".join(bytes(p) for p in codec.encode(picture)))
    return frames


class LoopTrack(MediaStreamTrack):
    """Replays pre-encoded VP8 frames in real time; a keyframe request restarts the loop."""

    kind = "video"

    def __init__(self, frames: list[bytes], fps: int) -> None:
        super().__init__()
        self.frames, self.fps = frames, fps
        self.n = 0
        self.position = 0
        self._start: float | None = None
        self._time_base = fractions.Fraction(1, 90_000)

    def restart(self) -> None:
        self.position = 0

    async def recv(self) -> av.Packet[Any]:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        await asyncio.sleep(max(0.0, self._start + self.n / self.fps - time.monotonic()))
        packet = av.Packet(self.frames[self.position])
        packet.pts = self.n * 90_000 // self.fps
        packet.time_base = self._time_base
        self.n += 1
        self.position = (self.position + 1) % len(self.frames)
        return packet


@dataclass
class Client:
    """This process's peers for one case."""

    frames: list[bytes]
    fps: int
    peers: list[RTCPeerConnection] = field(default_factory=list)
    tracks: list[MediaStreamTrack] = field(default_factory=list)
    received: list[list[int]] = field(default_factory=list)

    def publisher(self) -> RTCPeerConnection:
        pc = RTCPeerConnection(configuration())
        video = LoopTrack(self.frames, self.fps)
        tone = ToneTrack()
        self.tracks += [video, tone]
        pc.addTrack(tone)
        sender = pc.addTrack(video)
        aiortc_private.on_keyframe_request(sender, video.restart)
        self.peers.append(pc)
        return pc

    def subscriber(self) -> RTCPeerConnection:
        pc = RTCPeerConnection(configuration())
        count = [0]
        self.received.append(count)
        for kind in ("audio", "video"):
            transceiver = pc.addTransceiver(kind, direction="recvonly")
            if kind == "video":
                aiortc_private.tap_encoded_frames(transceiver.receiver, _counter(count))
            else:
                aiortc_private.tap_encoded_frames(transceiver.receiver, lambda c, f: None)
        self.peers.append(pc)
        return pc

    async def close(self) -> None:
        for track in self.tracks:
            track.stop()
        for pc in self.peers:
            await aiortc_private.close_peer(pc)


def _counter(count: list[int]) -> aiortc_private.FrameSink:
    def sink(codec: Any, frame: Any) -> None:
        count[0] += 1

    return sink


class Child:
    """The relay process and its request/answer pipe."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    async def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write((json.dumps(request) + "\n").encode())
        await self.proc.stdin.drain()
        async with asyncio.timeout(20):
            line = await self.proc.stdout.readline()
        if not line:
            raise SystemExit("the relay process ended early")
        return dict(json.loads(line))

    async def connect(self, pc: RTCPeerConnection, op: str, call: int) -> None:
        offer = await pc.createOffer()
        await gathering(True, lambda: pc.setLocalDescription(offer))
        reply = await self.ask({"op": op, "call": call, "sdp": pc.localDescription.sdp})
        await pc.setRemoteDescription(RTCSessionDescription(sdp=reply["sdp"], type="answer"))

    async def quit(self) -> None:
        assert self.proc.stdin is not None
        with contextlib.suppress(ConnectionError):
            self.proc.stdin.write(b'{"op": "quit"}\n')
            await self.proc.stdin.drain()
        try:
            async with asyncio.timeout(15):
                await self.proc.wait()
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


async def run_case(
    mode: str, calls: int, subscribers: int, frames: list[bytes], args: argparse.Namespace
) -> tuple[float, float]:
    """% of one core the relay process spent, and frames/s per subscriber."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve",
        mode,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    child, client = Child(proc), Client(frames, args.fps)
    try:
        for call in range(calls):
            await child.connect(client.publisher(), "publish", call)
        for call in range(calls):
            for _ in range(subscribers):
                await child.connect(client.subscriber(), "subscribe", call)
        async with asyncio.timeout(30):
            while min(count[0] for count in client.received) < 10:
                await asyncio.sleep(0.1)  # polling a counter between measurements
        await asyncio.sleep(2)  # warm-up
        cpu0, wall0 = (await child.ask({"op": "cpu"}))["cpu"], time.monotonic()
        got0 = sum(count[0] for count in client.received)
        await asyncio.sleep(args.seconds)
        cpu1, wall1 = (await child.ask({"op": "cpu"}))["cpu"], time.monotonic()
        got1 = sum(count[0] for count in client.received)
    finally:
        await client.close()
        await child.quit()
    wall = wall1 - wall0
    return 100 * (cpu1 - cpu0) / wall, (got1 - got0) / wall / len(client.received)


def load_average() -> str:
    """The machine's 1-minute load average, as printed beside each case."""
    return f"{os.getloadavg()[0]:.2f}"


def verdict(ok: bool) -> str:
    """A goal's verdict, as printed beside each case."""
    return "meets" if judged(ok) else "MISSES"


async def bench(args: argparse.Namespace) -> None:
    frames = await asyncio.to_thread(encode_loop, args.fps)
    load = os.getloadavg()
    print(
        f"publisher: {WIDTH}x{HEIGHT} VP8 {args.fps} fps (~{BITRATE // 1000} kbit/s, "
        f"{sum(map(len, frames)) * 8 // LOOP_SECONDS // 1000} kbit/s measured) + Opus; "
        f"{args.seconds:g} s per case; {os.cpu_count()} cores, "
        f"load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    print(
        f"goals: MediaRelay / passthrough >= {GOAL_SAVING:g}x at every count"
        + (f"; passthrough / Janus per forwarded stream <= {GOAL_JANUS:g}x" if args.janus else "")
        + "; CPU in % of one core; load: 1-minute load average when the row's cases began;"
        " fps/sub: frames per second each subscriber got (passthrough / MediaRelay"
        + (" / Janus" if args.janus else "")
        + f"); verdict *: the peer fell behind (< {KEEP_UP:.0%} of the frames): its CPU,"
        " and so the pass-through's advantage, is a floor; BEHIND: the pass-through fell"
        " behind, no verdict"
    )
    print(
        f"{'case':<10}{'run':>4}{'load':>7}{'passthrough':>13}{'MediaRelay':>12}"
        f"{'saving':>8}  {'verdict':<8}"
        + (
            f"{'per stream':>12}{'Janus/str':>11}{'tlh/Janus':>11}  {'verdict':<8}"
            if args.janus
            else ""
        )
        + f"{'fps/sub':>20}"
    )
    for n in SUBSCRIBER_COUNTS:
        for run in range(1, args.runs + 1):
            print(await compare(n, run, frames, args), flush=True)
    for run in range(1, args.runs + 1):
        load_at = load_average()
        cpu, fps = await run_case("passthrough", 10, 1, frames, args)
        behind = "BEHIND" if fps < KEEP_UP * args.fps else ""
        print(
            f"{'10 x 1:1':<10}{run:>4}{load_at:>7}{cpu:>12.2f}%{'':>12}{'':>10}{behind:<8}"
            f"{fps:>{20 + (44 if args.janus else 0)}.1f}",
            flush=True,
        )


async def compare(n: int, run: int, frames: list[bytes], args: argparse.Namespace) -> str:
    """One row: 1 -> ``n`` through the pass-through relay, then MediaRelay (and Janus)
    right after it, so all of them see the same load."""
    load_at = load_average()
    ours, ours_fps = await run_case("passthrough", 1, n, frames, args)
    theirs, theirs_fps = await run_case("mediarelay", 1, n, frames, args)
    saving = theirs / max(ours, 0.01)
    row = (
        f"{f'1 -> {n}':<10}{run:>4}{load_at:>7}{ours:>12.2f}%{theirs:>11.1f}%"
        f"{saving:>7.1f}x  {judge(saving >= GOAL_SAVING, ours_fps, theirs_fps, args.fps):<8}"
    )
    rates = f"{ours_fps:.1f} / {theirs_fps:.1f}"
    if args.janus:
        from bench_janus import janus_cpu  # imports this module: loaded only when asked

        janus = await janus_cpu(n, args.seconds, fps=args.fps, frames=frames)
        per_stream, janus_per_stream = ours / n, float(janus["cpu_per_stream"])
        janus_fps = float(janus["fps_per_subscriber"])
        ratio = per_stream / max(janus_per_stream, 0.01)
        row += (
            f"{per_stream:>11.2f}%{janus_per_stream:>10.2f}%{ratio:>10.2f}x  "
            f"{judge(ratio <= GOAL_JANUS, ours_fps, janus_fps, args.fps):<8}"
        )
        rates += f" / {janus_fps:.1f}"
    return row + f"{rates:>20}"


def judge(ok: bool, ours_fps: float, theirs_fps: float, fps: int) -> str:
    """The verdict, unless a side fell behind (``KEEP_UP``): then its CPU is not what
    forwarding every frame costs. The pass-through behind: no verdict; the peer behind:
    its CPU is a floor, so is the pass-through's advantage (marked ``*``)."""
    if ours_fps < KEEP_UP * fps:
        return "BEHIND"
    return verdict(ok) + ("*" if theirs_fps < KEEP_UP * fps else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--runs", type=int, default=2, help="Runs of each case (default 2).")
    parser.add_argument(
        "--no-janus",
        dest="janus",
        action="store_false",
        help="Skip the Janus comparison (bench_janus; needs Debian's janus).",
    )
    parser.add_argument("--serve", choices=("passthrough", "mediarelay"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve))
    else:
        asyncio.run(bench(args))


if __name__ == "__main__":
    main()
    finish()
