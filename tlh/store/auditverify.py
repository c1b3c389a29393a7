"""``tlh audit verify``: check the audit log against its hash chain, its head anchor and
the store: every commit the store made has its numbered entries, and (in a dir made by
this version) every stored record is named by one."""

from __future__ import annotations

from pathlib import Path

import msgspec

from tlh.errors import StoreCorrupt
from tlh.store.auditentry import ZERO_HASH, Entry, body_of, entry_decoder, entry_hash
from tlh.store.audithead import HEAD_NAME, log_paths, read_head, signature_problem
from tlh.store.seal import PLAIN, Codec

MAX_PROBLEMS = 100


class Problem(msgspec.Struct):
    """One thing wrong with the log, at a 1-based line number."""

    line: int
    reason: str


class StoredChanges(msgspec.Struct, frozen=True):
    """What the store holds, for ``verify`` to check against the log."""

    #: The number of the store's last commit: commits 1..seq each have entries.
    seq: int
    #: Every stored record's id by table, when every record was written with its numbered
    #: entries (``None`` for a dir migrated from before commits were numbered).
    record_ids: dict[str, list[str]] | None = None


class VerifyResult(msgspec.Struct):
    """What ``verify`` found; ``ok`` when there are no problems."""

    ok: bool
    entries: int
    problems: list[Problem] = msgspec.field(default_factory=list)


def verify(
    path: Path | str, stored: StoredChanges | None = None, codec: Codec = PLAIN
) -> VerifyResult:
    """Check a log (a data dir, or the log file) against its chain and its head, and
    (given ``stored``) against what the store holds.

    Names each problem with its 1-based line: an edited line (its hash does not match),
    deleted or reordered lines (seq or prev breaks), lines deleted at the end (the head
    is ahead of the file, or in an encrypted dir a head not signed by the dir's key:
    ``codec``), malformed lines; then, at the end, each stored change without
    its entry. Safe while the server writes: the head is read first, and it only ever
    moves after the log is fsynced; an incomplete final line is a batch still being
    written (or a torn one start-up will drop), not a fault. ``stored`` must be taken
    once every commit it counts is durable in the log (``AuditLog.barrier``).
    """
    log_path, head_path = log_paths(path)
    problems: list[Problem] = []
    try:
        head = read_head(head_path)
    except StoreCorrupt:
        head, bad_head = None, True
    else:
        bad_head = False
    lines = 0
    expected: int | None = 1
    prev: str | None = ZERO_HASH
    last_seq = 0
    head_match: tuple[int, str] | None = None  # line number, hash of the entry at head.seq
    commits: set[int] = set()
    changed: set[str] = set()  # targets of entries that record a change
    if log_path.exists():
        with log_path.open("rb") as f:
            for raw in f:
                if not raw.endswith(b"\n"):
                    break
                lines += 1
                if len(problems) >= MAX_PROBLEMS:
                    continue
                try:
                    e = entry_decoder.decode(raw)
                except msgspec.ValidationError as exc:
                    problems.append(Problem(lines, f"not a valid audit entry ({exc})"))
                    expected = prev = None  # resynchronise on the next good line
                    continue
                except msgspec.DecodeError:
                    problems.append(Problem(lines, "not a valid audit entry (malformed JSON)"))
                    expected = prev = None
                    continue
                problems.extend(Problem(lines, r) for r in _check_entry(e, expected, prev))
                if e.commit is not None:
                    commits.add(e.commit)
                    changed.add(e.target)
                if head is not None and e.seq == head.seq:
                    head_match = (lines, e.hash)
                expected, prev, last_seq = e.seq + 1, e.hash, e.seq
    if len(problems) >= MAX_PROBLEMS:
        problems.append(Problem(lines, f"stopped checking after {MAX_PROBLEMS} problems"))
    forged = None if head is None else signature_problem(head, codec)
    if bad_head:
        problems.append(Problem(lines, f"{HEAD_NAME} is unreadable (the end is unanchored)"))
    elif forged is not None:
        problems.append(Problem(lines, f"{forged}: the end is unanchored"))
    elif head is None:
        if lines:
            problems.append(Problem(lines, f"{HEAD_NAME} is missing (the end is unanchored)"))
    elif head.seq > last_seq:
        problems.append(
            Problem(
                lines + 1,
                f"the log ends at seq {last_seq} but the head says {head.seq} "
                "(lines deleted at the end)",
            )
        )
    elif head.seq > 0 and (head_match is None or head_match[1] != head.hash):
        where = head_match[0] if head_match else lines
        problems.append(Problem(where, f"seq {head.seq} does not match the head's hash"))
    if stored is not None:
        problems.extend(Problem(lines, r) for r in _unaudited(stored, commits, changed))
    return VerifyResult(ok=not problems, entries=lines, problems=problems)


def _unaudited(stored: StoredChanges, commits: set[int], changed: set[str]) -> list[str]:
    """Why the store holds changes the log does not record (capped)."""
    reasons: list[str] = []
    missing = [n for n in range(1, stored.seq + 1) if n not in commits]
    for n in missing[:MAX_PROBLEMS]:
        reasons.append(f"commit {n} is stored but has no audit entry")
    if len(missing) > MAX_PROBLEMS:
        reasons.append(f"and {len(missing) - MAX_PROBLEMS} more commits without entries")
    for table, ids in sorted((stored.record_ids or {}).items()):
        bare = [i for i in ids if i not in changed]
        for rid in bare[:MAX_PROBLEMS]:
            reasons.append(f"{table} record {rid} is stored but no audit entry names it")
        if len(bare) > MAX_PROBLEMS:
            reasons.append(f"and {len(bare) - MAX_PROBLEMS} more {table} records")
    return reasons


def _check_entry(e: Entry, expected: int | None, prev: str | None) -> list[str]:
    """Why one decoded entry breaks the chain, given what the line before it said."""
    reasons = []
    if entry_hash(body_of(e)) != e.hash:
        reasons.append("hash does not match its contents (edited?)")
    if expected is not None and e.seq != expected:
        if expected == 1:
            reasons.append(f"the log starts at seq {e.seq}, not 1 (lines deleted at the start)")
        elif e.seq > expected:
            what = "a line was" if e.seq == expected + 1 else "lines were"
            reasons.append(f"seq {e.seq} follows {expected - 1} ({what} deleted)")
        else:
            reasons.append(f"seq {e.seq} follows {expected - 1} (lines reordered or repeated)")
    elif prev is not None and e.prev != prev:
        reasons.append("prev does not match the previous line's hash (a line was replaced)")
    return reasons
