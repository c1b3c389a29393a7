"""Sealing at the storage boundary: every file and record the store writes, under a data key.

A sealed blob is ``header || AES-256-GCM(ciphertext || tag)``; the header is
``b"TLHS"``, a format version byte, the 8-byte id of the data key that sealed it and
the 12-byte random nonce. The AEAD's associated data is the header plus a *label*: the
file's path inside the data dir (``db/clients.json``; a ``.bak`` copy has its file's
label) or the kind of record (``journal``, ``audit``). So a blob moved to another name
or a header edited fails to open, like a flipped bit.

A data dir made with ``--no-encrypt`` uses ``PLAIN``: the same calls, the bytes as they
are. Either refuses the other's files: a sealed file where none is expected, or a clear
one in a sealed dir (a file put there behind the server's back), is corruption.

AES-GCM with random 96-bit nonces stays within its bounds for 2^32 blobs per key; a
practice writes far fewer (one per commit and per checkpointed file), and
``tlh key rotate --reencrypt`` starts a new key anyway.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tlh.errors import StoreCorrupt

MAGIC = b"TLHS"
FORMAT = 1
_HEADER = struct.Struct(">4sB8s12s")
HEADER_LEN = _HEADER.size  # 25
TAG_LEN = 16
KEY_ID_LEN = 8
RESTORE = "run `tlh restore BACKUP` (the latest backup); the file is left as it is"


def is_sealed(data: bytes) -> bool:
    """Whether ``data`` starts like a sealed blob."""
    return data[:4] == MAGIC


def label_of(relative: str) -> bytes:
    """The label of a data dir file: its path inside the dir, without a ``.bak``."""
    return relative.removesuffix(".bak").encode("utf-8")


class Codec(Protocol):
    """What the store's writers and readers call: ``Sealer`` or ``PLAIN``."""

    @property
    def sealed(self) -> bool: ...

    def seal(self, data: bytes, label: bytes) -> bytes:
        """The bytes to store for ``data``."""
        ...

    def open(self, blob: bytes, label: bytes, where: Path | str) -> bytes:
        """The bytes ``seal`` was given; ``StoreCorrupt`` naming ``where`` if not sound."""
        ...


class Plain:
    """The codec of a ``--no-encrypt`` data dir: bytes stored as they are."""

    sealed = False

    def seal(self, data: bytes, label: bytes) -> bytes:
        """``data`` unchanged."""
        return data

    def open(self, blob: bytes, label: bytes, where: Path | str) -> bytes:
        """``blob`` unchanged; a sealed one means the dir lost its ``keys.json``."""
        if is_sealed(blob):
            raise StoreCorrupt(
                f"{where} is sealed but its data dir has no keys.json (deleted?); "
                "copy keys.json back from a backup, or run `tlh restore BACKUP`"
            )
        return blob


PLAIN = Plain()


class Sealer:
    """AES-256-GCM under a practice's data keys: seals with ``current``, opens any of
    ``keys`` (during a ``tlh key rotate --reencrypt`` files under two keys coexist)."""

    sealed = True

    def __init__(self, keys: Mapping[bytes, bytes], current: bytes) -> None:
        if current not in keys:
            raise ValueError("the current data key must be one of the keys")
        self._aead = {kid: AESGCM(key) for kid, key in keys.items()}
        self._keys = dict(keys)
        self.current = current

    @property
    def key_ids(self) -> tuple[bytes, ...]:
        """The ids of every key this sealer opens."""
        return tuple(self._keys)

    def key(self, key_id: bytes) -> bytes | None:
        """The data key with ``key_id`` (for derived keys: the audit head's MAC)."""
        return self._keys.get(key_id)

    def seal(self, data: bytes, label: bytes) -> bytes:
        """``header || ciphertext || tag`` under the current key."""
        nonce = os.urandom(12)
        header = _HEADER.pack(MAGIC, FORMAT, self.current, nonce)
        return header + self._aead[self.current].encrypt(nonce, data, header + label)

    def open(self, blob: bytes, label: bytes, where: Path | str) -> bytes:
        """The sealed bytes, checked; ``StoreCorrupt`` naming ``where`` and how to recover."""
        if len(blob) < HEADER_LEN + TAG_LEN:
            raise _bad(where, "truncated" if is_sealed(blob) or not blob else "not sealed")
        magic, version, key_id, nonce = _HEADER.unpack_from(blob)
        if magic != MAGIC:
            raise _bad(where, "not sealed, in an encrypted data dir")
        if version != FORMAT:
            raise _bad(where, f"sealed with format {version}, this tlh reads {FORMAT}")
        aead = self._aead.get(key_id)
        if aead is None:
            raise _bad(where, f"sealed with data key {key_id.hex()}, which this dir's keys lack")
        header = blob[:HEADER_LEN]
        try:
            return aead.decrypt(nonce, blob[HEADER_LEN:], header + label)
        except InvalidTag:
            raise _bad(where, "fails its integrity check: truncated or altered") from None


def key_id_of(blob: bytes) -> bytes | None:
    """The id of the data key that sealed ``blob`` (``None`` if it is not sealed)."""
    if len(blob) < HEADER_LEN or not is_sealed(blob):
        return None
    return bytes(blob[5:13])


def _bad(where: Path | str, what: str) -> StoreCorrupt:
    return StoreCorrupt(f"{where} is corrupt ({what}); {RESTORE}")
