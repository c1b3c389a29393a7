"""What a bench's exit status says: 1 when any verdict it printed failed (FAIL, MISS,
OVER...), 0 when every one passed, so ``make bench`` and any script running a bench can
tell without reading its figures. A bench that could not measure at all exits with its
own one-line reason (``SystemExit``), as before.

Each verdict goes through ``judged(ok)`` where it is printed; ``finish()`` ends the run.
"""

from __future__ import annotations

import sys
from typing import NoReturn

_failed = 0


def judged(ok: bool) -> bool:
    """Count one verdict (``ok``: it passed) and give ``ok`` back, for the line that
    prints it."""
    global _failed
    if not ok:
        _failed += 1
    return ok


def finish() -> NoReturn:
    """End the bench: exit 1 if any verdict failed, else 0."""
    if _failed:
        print("exit 1: a verdict above failed", file=sys.stderr)
    sys.exit(1 if _failed else 0)
