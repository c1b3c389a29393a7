"""The package's bytecode caches, written as ``pip install`` leaves them for users.

This environment sets PYTHONDONTWRITEBYTECODE, so without them every ``tlh`` process a
bench starts compiles each tlh module it imports again, time that no user pays: 24 ms of
``tlh --help``'s 128 on a quiet machine, 100-200 ms of the dashboard's start.
"""

from __future__ import annotations

import compileall
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "tlh"


def write_caches() -> None:
    """Compile every tlh module to its ``__pycache__`` (a no-op where one is current)."""
    compileall.compile_dir(PACKAGE, quiet=1)
    print("bytecode caches of tlh written (as pip install leaves them)")
