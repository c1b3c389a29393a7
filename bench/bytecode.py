"""The package's bytecode caches, written as ``pip install`` leaves them for users.

This environment sets PYTHONDONTWRITEBYTECODE, so without them every ``tlh`` process a
bench starts compiles each tlh module it imports again, time that no user pays: 24 ms of
``tlh --help``'s 128 on a quiet machine, 100-200 ms of the dashboard's start.
"""

from __future__ import annotations

import compileall
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "tlh"


def write_caches(package: Path = PACKAGE) -> None:
    """Compile every module of ``package`` (this tree's tlh, or another checkout's) to
    its ``__pycache__`` (a no-op where one is current)."""
    compileall.compile_dir(package, quiet=1)
    print(f"bytecode caches of {package} written (as pip install leaves them)")
