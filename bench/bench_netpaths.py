"""Issue 14: admission -> first frame each way per network path, and the reverse proxy's
cost per request beside tlh direct, in one run of the namespace suite (tests/netns).

The suite measures them while it proves each path (it needs root for network namespaces;
elsewhere it skips and says why); this runs it and shows its figures:

    (a) direct through a NAT with UDP open      verdict <= 1 s
    (b) TURN over TLS on 443 with UDP blocked   verdict <= 2 s
    (c) through nginx in front of tlh           verdict <= 1 s
    (d) frames again after a 5 s network drop (ICE restart)
    a request's round trip from the client's network: tlh direct, via nginx

    .venv/bin/python bench/bench_netpaths.py
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    """Run tests/netns; its terminal summary carries the figures."""
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", "tests/netns"]
    return subprocess.run(argv, cwd=ROOT, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
