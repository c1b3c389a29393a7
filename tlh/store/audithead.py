"""The audit log's head anchor, ``audit/head.json`` (``{"seq", "hash"}``).

Deleting lines at the *end* of the log leaves a valid chain, so the writer replaces
this file atomically with the last entry written: after a batch, at most every
``HEAD_EVERY_S``, and on close. A head behind the log is fine (it lags while entries
keep coming); one ahead of it, or disagreeing about the hash at its seq, means lines
were deleted or rewritten. The writer itself lives in ``tlh.store.auditlog``.

Anyone who can delete lines can also rewrite an unsigned head to match, so in an
encrypted dir the head carries an HMAC-SHA256 under a key derived (HKDF) from the data
key, and the id of that data key: without the key, a head cannot be made to agree with
a shortened log. (Putting back an *older* genuine head is still possible: backups and
exports kept elsewhere are the defence against that.)
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import msgspec
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tlh.errors import StoreCorrupt
from tlh.store.auditentry import LOG_NAME, encoder
from tlh.store.seal import Codec, Sealer

HEAD_NAME = "head.json"
#: Seconds the head anchor may lag behind the log while entries keep coming.
HEAD_EVERY_S = 0.25


class Head(msgspec.Struct, omit_defaults=True):
    """``head.json``: the last entry written, an anchor against deleting the tail."""

    seq: int
    hash: str
    #: In an encrypted dir: the id of the data key the MAC's key comes from, and the MAC.
    key: str | None = None
    mac: str | None = None


def _mac_key(data_key: bytes) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"tlh audit head")
    return hkdf.derive(data_key)


def _mac(data_key: bytes, seq: int, chain_hash: str) -> str:
    msg = b"tlh audit head\0%d\0%s" % (seq, chain_hash.encode("ascii"))
    return hmac.new(_mac_key(data_key), msg, hashlib.sha256).hexdigest()


def signed(head: Head, codec: Codec) -> Head:
    """``head`` with its MAC under the current data key (as is in a ``--no-encrypt`` dir)."""
    if not isinstance(codec, Sealer):
        return Head(head.seq, head.hash)
    key = codec.key(codec.current)
    assert key is not None
    return Head(head.seq, head.hash, codec.current.hex(), _mac(key, head.seq, head.hash))


def signature_problem(head: Head, codec: Codec) -> str | None:
    """Why ``head`` is not a head this dir's keys signed (``None``: it is, or the dir is
    not encrypted)."""
    if not isinstance(codec, Sealer):
        return None
    if head.key is None or head.mac is None:
        return f"{HEAD_NAME} is not signed (replaced?)"
    try:
        key = codec.key(bytes.fromhex(head.key))
    except ValueError:
        key = None
    if key is None:
        return f"{HEAD_NAME} is signed with a key this dir does not hold (replaced?)"
    if not hmac.compare_digest(_mac(key, head.seq, head.hash), head.mac):
        return f"{HEAD_NAME}'s signature does not match (the head was edited)"
    return None


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


def head_behind(
    head: Head | None, seq: int, last: str, log_path: Path, head_path: Path, codec: Codec
) -> bool:
    """On start: whether the head lags the log's end (``seq``, ``last``) and needs writing.

    Refuses to start on a log that ends before its head, or disagrees with it at the
    head's seq: appending would bury the evidence under new, valid links. In an
    encrypted dir it refuses an unsigned or forged head too, and a missing one beside a
    log that has entries (the first start writes a signed head at seq 0, so only a
    deletion leaves none).
    """
    problem = None
    if head is not None:
        problem = signature_problem(head, codec)
    elif codec.sealed and seq > 0:
        problem = f"{HEAD_NAME} is missing (deleted?)"
    if problem is not None:
        raise StoreCorrupt(
            f"{log_path}: {problem}; run `tlh audit verify`, then restore audit/ from a "
            "backup or move it aside to start a new chain"
        )
    if head is not None and (head.seq > seq or (head.seq == seq and head.hash != last)):
        raise StoreCorrupt(
            f"{log_path} ends at seq {seq} but {head_path.name} says "
            f"{head.seq} (entries deleted or rewritten); run `tlh audit verify`, "
            "then restore audit/ from a backup or move it aside to start a new chain"
        )
    return head is None or head.seq < seq
