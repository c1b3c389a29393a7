"""msgspec's validation errors in words: the field by name, what it must be, never the
value it had (``tlh.api.validation.explain``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import msgspec
import pytest

from tlh.api.frames import ParticipantFrame
from tlh.api.practice import PolicyChanges
from tlh.api.validation import explain, where
from tlh.domain.models import Role


class Inner(msgspec.Struct, forbid_unknown_fields=True):
    kind: Literal["a", "b"]


class Sample(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str
    role: Role = Role.ADMIN
    count: int | None = None
    short: Annotated[str, msgspec.Meta(min_length=1, max_length=3)] = "x"
    share: Annotated[float, msgspec.Meta(ge=0, le=100)] = 0.0
    born: date | None = None
    inner: list[Inner] = msgspec.field(default_factory=list)


def _explain(raw: bytes, typ: Any = Sample) -> str:
    with pytest.raises(msgspec.ValidationError) as caught:
        msgspec.json.decode(raw, type=typ)
    return explain(caught.value, typ)


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        (b'{"name": 1}', "name must be a string"),
        (b'{}', "name is required"),
        (b'{"name": "n", "count": "SECRET"}', "count must be a whole number or null"),
        (b'{"name": "n", "role": "SECRET"}', "role must be one of admin, scheduler, clinician"),
        (b'{"name": "n", "short": ""}', "short must not be empty"),
        (b'{"name": "n", "short": "SECRET"}', "short must be at most 3 characters"),
        (b'{"name": "n", "share": -1}', "share must be at least 0"),
        (b'{"name": "n", "share": 101}', "share must be at most 100"),
        (b'{"name": "n", "born": "SECRET"}', "born must be a date (YYYY-MM-DD)"),
        (b'{"name": "n", "inner": [{"kind": "a"}, {"kind": "SECRET"}]}',
         "inner[1].kind must be one of a, b"),
        (b'{"name": "n", "inner": [{}]}', "inner[0].kind is required"),
        (b'{"name": "n", "inner": [{"kind": "a", "SECRET": 1}]}',
         "unknown field 'SECRET' (expected one of: kind)"),
        (b'{"name": "n", "zz": 1}',
         "unknown field 'zz' (expected one of: born, count, inner, name, role, share, short)"),
    ],
)  # fmt: skip
def test_errors_name_the_field_and_what_it_must_be(raw: bytes, said: str) -> None:
    assert _explain(raw) == said


def test_a_refused_value_is_never_repeated() -> None:
    for raw in (
        b'{"name": "n", "role": "SECRET"}',
        b'{"name": "n", "born": "SECRET"}',
        b'{"name": "n", "count": 1e999}',
    ):
        assert "SECRET" not in _explain(raw)


def test_a_long_list_of_known_fields_is_left_out() -> None:
    assert _explain(b'{"colour": "red"}', PolicyChanges) == "unknown field 'colour'"


def test_where_splits_message_and_place() -> None:
    with pytest.raises(msgspec.ValidationError) as caught:
        msgspec.json.decode(b'{"type": "teleport"}', type=ParticipantFrame)
    assert where(caught.value) == ("Invalid value 'teleport'", "$.type")
