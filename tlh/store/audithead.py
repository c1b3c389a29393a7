"""The audit log's head anchor, ``audit/head.json`` (``{"seq", "hash"}``).

Deleting lines at the *end* of the log leaves a valid chain, so the writer replaces
this file atomically with the last entry written: after a batch, at most every
``HEAD_EVERY_S``, and on close. A head behind the log is fine (it lags while entries
keep coming); one ahead of it, or disagreeing about the hash at its seq, means lines
were deleted or rewritten. The writer itself lives in ``tlh.store.auditlog``.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from tlh.errors import StoreCorrupt
from tlh.store.auditentry import LOG_NAME, encoder

HEAD_NAME = "head.json"
#: Seconds the head anchor may lag behind the log while entries keep coming.
HEAD_EVERY_S = 0.25


class Head(msgspec.Struct):
    """``head.json``: the last entry written, an anchor against deleting the tail."""

    seq: int
    hash: str


_head_decoder = msgspec.json.Decoder(Head)


def log_paths(path: Path | str) -> tuple[Path, Path]:
    """(log, head) for a data dir or a path to the log file itself."""
    path = Path(path)
    if path.is_dir():
        path = path / "audit" / LOG_NAME
    return path, path.parent / HEAD_NAME


def read_head(path: Path) -> Head | None:
    """The head at ``path``; ``None`` when there is none yet."""
    try:
        return _head_decoder.decode(path.read_bytes())
    except FileNotFoundError:
        return None
    except msgspec.DecodeError:
        raise StoreCorrupt(f"{path} is not a valid audit head; run `tlh audit verify`") from None


def encode_head(head: Head) -> bytes:
    """The bytes of ``head.json``."""
    return encoder.encode(head)


def head_behind(head: Head | None, seq: int, last: str, log_path: Path, head_path: Path) -> bool:
    """On start: whether the head lags the log's end (``seq``, ``last``) and needs writing.

    Refuses to start on a log that ends before its head, or disagrees with it at the
    head's seq: appending would bury the evidence under new, valid links.
    """
    if head is not None and (head.seq > seq or (head.seq == seq and head.hash != last)):
        raise StoreCorrupt(
            f"{log_path} ends at seq {seq} but {head_path.name} says "
            f"{head.seq} (entries deleted or rewritten); run `tlh audit verify`, "
            "then restore audit/ from a backup or move it aside to start a new chain"
        )
    return head is None or head.seq < seq
