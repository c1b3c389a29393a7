"""The on-disk layout of a data dir: meta.json, the manifest, table files, record ids.

``db/<table>.json`` and, for the tables split by month (``tlh.store.partitions``),
``db/<table>/<YYYY-MM>.json`` are in TinyDB's format
``{"<table>": {"<doc_id>": {...}}}`` with the record id as the doc id, so plain TinyDB
(or ``TinyDB(path, storage=AtomicJSONStorage)``) reads them in a ``--no-encrypt`` dir;
in an encrypted one (the default) each file is that JSON sealed (``tlh.store.seal``,
labelled with its path in the dir), and ``keys.json`` holds the wrapped data key.

``db/manifest.json`` lists every table file the dir must hold and the last commit
folded into them: a file deleted behind the server's back stops start-up like a
corrupt one, instead of loading as an empty table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Union, cast

import msgspec

from tlh.errors import InvalidInput, StoreError
from tlh.files import write_atomic
from tlh.store.atomic import corrupt, read_bytes_checked
from tlh.store.base import POLICY_ID, TABLES, AuditNote
from tlh.store.monthindex import MonthInfo
from tlh.store.partitions import PARTITIONED
from tlh.store.seal import PLAIN, Codec, label_of

APPOINTMENTS = "appointments"
#: The data dir layout this code reads and writes (``tlh.store.migrations`` upgrades
#: older ones to it).
SCHEMA_VERSION = 4

Change = tuple[str, str, msgspec.Struct | None]  # table, id, record (None = delete)


class Meta(msgspec.Struct, kw_only=True):
    """``meta.json``."""

    schema_version: int


_meta_decoder = msgspec.json.Decoder(Meta)

MANIFEST = "manifest.json"
#: The recovery advice for a data dir that lost a file it must hold.
RESTORE_HINT = "stop the server and run `tlh restore BACKUP` (the latest backup)"


class Manifest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``db/manifest.json``, replaced at the end of every checkpoint."""

    #: The last store commit folded into the table files (commits are numbered 1, 2, …).
    seq: int = 0
    #: Every table file the dir must hold, relative to ``db/`` (``appointments/2026-11.json``).
    files: list[str] = msgspec.field(default_factory=list)
    #: Whether every record was written with its numbered audit entries (a dir made by
    #: this version); a dir migrated from an older one has records from before that.
    audit_complete: bool = True
    #: What each appointment month file holds (``tlh.store.monthindex``), so a month the
    #: store leaves on disk is counted and found by range without reading it. A month
    #: missing here is loaded at start-up and gets its entry at the next checkpoint.
    months: dict[str, MonthInfo] = msgspec.field(default_factory=dict)
    #: The same for the other tables split by month, by table.
    partitions: dict[str, dict[str, MonthInfo]] = msgspec.field(default_factory=dict)

    def months_of(self, table: str) -> dict[str, MonthInfo]:
        """The month entries of a table split by month."""
        return self.months if table == APPOINTMENTS else self.partitions.get(table, {})

    def with_months(self, table: str, months: dict[str, MonthInfo]) -> Manifest:
        """This manifest with ``table``'s month entries replaced."""
        if table == APPOINTMENTS:
            return msgspec.structs.replace(self, months=months)
        return msgspec.structs.replace(self, partitions={**self.partitions, table: months})


_manifest_decoder = msgspec.json.Decoder(Manifest)


def read_manifest(data_dir: Path, codec: Codec = PLAIN) -> Manifest:
    """The data dir's manifest; a missing or bad one stops start-up with a hint."""
    path = data_dir / "db" / MANIFEST
    if not path.exists():
        raise StoreError(f"{path} is missing, so the dir cannot be checked; {RESTORE_HINT}")
    data = codec.open(read_bytes_checked(path), label_of(f"db/{MANIFEST}"), path)
    try:
        return _manifest_decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise corrupt(path, str(exc)) from None


