"""``tlh key rotate`` and ``tlh key export-recovery``: new keys for a stopped data dir.

A rotation never has a moment when the dir opens with neither the old key nor the new:

1. ``keys.json`` gains wraps for the new way in (a new key file's KEK, a new passphrase)
   beside the old ones; with ``--reencrypt`` it also gains a new data key, wrapped both
   ways, and names it current;
2. the new key file replaces the old one (an atomic rename: the path holds one or the
   other);
3. with ``--reencrypt``, every sealed file is sealed again under the new data key, one
   atomic replace at a time (a file shows which key sealed it, so a rerun skips those
   done), and the audit head is signed again;
4. ``keys.json`` keeps the new wraps only.

A kill -9 between any two steps leaves a keyring that both the old and the new secret
open, holding every data key some file still needs; running the rotation again (with
whichever key file is now in place) finishes the job.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tlh.errors import StoreError
from tlh.files import write_atomic
from tlh.store.audithead import HEAD_NAME, encode_head, read_head, signature_problem, signed
from tlh.store.journal import JOURNAL_LABEL, frame, read_records
from tlh.store.keys import (
    KEYRING,
    Keyring,
    KeySource,
    Unlocked,
    Wrap,
    file_wraps,
    new_data_key,
    new_kek,
    new_recovery_code,
    secret_wraps,
    unlock,
    write_key_file,
    write_keyring,
)
from tlh.store.lock import LOCK_NAME, PID_NAME, DataDirLock
from tlh.store.seal import Sealer, is_sealed, key_id_of, label_of

#: Files of the dir that are not sealed whole (or not sealed at all).
_SKIP = {KEYRING, LOCK_NAME, PID_NAME, "meta.json", "meta.json.bak", "tlh.toml"}


@dataclass
class Rotated:
    """What a rotation did, for the command's report."""

    key_file: Path | None = None
    passphrase: bool = False
    reencrypted: int = 0
    #: Ways in that no longer open the dir (e.g. a recovery code after ``--reencrypt``).
    dropped: list[str] = field(default_factory=list)


def _opened(data_dir: Path, source: KeySource) -> Unlocked:
    unlocked = unlock(data_dir, source)
    if unlocked is None:
        raise StoreError(f"data dir {data_dir} is not encrypted (made with --no-encrypt)")
    return unlocked


def rotate(
    data_dir: Path,
    source: KeySource,
    *,
    reencrypt: bool = False,
    new_key_file: Path | None = None,
    new_passphrase: str | None = None,
    step: Callable[[str], None] = lambda _: None,
) -> Rotated:
    """Rotate the key-encryption key (and with ``reencrypt`` the data key) of a stopped
    data dir; see the module's steps. ``step`` is told each phase (tests kill there)."""
    with DataDirLock(data_dir):
        plan = plan_rotation(
            _opened(data_dir, source),
            reencrypt=reencrypt,
            new_key_file=new_key_file,
            new_passphrase=new_passphrase,
        )
        # 1. both ways in, every key (the old way also opens the new data key).
        write_keyring(data_dir, plan.both)
        step("keyring-both")
        # 2. the new key file.
        plan.write_key_file()
        step("key-file")
        # 3. every file under the new data key.
        if plan.sealer is not None:
            plan.done.reencrypted = reseal_all(data_dir, plan.sealer, step)
        # 4. the new wraps only.
        write_keyring(data_dir, plan.final)
        step("keyring-new")
        return plan.done


@dataclass
class Plan:
    """A rotation's keyrings (``both`` ways in, then the ``final`` one), its new key
    file, and the sealer of the new data key (``reencrypt``), for wherever the keyring
    is kept: a data dir's ``keys.json`` or a database (``tlh.store.pg.keyring``)."""

    both: Keyring
    final: Keyring
    done: Rotated
    kek: bytes | None
    sealer: Sealer | None

    def write_key_file(self) -> None:
        if self.kek is not None and self.done.key_file is not None:
            write_key_file(self.done.key_file, self.kek)


