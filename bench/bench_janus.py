"""Issue 6: Janus's CPU per forwarded stream under bench_relay.py's publisher/subscriber load.

The load is bench_relay.py's, reused as it is so the two compare: one publisher sending
the synthetic moving bar as pre-encoded VP8 (640x480, 30 fps, ~1 Mbit/s, replayed in a
loop, restarted on a keyframe request) plus an Opus tone; subscribers that count the video
frames they receive without decoding them. Here the relay is Debian's Janus (videoroom
plugin), one fresh Janus per case, in a private network namespace with the case's peers
(see bench/janus.py for why); its CPU is the Janus process's own user + system time
(/proc/PID/stat, all threads).

Cases: 1 publisher -> 1 / 2 / 4 / 8 subscribers, each ``--runs`` times (default 2). Each:
connect, wait for frames at every subscriber, warm up 2 s, measure ``--seconds``; then
the same case through tlh's pass-through relay (bench_relay.py's), its peer under the
same load. Prints per case and run the 1-minute load average, Janus's % of one core,
frames/s per subscriber (proof that Janus forwards), CPU per forwarded stream of each,
their ratio and a verdict against issue 21's goal (toward 1.5x).

    .venv/bin/python bench/bench_janus.py [--seconds 10] [--fps 30] [--runs 2]

``janus_cpu(subscribers, seconds)`` is the same measurement for one case, to import
(e.g. from bench_relay.py to print tlh/Janus ratios in one run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import struct
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_relay import (
    GOAL_JANUS,
    SUBSCRIBER_COUNTS,
    Client,
    encode_loop,
    load_average,
    run_case,
    verdict,
)
from janus import (
    JanusError,
    JanusSession,
    create_room,
    dies_with_parent,
    isolated,
    publish,
    running_janus,
    subscribe,
)
from verdicts import finish

FIRST_FRAMES = 10
CONNECT_TIMEOUT = 30.0
WARM_UP = 2.0


async def janus_cpu(
    subscribers: int,
    seconds: float,
    *,
    fps: int = 30,
    frames: list[bytes] | None = None,
    warm_up: float = WARM_UP,
) -> dict[str, Any]:
    """1 publisher -> ``subscribers`` through a fresh Janus, measured for ``seconds``.

    Returns ``cpu_percent`` (of one core), ``fps_per_subscriber`` and
    ``cpu_per_stream`` (``cpu_percent / subscribers``). ``frames``: the encoded loop
    from ``bench_relay.encode_loop(fps)``, made here when not given. The case runs in a
    child process inside a private network namespace; it is killed if it overruns.
    """
    loop = frames if frames is not None else encode_loop(fps)
    with tempfile.NamedTemporaryFile(prefix="tlh-janus-frames-") as file:
        file.write(b"".join(struct.pack("!I", len(f)) + f for f in loop))
        file.flush()
        argv = [sys.executable, __file__, "--case", str(subscribers), "--seconds", str(seconds),
                "--fps", str(fps), "--warm-up", str(warm_up), "--frames", file.name]  # fmt: skip
        child = await asyncio.create_subprocess_exec(
            *isolated(argv),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            preexec_fn=dies_with_parent(signal.SIGKILL),
        )
        try:
            async with asyncio.timeout(seconds + warm_up + CONNECT_TIMEOUT + 30):
                out, err = await child.communicate()
        finally:
            if child.returncode is None:
                child.kill()
                await child.wait()
    if child.returncode != 0:
        last = (err.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
        raise JanusError(f"the Janus case failed ({child.returncode}): {last}")
    return dict(json.loads(out))


def read_frames(path: Path) -> list[bytes]:
    data = path.read_bytes()
    frames, at = [], 0
    while at < len(data):
        (size,) = struct.unpack_from("!I", data, at)
        frames.append(data[at + 4 : at + 4 + size])
        at += 4 + size
    return frames


async def measure(
    subscribers: int, seconds: float, fps: int, frames: list[bytes], warm_up: float
) -> dict[str, Any]:
    """The case itself (in the namespace): Janus, one publisher, ``subscribers``."""
    client = Client(frames, fps)
    async with running_janus() as janus, aiohttp.ClientSession() as http:
        session = JanusSession(http, janus.url)
        await session.create()
        try:
            room = await create_room(session, await session.attach())
            feed = await publish(session, room, client.publisher())
            for _ in range(subscribers):
                await subscribe(session, room, feed, client.subscriber())
            await _until_frames(client)
            await asyncio.sleep(warm_up)
            cpu0, wall0 = janus.cpu_seconds(), time.monotonic()
            got0 = sum(count[0] for count in client.received)
            await asyncio.sleep(seconds)
            cpu1, wall1 = janus.cpu_seconds(), time.monotonic()
            got1 = sum(count[0] for count in client.received)
        finally:
            await client.close()
            await session.destroy()
    wall = wall1 - wall0
    cpu = 100 * (cpu1 - cpu0) / wall
    return {
        "subscribers": subscribers,
        "cpu_percent": cpu,
        "fps_per_subscriber": (got1 - got0) / wall / subscribers,
        "cpu_per_stream": cpu / subscribers,
    }


async def _until_frames(client: Client) -> None:
    """Every subscriber has received ``FIRST_FRAMES`` video frames, within 30 s."""
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT):
            while min(count[0] for count in client.received) < FIRST_FRAMES:
                await asyncio.sleep(0.1)  # polling counters the peers' tasks advance
    except TimeoutError:
        got = [count[0] for count in client.received]
        raise JanusError(f"subscribers got {got} frames in {CONNECT_TIMEOUT:g} s") from None


async def bench(args: argparse.Namespace) -> None:
    frames = encode_loop(args.fps)
    load = os.getloadavg()
    print(
        f"Janus videoroom, publisher as bench_relay.py's ({args.fps} fps VP8 + Opus); "
        f"{args.seconds:g} s per case; {os.cpu_count()} cores, "
        f"load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    print(
        "its peer, run right after each Janus case: tlh's pass-through relay (bench_relay.py); "
        f"goal: tlh / Janus per forwarded stream toward {GOAL_JANUS:g}x; "
        "load = 1-minute load average at the case"
    )
    print(
        f"{'case':<10}{'run':>4}{'load':>7}{'Janus CPU':>11}{'fps/sub':>9}{'Janus/stream':>14}"
        f"{'tlh/stream':>12}{'tlh / Janus':>13}  verdict"
    )
    for n in SUBSCRIBER_COUNTS:
        for run in range(1, args.runs + 1):
            load_at = load_average()
            row = await janus_cpu(n, args.seconds, fps=args.fps, frames=frames)
            tlh, _ = await run_case("passthrough", 1, n, frames, args)
            theirs, ours = float(row["cpu_per_stream"]), tlh / n
            ratio = ours / max(theirs, 0.01)
            print(
                f"{f'1 -> {n}':<10}{run:>4}{load_at:>7}{row['cpu_percent']:>10.1f}%"
                f"{row['fps_per_subscriber']:>9.1f}{theirs:>13.2f}%{ours:>11.2f}%"
                f"{ratio:>12.2f}x  {verdict(ratio <= GOAL_JANUS)}",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--runs", type=int, default=2, help="Runs of each case (default 2).")
    parser.add_argument("--case", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--warm-up", type=float, default=WARM_UP, help=argparse.SUPPRESS)
    parser.add_argument("--frames", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    try:
        if args.case is None:
            asyncio.run(bench(args))
        else:
            frames = read_frames(args.frames)
            row = asyncio.run(measure(args.case, args.seconds, args.fps, frames, args.warm_up))
            print(json.dumps(row))
    except JanusError as exc:
        raise SystemExit(f"bench_janus: {exc}") from None


if __name__ == "__main__":
    main()
    finish()  # the verdicts are bench_relay's, counted in the one verdicts module