def write_manifest(data_dir: Path, manifest: Manifest, codec: Codec = PLAIN) -> None:
    """Replace the manifest atomically (sealed in an encrypted dir: it names the months
    that hold appointments)."""
    data = codec.seal(msgspec.json.encode(manifest), label_of(f"db/{MANIFEST}"))
    write_atomic(data_dir / "db" / MANIFEST, data, keep_backup=True)


def read_table_file(path: Path, name: str, table: str, codec: Codec) -> dict[str, msgspec.Struct]:
    """The records of the table file ``db/<name>``, opened and checked."""
    data = codec.open(read_bytes_checked(path), label_of(f"db/{name}"), path)
    try:
        return decode_table_file(data, table)
    except msgspec.DecodeError as exc:
        raise corrupt(path, str(exc)) from None


def write_table_file(
    db: Path, name: str, table: str, docs: Mapping[str, msgspec.Struct], codec: Codec
) -> None:
    """Replace ``db/<name>`` atomically with ``docs`` (sealed by ``codec``)."""
    data = codec.seal(encode_table_file(table, docs), label_of(f"db/{name}"))
    write_atomic(db / name, data, keep_backup=True)


def table_files(data_dir: Path) -> list[str]:
    """The table files a data dir holds now, relative to ``db/`` (for migrations)."""
    db = data_dir / "db"
    names = [p.name for p in db.glob("*.json") if p.name != MANIFEST]
    for table in PARTITIONED:
        names += [f"{table}/{p.name}" for p in (db / table).glob("*.json")]
    return sorted(names)


def check_files(data_dir: Path, manifest: Manifest) -> None:
    """Refuse a data dir missing any file its manifest lists."""
    for name in manifest.files:
        path = data_dir / "db" / name
        if not path.exists():
            raise StoreError(f"{path} is missing from the data dir; {RESTORE_HINT}")


_file_decoders = {
    t: msgspec.json.Decoder(dict[str, dict[str, cls]])  # type: ignore[valid-type]
    for t, cls in TABLES.items()
}


def decode_table_file(data: bytes, table: str) -> dict[str, msgspec.Struct]:
    """The records of one table file; ``msgspec.DecodeError`` if it is not sound."""
    doc = cast(dict[str, dict[str, msgspec.Struct]], _file_decoders[table].decode(data))
    docs = doc.get(table, {})
    for key, rec in docs.items():
        if key != (POLICY_ID if table == "policy" else getattr(rec, "id", None)):
            raise msgspec.ValidationError(f"doc id {key!r} does not match its record's id")
    return docs


#: Records encoded per call when writing a table file (see ``encode_table_file``).
ENCODE_CHUNK = 256


def encode_table_file(table: str, docs: Mapping[str, msgspec.Struct]) -> bytes:
    """One table file's bytes (the same as one ``msgspec.json.encode({table: docs})``).

    Encoded a few hundred records at a time: a checkpoint runs in a worker thread, but
    one encode call holds the GIL throughout, and the event loop waited for all of it
    (31 ms for 10,000 waiting-room entries, every 2,000 commits while a crowd arrives).
    Between the calls the loop gets its turn.
    """
    if len(docs) <= ENCODE_CHUNK:
        return msgspec.json.encode({table: docs})
    items = list(docs.items())
    parts = [
        msgspec.json.encode(dict(items[n : n + ENCODE_CHUNK]))[1:-1]
        for n in range(0, len(items), ENCODE_CHUNK)
    ]
    return b"{" + msgspec.json.encode(table) + b":{" + b",".join(parts) + b"}}"


def record_id(table: str, record: msgspec.Struct) -> str:
    """The key a record is stored under."""
    if table == "policy":
        return POLICY_ID
    rid = getattr(record, "id", None)
    if not isinstance(rid, str) or not rid:
        raise InvalidInput(f"a {table} record needs a non-empty string id")
    return rid


def holds_practice(data_dir: Path) -> bool:
    """Whether ``data_dir`` holds any of a practice's files (meta.json or not)."""
    names = ("meta.json", "db", "journal", "audit", "keys.json")
    return any((data_dir / name).exists() for name in names)


