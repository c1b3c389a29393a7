"""The server's health, and changes to the practice's policy (``PATCH /api/v1/practice``)."""

from __future__ import annotations

from typing import get_type_hints

import msgspec

from tlh.domain.models import Policy


class Health(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /healthz``."""

    ok: bool
    version: str


class Readiness(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /readyz``: whether this server should get traffic, and what is not ready."""

    ok: bool
    #: The data dir's store is open.
    store: bool
    #: The outbox sender runs (messages leave), or stands by to (servers sharing a store).
    outbox: bool
    #: This server serves the live rooms: always one alone; of several sharing a store,
    #: each one while it reaches the database (alive as its own id).
    rooms: bool = True


def _policy_changes() -> type[msgspec.Struct]:
    """Every ``Policy`` field, each optional (absent: left as it is), of the field's own
    type: the policy is the one definition of its settings."""
    hints = get_type_hints(Policy)
    fields = [
        (name, hints[name] | msgspec.UnsetType, msgspec.UNSET) for name in Policy.__struct_fields__
    ]
    return msgspec.defstruct(
        "PolicyChanges",
        fields,
        kw_only=True,
        frozen=True,
        forbid_unknown_fields=True,
        module=__name__,
    )


#: ``{field: value, ...}``: the settings to change, each of its ``Policy`` field's type.
PolicyChanges = _policy_changes()
