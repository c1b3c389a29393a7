"""kill -9 the real server a hundred times during imports and single writes (see
``tests/integrity/kill_server.py`` for what is checked after each kill).

    .venv/bin/python bench/kill_server.py [ROUNDS] [--no-encrypt]

The data dir is encrypted, as ``tlh init`` makes it, unless ``--no-encrypt`` is given.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.integrity.kill_server import run


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--no-encrypt"]
    rounds = int(args[0]) if args else 100
    sealed = "--no-encrypt" not in sys.argv
    summary = run(rounds, sealed=sealed)
    print("sealed data dir" if sealed else "data dir in clear (--no-encrypt)")
    print(
        f"{summary.kills} kill -9s in {summary.seconds:.0f} s: data dir loaded every time, no "
        f"acknowledged write lost, every import all or nothing ({summary.imports_acknowledged} "
        f"acknowledged), tlh audit verify ok after every restart; {summary.commits_recovered} "
        "commits had their audit entries added at start-up (kills between a commit and its "
        "audit write)"
    )


if __name__ == "__main__":
    main()
