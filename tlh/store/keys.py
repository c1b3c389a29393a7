"""A data dir's keys: the keyring ``keys.json``, key files, passphrases, recovery codes.

The data keys (256 random bits each; ``tlh.store.seal`` seals with them) never touch the
disk in clear: ``keys.json`` holds each one *wrapped* (AES-256-GCM) by a key-encryption
key (KEK), once per way in:

- ``file``: a KEK of 256 random bits in a key file outside the data dir (``tlh init``
  writes it 0600 into the config dir; ``--key-file`` / ``TLH_KEY_FILE`` name another);
- ``passphrase``: a KEK derived from ``TLH_PASSPHRASE`` by argon2id (salted, 64 MiB);
- ``recovery``: the same from the recovery code ``tlh key export-recovery`` printed.

``keys.json`` holds nothing secret without one of those; a copied data dir or backup
gives away nothing. It names the practice (a random id, so the default key file is
found again) and which data key seals new writes (``current``); several data keys live
side by side only while ``tlh key rotate --reencrypt`` moves files from one to the next.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tlh.errors import StoreCorrupt, StoreKeyError
from tlh.files import write_atomic
from tlh.store.seal import KEY_ID_LEN, PLAIN, Codec, Sealer

KEYRING = "keys.json"
KEY_FILE_PREFIX = "tlh-key-v1:"
#: argon2id cost (RFC 9106's second recommendation: 64 MiB, 3 passes, 4 lanes).
ARGON_T, ARGON_M, ARGON_P = 3, 64 * 1024, 4


class Wrap(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """One data key wrapped by one KEK."""

    #: ``file``, ``passphrase`` or ``recovery``.
    kind: str
    #: The data key's id (hex).
    key_id: str
    #: The wrapped key: base64 of nonce (12 bytes) + ciphertext + tag.
    wrapped: str
    #: For ``file``: the KEK's id (hex), so "another practice's key file" is told apart.
    kek_id: str | None = None
    #: For ``passphrase`` and ``recovery``: argon2id's salt (base64) and cost.
    salt: str | None = None
    argon: tuple[int, int, int] | None = None


class Keyring(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``keys.json``."""

    format: int = 1
    #: A random id of the practice's keys: the default key file is ``<id>.key``.
    practice: str
    #: The data key new writes are sealed with (hex id).
    current: str
    wraps: list[Wrap]


_ring_decoder = msgspec.json.Decoder(Keyring)


@dataclass(frozen=True)
class KeySource:
    """Where the KEK comes from: a key file given, a passphrase, or the default key file
    ``<key_dir>/<practice>.key`` (``tlh init`` put it there)."""

    key_file: Path | None = None
    passphrase: str | None = None
    key_dir: Path | None = None

    def default_file(self, ring: Keyring) -> Path | None:
        """The key file ``tlh init`` wrote for this keyring's practice."""
        return None if self.key_dir is None else self.key_dir / f"{ring.practice}.key"


# -- key files --------------------------------------------------------------------------


def new_kek() -> bytes:
    """256 random bits."""
    return secrets.token_bytes(32)


def kek_id(kek: bytes) -> str:
    """A public fingerprint of a KEK (names which key file a wrap needs)."""
    return hashlib.sha256(b"tlh kek id\0" + kek).hexdigest()[:16]


def write_key_file(path: Path, kek: bytes) -> None:
    """Write a key file, 0600, atomically (its folder made 0700 if new)."""
    text = KEY_FILE_PREFIX + base64.urlsafe_b64encode(kek).decode("ascii") + "\n"
    write_atomic(path, text.encode("ascii"), make_dirs=True)


def read_key_file(path: Path) -> bytes:
    """The KEK in a key file; ``StoreKeyError`` naming the file if it is missing or bad."""
    try:
        text = path.read_bytes().strip()
    except FileNotFoundError:
        raise StoreKeyError(f"key file {path} does not exist") from None
    except OSError as exc:
        raise StoreKeyError(f"key file {path} cannot be read: {exc.strerror}") from None
    prefix = KEY_FILE_PREFIX.encode("ascii")
    try:
        if not text.startswith(prefix):
            raise ValueError
        kek = base64.urlsafe_b64decode(text[len(prefix) :])
        if len(kek) != 32:
            raise ValueError
    except ValueError:
        raise StoreKeyError(f"{path} is not a tlh key file") from None
    return kek


# -- wrapping ---------------------------------------------------------------------------


def _aad(kind: str, key_id: str) -> bytes:
    return f"tlh data key\0{kind}\0{key_id}".encode("ascii")


def _wrap(kek: bytes, kind: str, key_id: str, data_key: bytes) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(kek).encrypt(nonce, data_key, _aad(kind, key_id))
    return base64.b64encode(nonce + sealed).decode("ascii")


