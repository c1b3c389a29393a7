"""The on-disk layout of a data dir: meta.json, table files, record ids.

``db/<table>.json`` and ``db/appointments/<YYYY-MM>.json`` are in TinyDB's format
``{"<table>": {"<doc_id>": {...}}}`` with the record id as the doc id, so plain TinyDB
(or ``TinyDB(path, storage=AtomicJSONStorage)``) reads them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Union, cast

import msgspec

from tlh.errors import InvalidInput, StoreError
from tlh.store import migrations
from tlh.store.atomic import corrupt, read_bytes_checked, write_atomic
from tlh.store.base import POLICY_ID, TABLES

APPOINTMENTS = "appointments"

Change = tuple[str, str, msgspec.Struct | None]  # table, id, record (None = delete)


class Meta(msgspec.Struct, kw_only=True):
    """``meta.json``."""

    schema_version: int


_meta_decoder = msgspec.json.Decoder(Meta)
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


def encode_table_file(table: str, docs: Mapping[str, msgspec.Struct]) -> bytes:
    """One table file's bytes."""
    return msgspec.json.encode({table: docs})


def record_id(table: str, record: msgspec.Struct) -> str:
    """The key a record is stored under."""
    if table == "policy":
        return POLICY_ID
    rid = getattr(record, "id", None)
    if not isinstance(rid, str) or not rid:
        raise InvalidInput(f"a {table} record needs a non-empty string id")
    return rid


def read_meta(data_dir: Path) -> Meta:
    """The data dir's ``meta.json``; a missing one means "not a data dir"."""
    path = data_dir / "meta.json"
    if not path.exists():
        raise StoreError(f"{data_dir} is not a tlh data dir (no meta.json); run `tlh init`")
    try:
        return _meta_decoder.decode(read_bytes_checked(path))
    except msgspec.DecodeError as exc:
        raise corrupt(path, str(exc)) from None


def write_meta(data_dir: Path, version: int) -> None:
    """Record the data dir's schema version."""
    write_atomic(data_dir / "meta.json", msgspec.json.encode(Meta(schema_version=version)))


def init_data_dir(data_dir: Path | str) -> Path:
    """Create the layout of a new, empty practice; refuse a dir that holds one."""
    data_dir = Path(data_dir)
    if (data_dir / "meta.json").exists() or (data_dir / "db").exists():
        raise StoreError(f"data dir {data_dir} already holds a practice")
    (data_dir / "db" / APPOINTMENTS).mkdir(parents=True, exist_ok=True)
    (data_dir / "journal").mkdir(exist_ok=True)
    write_meta(data_dir, migrations.CURRENT_VERSION)
    return data_dir


class JournalCodec:
    """Typed decoding of journal records ``{"seq", "ops": [{"t", "put" | "del"}]}``.

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
        record = msgspec.defstruct("JournalRecord", [("seq", int), ("ops", list[union])])
        self.record: msgspec.json.Decoder[Any] = msgspec.json.Decoder(record)
        self.ops: msgspec.json.Decoder[Any] = msgspec.json.Decoder(list[union])

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
