"""What ``PgStore`` writes for a record: its sealed document, its index rows and (for an
appointment) its calendar rows. Pure Python, no database: the store turns these into
array parameters of one statement per table.

A document is the record's msgspec JSON sealed with the practice's codec under a label
naming its table and id (``tlh_records/clients/cli_1``): a document copied onto another
row fails to open, like an altered one. Under ``PLAIN`` it is the JSON as is.

Index values are text. Those that may be personal data (``PERSONAL``) are stored as a
keyed digest (HMAC-SHA256 under a key derived from the data key), so a dump of the
database holds no email address or external id in clear; ``find`` digests the value it
is asked for the same way. Under ``PLAIN`` they are clear, as the documents are.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from datetime import datetime

import msgspec
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tlh.domain.conflicts import holds_time
from tlh.domain.models import Appointment
from tlh.errors import InvalidInput, StoreCorrupt
from tlh.store.base import INDEXED, POLICY_ID, TABLE_OF, TABLES, Delete, Op, Put
from tlh.store.partitions import PARTITIONED
from tlh.store.seal import Codec, Sealer

#: Indexed fields whose values may identify a person: stored as keyed digests.
PERSONAL: frozenset[tuple[str, str]] = frozenset(
    {
        ("clients", "email"),
        ("clients", "external_id"),
        ("staff", "email"),
        ("appointments", "external_id"),
    }
)

_DECODERS: dict[str, msgspec.json.Decoder[msgspec.Struct]] = {
    name: msgspec.json.Decoder(kind) for name, kind in TABLES.items()
}
_encoder = msgspec.json.Encoder()

#: (table, id, record or None for a delete): one record's final state in a commit.
Change = tuple[str, str, msgspec.Struct | None]
#: A ``tlh_index`` row: table, field, value, id, and for a table split by month in the
#: embedded store the epoch second the record ends (``Partitioning.end_of``), else None.
IndexRow = tuple[str, str, str, str, int | None]


class CalendarRow(msgspec.Struct, frozen=True):
    """A ``tlh_calendar`` row: one per clinician of an appointment (``""`` for none)."""

    id: str
    clinician_id: str
    lower: datetime
    upper: datetime
    #: ``[)`` for a span, ``[]`` for a zero-length entry (a point its start is in).
    bounds: str
    holds_time: bool
    #: What ``busy_between`` answers: epoch seconds of start and end.
    start_s: int
    end_s: int


def label(table: str, rid: str) -> bytes:
    """The sealing label of a record's document: its table and id."""
    return f"tlh_records/{table}/{rid}".encode()


def record_id(table: str, record: msgspec.Struct) -> str:
    """The id a record is stored under (the policy's is ``POLICY_ID``)."""
    if table == "policy":
        return POLICY_ID
    rid = getattr(record, "id", None)
    if not isinstance(rid, str) or not rid:
        raise InvalidInput(f"a {table} record needs a non-empty string id")
    return rid


def changes_of(ops: Sequence[Op]) -> list[Change]:
    """The final state of each record ``ops`` write (a later op on a record wins), sorted
    by table and id: every commit takes its rows' locks in one order, so two commits of
    the same records cannot deadlock. Refuses a record no table holds, one whose JSON
    does not decode back to its type, or an appointment with a naive start."""
    final: dict[tuple[str, str], msgspec.Struct | None] = {}
    for n, op in enumerate(ops):
        if isinstance(op, Put):
            table = TABLE_OF.get(type(op.record))
            if table is None:
                raise InvalidInput(f"op {n}: no table holds {type(op.record).__name__}")
            rid = record_id(table, op.record)
            if isinstance(op.record, Appointment) and op.record.start.utcoffset() is None:
                raise InvalidInput(f"op {n}: appointment {rid} has a naive start")
            final[(table, rid)] = op.record
        elif isinstance(op, Delete):
            table = TABLE_OF.get(op.kind)
            if table is None:
                raise InvalidInput(f"op {n}: no table holds {op.kind.__name__} records")
            final[(table, op.id)] = None
        else:
            raise InvalidInput(f"op {n}: not a Put or Delete")
    return [(table, rid, rec) for (table, rid), rec in sorted(final.items())]


def encode(table: str, record: msgspec.Struct) -> tuple[bytes, msgspec.Struct]:
    """The JSON of ``record`` and the record as it will read back; ``InvalidInput`` if it
    cannot be encoded or would not decode (a field of the wrong type): refused now, not
    at the next read."""
    try:
        data = _encoder.encode(record)
        return data, _DECODERS[table].decode(data)
    except (TypeError, msgspec.EncodeError, msgspec.ValidationError) as exc:
        raise InvalidInput(f"a record does not match its table: {exc}") from None


def decode(table: str, rid: str, doc: bytes, codec: Codec) -> msgspec.Struct:
    """The record stored as ``doc`` (opened with ``codec``)."""
    plain = codec.open(doc, label(table, rid), f"the database's {table} record {rid}")
    try:
        return _DECODERS[table].decode(plain)
    except msgspec.DecodeError:
        raise StoreCorrupt(
            f"the database's {table} record {rid} does not decode as its type"
        ) from None


class IndexKey:
    """Turns indexed values into the text stored in ``tlh_index``: personal ones into a
    keyed digest (see the module docstring)."""

    def __init__(self, codec: Codec) -> None:
        self._key: bytes | None = None
        if isinstance(codec, Sealer):
            data_key = codec.key(codec.current)
            assert data_key is not None
            hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"tlh pg index")
            self._key = hkdf.derive(data_key)

    def value(self, table: str, field: str, value: object) -> str:
        """The stored text of one indexed value."""
        text = value if isinstance(value, str) else _encoder.encode(value).decode()
        if self._key is not None and (table, field) in PERSONAL:
            msg = f"{table}\0{field}\0{text}".encode()
            return hmac.new(self._key, msg, hashlib.sha256).hexdigest()
        return str(text)

    def rows(self, table: str, rid: str, record: msgspec.Struct) -> list[IndexRow]:
        """The index rows of a record: one per value of each indexed field (a tuple
        field: one per element; ``None``: none)."""
        out: list[IndexRow] = []
        split = PARTITIONED.get(table)
        ends = split.end_of(record) if split is not None else None
        for field in INDEXED.get(table, ()):
            value = getattr(record, field)
            values: Iterable[object] = (
                () if value is None else value if isinstance(value, tuple) else (value,)
            )
            for v in dict.fromkeys(values):
                out.append((table, field, self.value(table, field, v), rid, ends))
        return out


def calendar_rows(apt: Appointment) -> list[CalendarRow]:
    """The calendar rows of an appointment: what ``appointments_between`` and
    ``busy_between`` find it by (``tlh.store.calendar``, ``tlh.store.busy``)."""
    start_s = int(apt.start.timestamp())
    end_s = start_s + apt.duration_min * 60
    point = apt.duration_min <= 0
    upper = apt.start if point else apt.end
    busy = holds_time(apt)
    return [
        CalendarRow(apt.id, c, apt.start, upper, "[]" if point else "[)", busy, start_s, end_s)
        for c in (dict.fromkeys(apt.clinician_ids) or ("",))
    ]