def _unwrap(kek: bytes, wrap: Wrap) -> bytes | None:
    try:
        blob = base64.b64decode(wrap.wrapped)
        return AESGCM(kek).decrypt(blob[:12], blob[12:], _aad(wrap.kind, wrap.key_id))
    except (InvalidTag, ValueError):
        return None


def _derive(secret: str, salt: bytes, cost: tuple[int, int, int]) -> bytes:
    from argon2.low_level import Type, hash_secret_raw  # deferred: only passphrase users

    t, m, p = cost
    return hash_secret_raw(
        secret.encode("utf-8"), salt, time_cost=t, memory_cost=m, parallelism=p,
        hash_len=32, type=Type.ID,
    )  # fmt: skip


def file_wraps(kek: bytes, keys: dict[bytes, bytes]) -> list[Wrap]:
    """Every data key wrapped by a key file's KEK."""
    kid = kek_id(kek)
    return [
        Wrap(kind="file", key_id=i.hex(), wrapped=_wrap(kek, "file", i.hex(), k), kek_id=kid)
        for i, k in keys.items()
    ]


def secret_wraps(kind: str, secret: str, keys: dict[bytes, bytes]) -> list[Wrap]:
    """Every data key wrapped by a passphrase's (or recovery code's) argon2id KEK."""
    if kind == "recovery":
        secret = normalise_code(secret)
    salt = os.urandom(16)
    cost = (ARGON_T, ARGON_M, ARGON_P)
    kek = _derive(secret, salt, cost)
    salt_b64 = base64.b64encode(salt).decode("ascii")
    return [
        Wrap(kind=kind, key_id=i.hex(), wrapped=_wrap(kek, kind, i.hex(), k), salt=salt_b64,
             argon=cost)
        for i, k in keys.items()
    ]  # fmt: skip


def new_data_key() -> tuple[bytes, bytes]:
    """(id, key): a fresh 256-bit data key and a random id for its blobs' headers."""
    return secrets.token_bytes(KEY_ID_LEN), secrets.token_bytes(32)


# -- the keyring file -------------------------------------------------------------------


def read_keyring(data_dir: Path) -> Keyring | None:
    """``keys.json``, or ``None`` for a ``--no-encrypt`` dir."""
    path = data_dir / KEYRING
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    return decode_keyring(data, path)


def decode_keyring(data: bytes, where: Path | str) -> Keyring:
    """A keyring from its bytes; ``StoreCorrupt`` naming ``where`` if it is bad."""
    try:
        ring = _ring_decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise StoreCorrupt(
            f"{where} is corrupt ({exc}); copy it back from a backup, or run `tlh restore BACKUP`"
        ) from None
    if not any(w.key_id == ring.current for w in ring.wraps):
        raise StoreCorrupt(f"{where} is corrupt (no wrap of its current key)")
    return ring


def encode_keyring(ring: Keyring) -> bytes:
    """The bytes of ``keys.json``."""
    return msgspec.json.format(msgspec.json.encode(ring), indent=2) + b"\n"


def write_keyring(data_dir: Path, ring: Keyring) -> None:
    """Replace ``keys.json`` atomically (no ``.bak``: a wrap kept for an old key file
    would undo a rotation meant to shut that file out)."""
    write_atomic(data_dir / KEYRING, encode_keyring(ring))


@dataclass(frozen=True)
class NewKeys:
    """How ``tlh init`` locks a new practice: a key file in ``key_dir`` (named by the
    practice's key id), or ``key_file`` given, and/or a passphrase."""

    key_dir: Path | None = None
    key_file: Path | None = None
    passphrase: str | None = None


def create_keys(data_dir: Path, how: NewKeys) -> tuple[Unlocked, Path | None]:
    """A new practice's data key: the key file written first (0600), then ``keys.json``
    wrapping the key by it and/or the passphrase. Returns the keys and the key file."""
    unlocked, path = new_keys(how)
    write_keyring(data_dir, unlocked.ring)
    return unlocked, path


def new_keys(how: NewKeys) -> tuple[Unlocked, Path | None]:
    """A new practice's data key and its keyring (the key file written, 0600; the keyring
    left for the caller to store: a data dir's ``keys.json``, a database's row)."""
    practice = secrets.token_hex(8)
    kid, key = new_data_key()
    keys = {kid: key}
    wraps: list[Wrap] = []
    path = how.key_file or (how.key_dir / f"{practice}.key" if how.key_dir else None)
    kek = None
    if path is not None:
        if path.exists():
            kek = read_key_file(path)  # one key file may lock several practices
        else:
            kek = new_kek()
            write_key_file(path, kek)
        wraps += file_wraps(kek, keys)
    if how.passphrase:
        wraps += secret_wraps("passphrase", how.passphrase, keys)
    if not wraps:
        raise ValueError("a new practice's key needs a key file or a passphrase")
    ring = Keyring(practice=practice, current=kid.hex(), wraps=wraps)
    via = "file" if path is not None else "passphrase"
    return Unlocked(ring, keys, via, key_file=path, kek=kek, secret=how.passphrase), path