def read_meta(data_dir: Path) -> Meta:
    """The data dir's ``meta.json``; a missing one means "not a data dir" (or a damaged one)."""
    path = data_dir / "meta.json"
    if not path.exists():
        if holds_practice(data_dir):
            raise StoreError(f"{path} is missing from a data dir that holds data; {RESTORE_HINT}")
        raise StoreError(f"{data_dir} is not a tlh data dir (no meta.json); run `tlh init`")
    try:
        return _meta_decoder.decode(read_bytes_checked(path))
    except msgspec.DecodeError as exc:
        raise corrupt(path, str(exc)) from None


def write_meta(data_dir: Path, version: int) -> None:
    """Record the data dir's schema version."""
    write_atomic(
        data_dir / "meta.json", msgspec.json.encode(Meta(schema_version=version)), keep_backup=True
    )


def init_data_dir(
    data_dir: Path | str, make_codec: Callable[[Path], Codec] = lambda _: PLAIN
) -> Path:
    """Create the layout of a new, empty practice; refuse a dir that holds one.

    ``make_codec`` is called once the dir exists (it writes the keyring of an encrypted
    practice) and seals what follows."""
    data_dir = Path(data_dir)
    if holds_practice(data_dir):
        if not (data_dir / "meta.json").exists():
            raise StoreError(
                f"data dir {data_dir} holds a practice's files but its meta.json is missing; "
                f"{RESTORE_HINT}"
            )
        raise StoreError(f"data dir {data_dir} already holds a practice")
    # Patients' data: the dir is the server's user's alone.
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    (data_dir / "db").mkdir(mode=0o700, exist_ok=True)
    for table in PARTITIONED:
        (data_dir / "db" / table).mkdir(mode=0o700, exist_ok=True)
    (data_dir / "journal").mkdir(mode=0o700, exist_ok=True)
    codec = make_codec(data_dir)
    write_manifest(data_dir, Manifest(), codec)
    write_meta(data_dir, SCHEMA_VERSION)
    return data_dir


class JournalAudit(msgspec.Struct, frozen=True, kw_only=True):
    """A journal record's audit part: when the commit was made and its notes."""

    at: str
    notes: tuple[AuditNote, ...]


class JournalCodec:
    """Typed decoding of journal records ``{"seq", "ops": [{"t", "put" | "del"}],
    "audit": {"at", "notes"}}`` (records written before commits carried their audit
    notes have no ``audit``).

    Each table gets an op struct tagged by ``t``, so a whole record (10,000 puts)
    decodes in one msgspec call straight into the tables' structs.
    """

    def __init__(self) -> None:
        self._tables: dict[type, str] = {}
        for table, cls in TABLES.items():
            op = msgspec.defstruct(
                f"Op_{table}",
                [
                    ("put", cls | None, None),
                    ("delete", str | None, msgspec.field(default=None, name="del")),
                ],
                tag_field="t",
                tag=table,
                kw_only=True,
            )
            self._tables[op] = table
        union: Any = Union.__getitem__(tuple(self._tables))
        record = msgspec.defstruct(
            "JournalRecord",
            [("seq", int), ("ops", list[union]), ("audit", JournalAudit | None, None)],
        )
        self.record: msgspec.json.Decoder[Any] = msgspec.json.Decoder(record)
        self.ops: msgspec.json.Decoder[Any] = msgspec.json.Decoder(list[union])
        self._encoder = msgspec.json.Encoder()

    def encode_audit(self, at: str, notes: tuple[AuditNote, ...]) -> bytes:
        """The ``audit`` part of a journal record."""
        return self._encoder.encode(JournalAudit(at=at, notes=notes))

    def changes(self, ops: list[Any]) -> list[Change]:
        """The ``(table, id, record or None)`` of decoded ops."""
        out: list[Change] = []
        tables = self._tables
        for op in ops:
            table = tables[type(op)]
            if op.put is not None:
                if op.delete is not None:
                    raise msgspec.ValidationError("an op with both put and del")
                out.append((table, record_id(table, op.put), op.put))
            elif op.delete is not None:
                out.append((table, op.delete, None))
            else:
                raise msgspec.ValidationError("an op with neither put nor del")
        return out
