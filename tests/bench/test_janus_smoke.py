"""The Janus side of issue 6's relay benchmark still works (bench/janus.py, bench_janus.py).

Benchmarks are not run by the suite, so this keeps the Janus comparison from rotting
silently: Debian's Janus (``make test`` installs it) forwards one publisher's video to one
subscriber inside the bench's private network namespace, and that namespace has no way
out. Not skipped when Janus is missing: the bench's own one-line error fails the test.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from bench_janus import janus_cpu  # noqa: E402
from bench_relay import encode_loop  # noqa: E402
from janus import ICE_ADDRESS, isolated  # noqa: E402

FPS = 5


async def test_one_subscriber_receives_frames_through_janus() -> None:
    row = await janus_cpu(1, 1.0, fps=FPS, frames=encode_loop(FPS), warm_up=0.3)

    assert row["fps_per_subscriber"] >= FPS / 2, row


def test_the_bench_namespace_has_no_way_out() -> None:
    addresses = subprocess.run(
        isolated(["ip", "-o", "addr", "show"]),
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    ).stdout
    routes = subprocess.run(
        isolated(["ip", "route", "show"]), capture_output=True, text=True, check=True, timeout=10
    ).stdout

    inet = sorted(line.split()[3] for line in addresses.splitlines() if " inet " in line)
    assert inet == ["127.0.0.1/8", f"{ICE_ADDRESS}/24"]
    assert "default" not in routes
