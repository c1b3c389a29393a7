"""What only some backends can do, checked by capability rather than by class.

A store kept in one data dir (the embedded store) is backed up by copying its files; a
database backend is backed up with the database's own tools.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeAlias, runtime_checkable

import msgspec

from tlh.store.base import AuditStore
from tlh.store.layout import Manifest
from tlh.store.seal import Codec

#: One table file of a backup: its table and records (copied from memory), or a reader
#: of a file on disk, opened when the copy was taken, that gives its plain bytes (run in
#: the backup's thread: a long history's months are not read on the event loop).
TableFile: TypeAlias = tuple[str, dict[str, msgspec.Struct]] | Callable[[], bytes]


@runtime_checkable
class DataDirStore(Protocol):
    """A store whose whole state is one data dir: ``tlh.store.backup`` snapshots it."""

    data_dir: Path
    codec: Codec | None

    @property
    def audit(self) -> AuditStore: ...

    def export_files(self) -> dict[str, TableFile]:
        """Every table file's content (``db/...`` path -> table file), as it is now."""
        ...

    def manifest(self) -> Manifest:
        """A manifest of what ``export_files`` gives now."""
        ...


@runtime_checkable
class SharedStore(Protocol):
    """A store several servers share: the policy it keeps in memory is reloaded when
    another server says it changed it."""

    def policy_changed(self) -> None:
        """Reload the policy (in the background)."""
        ...


@runtime_checkable
class WarmsUp(Protocol):
    """A store that opens before it has taken in all it keeps in memory (the embedded
    store: ``tlh.store.partitions.Partitioning.warm_later``)."""

    def warm_up(self) -> None:
        """Take in the rest in the background (the server listens: its start-up is
        over)."""
        ...

    async def warmed(self) -> None:
        """``warm_up``, and wait until it is done."""
        ...