# -- unlocking --------------------------------------------------------------------------


@dataclass(frozen=True)
class Unlocked:
    """A keyring opened: its data keys, and which way in worked."""

    ring: Keyring
    keys: dict[bytes, bytes]
    #: ``file`` (with ``key_file``), ``passphrase`` or ``recovery``.
    via: str
    key_file: Path | None = None
    kek: bytes | None = None
    secret: str | None = None

    def sealer(self) -> Sealer:
        """The codec that seals with the current key and opens any of them."""
        return Sealer(self.keys, bytes.fromhex(self.ring.current))


def _open_with_kek(ring: Keyring, kek: bytes, kind: str) -> dict[bytes, bytes]:
    kid = kek_id(kek)
    keys: dict[bytes, bytes] = {}
    for w in ring.wraps:
        if w.kind == kind and w.kek_id == kid:
            key = _unwrap(kek, w)
            if key is not None:
                keys[bytes.fromhex(w.key_id)] = key
    return keys


def _open_with_secret(
    ring: Keyring, secret: str, kinds: Iterable[str]
) -> tuple[dict[bytes, bytes], str]:
    keys: dict[bytes, bytes] = {}
    derived: dict[tuple[str, str], bytes] = {}
    via = ""
    for w in ring.wraps:
        if w.kind not in kinds or w.salt is None or w.argon is None:
            continue
        given = normalise_code(secret) if w.kind == "recovery" else secret
        kek = derived.get((w.salt, w.kind))
        if kek is None:
            kek = derived[(w.salt, w.kind)] = _derive(given, base64.b64decode(w.salt), w.argon)
        key = _unwrap(kek, w)
        if key is not None:
            keys[bytes.fromhex(w.key_id)] = key
            via = via or w.kind
    return keys, via


def unlock(
    data_dir: Path, source: KeySource, *, ring: Keyring | None = None, what: str | None = None
) -> Unlocked | None:
    """Open the data dir's keyring (or ``ring``, a backup's, named ``what``) with
    ``source``; ``None`` for a ``--no-encrypt`` dir. ``StoreKeyError`` says in one line
    what is missing or wrong and where it looked; nothing is written either way."""
    if ring is None:
        ring = read_keyring(data_dir)
        if ring is None:
            return None
    what = what or f"data dir {data_dir}"
    current = bytes.fromhex(ring.current)
    if source.key_file is not None:
        kek = read_key_file(source.key_file)
        keys = _open_with_kek(ring, kek, "file")
        if current not in keys:
            raise StoreKeyError(
                f"key file {source.key_file} does not unlock {what} (a key file of another"
                " practice, or one replaced by `tlh key rotate`)"
            )
        return Unlocked(ring, keys, "file", key_file=source.key_file, kek=kek)
    if source.passphrase is not None:
        keys, via = _open_with_secret(ring, source.passphrase, ("passphrase", "recovery"))
        if current not in keys:
            raise StoreKeyError(f"TLH_PASSPHRASE does not unlock {what} (wrong passphrase)")
        return Unlocked(ring, keys, via, secret=source.passphrase)
    default = source.default_file(ring)
    if default is None or not default.exists():
        looked = f"looked for key file {default}" if default else "no key dir is known"
        raise StoreKeyError(
            f"{what} is encrypted and no key was given ({looked}); give --key-file or "
            "TLH_KEY_FILE, or TLH_PASSPHRASE"
        )
    return unlock(data_dir, KeySource(key_file=default), ring=ring, what=what)


def codec_for(data_dir: Path, source: KeySource | None) -> Codec:
    """The codec of a data dir: ``PLAIN`` for a ``--no-encrypt`` one, else its keys
    opened with ``source`` (``StoreKeyError`` if they cannot be)."""
    unlocked = unlock(data_dir, source or KeySource())
    return PLAIN if unlocked is None else unlocked.sealer()


# -- recovery codes ---------------------------------------------------------------------


def new_recovery_code() -> str:
    """160 random bits as 8 groups of 4 base32 characters (easy to copy onto paper)."""
    raw = base64.b32encode(secrets.token_bytes(20)).decode("ascii")
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def normalise_code(code: str) -> str:
    """A recovery code as typed: case, spaces and dashes do not matter."""
    return "".join(c for c in code.upper() if c.isalnum())
