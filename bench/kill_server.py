"""kill -9 the real server a hundred times during imports and single writes (see
``tests/integrity/kill_server.py`` for what is checked after each kill).

    .venv/bin/python bench/kill_server.py [ROUNDS]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.integrity.kill_server import run


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    summary = run(rounds)
    print(
        f"{summary.kills} kill -9s in {summary.seconds:.0f} s: data dir loaded every time, no "
        f"acknowledged write lost, every import all or nothing ({summary.imports_acknowledged} "
        f"acknowledged), tlh audit verify ok after every restart; {summary.commits_recovered} "
        "commits had their audit entries added at start-up (kills between a commit and its "
        "audit write)"
    )


if __name__ == "__main__":
    main()
