"""Schema versions of the data dir and the steps between them.

``MIGRATIONS[n]`` upgrades a data dir from version ``n - 1`` to ``n`` in place. It
gets the data dir path and must be idempotent (a crash mid-step reruns it). It runs
only on a dir whose journal is empty, so it sees every record in the table files.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

#: The version this code reads and writes.
CURRENT_VERSION = 1

#: ``version -> step`` that upgrades a dir from ``version - 1`` to ``version``.
MIGRATIONS: dict[int, Callable[[Path], None]] = {}