def plan_rotation(
    old: Unlocked,
    *,
    reencrypt: bool = False,
    new_key_file: Path | None = None,
    new_passphrase: str | None = None,
) -> Plan:
    """What rotating the keys ``old`` opened writes (nothing is written here)."""
    ring = old.ring
    if new_key_file is None and new_passphrase is None:
        if old.via != "file":
            raise StoreError(
                "the keys were opened with a passphrase: give the new one in "
                "TLH_NEW_PASSPHRASE (or --new-key-file to move to a key file)"
            )
        new_key_file = old.key_file
    keys = dict(old.keys)
    current = bytes.fromhex(ring.current)
    if reencrypt:
        current, key = new_data_key()
        keys[current] = key
    kek = new_kek() if new_key_file is not None else None
    new_wraps: list[Wrap] = []
    if kek is not None:
        new_wraps += file_wraps(kek, keys)
    if new_passphrase:
        new_wraps += secret_wraps("passphrase", new_passphrase, keys)
    fresh = {current: keys[current]} if reencrypt else {}
    both = Keyring(
        practice=ring.practice,
        current=current.hex(),
        wraps=[*ring.wraps, *_old_way(old, fresh), *new_wraps],
    )
    kept = [] if reencrypt else _kept(ring, old.via, new_passphrase)
    final_keys = {current} if reencrypt else set(keys)
    wraps = [w for w in new_wraps if bytes.fromhex(w.key_id) in final_keys]
    final = Keyring(practice=ring.practice, current=current.hex(), wraps=wraps + kept)
    done = Rotated(key_file=new_key_file, passphrase=bool(new_passphrase))
    done.dropped = sorted({w.kind for w in ring.wraps} - {w.kind for w in wraps + kept})
    return Plan(both, final, done, kek, Sealer(keys, current) if reencrypt else None)


def _old_way(old: Unlocked, fresh: dict[bytes, bytes]) -> list[Wrap]:
    """Wraps of ``fresh`` keys by the secret that opened the dir (so it still opens every
    file while they move to the new key)."""
    if not fresh:
        return []
    if old.kek is not None:
        return file_wraps(old.kek, fresh)
    assert old.secret is not None
    return secret_wraps(old.via, old.secret, fresh)


def _kept(ring: Keyring, via: str, new_passphrase: str | None) -> list[Wrap]:
    """The old wraps a plain rotation keeps: the ways in it did not replace."""
    replaced = {via}
    if new_passphrase:
        replaced.add("passphrase")
    return [w for w in ring.wraps if w.kind not in replaced]


def sealed_files(data_dir: Path) -> Iterator[tuple[Path, str]]:
    """Every file of the dir sealed whole, with its path inside the dir."""
    for path in sorted(data_dir.rglob("*")):
        rel = path.relative_to(data_dir).as_posix()
        if (
            not path.is_file()
            or path.name.startswith(".")
            or rel in _SKIP
            or rel.startswith("journal/")
            or rel.startswith("audit/")
        ):
            continue
        yield path, rel


def reseal_all(data_dir: Path, sealer: Sealer, step: Callable[[str], None] = lambda _: None) -> int:
    """Seal every file of the dir (whole files, journal records, the audit head) under
    ``sealer.current``; files already under it are left alone. Returns how many changed."""
    changed = 0
    for path, rel in sealed_files(data_dir):
        data = path.read_bytes()
        if not is_sealed(data) or key_id_of(data) == sealer.current:
            continue
        label = label_of(rel)
        write_atomic(path, sealer.seal(sealer.open(data, label, path), label))
        changed += 1
        step(f"file:{rel}")
    for path in sorted((data_dir / "journal").glob("*.wal")):
        changed += _reseal_journal(path, sealer)
        step(f"journal:{path.name}")
    head_path = data_dir / "audit" / HEAD_NAME
    head = read_head(head_path)
    if head is not None and head.key != sealer.current.hex():
        problem = signature_problem(head, sealer)
        if problem is not None:
            raise StoreError(f"{head_path}: {problem}; run `tlh audit verify` before rotating")
        write_atomic(head_path, encode_head(signed(head, sealer)))
        changed += 1
        step("audit-head")
    return changed


def _reseal_journal(path: Path, sealer: Sealer) -> int:
    records, _ = read_records(path, last_file=True)
    payloads = [p for _, p in records]
    if all(key_id_of(p) == sealer.current for p in payloads):
        return 0
    where = str(path)
    lines = [
        frame(p if key_id_of(p) == sealer.current else _again(sealer, p, where)) for p in payloads
    ]
    # A torn tail was never acknowledged (the next start would drop it): left out.
    write_atomic(path, b"".join(lines))
    return 1


def _again(sealer: Sealer, payload: bytes, where: str) -> bytes:
    return sealer.seal(sealer.open(payload, JOURNAL_LABEL, where), JOURNAL_LABEL)


def export_recovery(data_dir: Path, source: KeySource) -> str:
    """A new recovery code that opens the dir (replacing any earlier one); shown once."""
    with DataDirLock(data_dir):
        code, ring = with_recovery(_opened(data_dir, source))
        write_keyring(data_dir, ring)
        return code


def with_recovery(old: Unlocked) -> tuple[str, Keyring]:
    """A new recovery code and the keyring that it opens (instead of any earlier one)."""
    code = new_recovery_code()
    wraps = [w for w in old.ring.wraps if w.kind != "recovery"]
    wraps += secret_wraps("recovery", code, old.keys)
    return code, Keyring(practice=old.ring.practice, current=old.ring.current, wraps=wraps)
