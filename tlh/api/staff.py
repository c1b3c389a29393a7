"""Staff members: adding, changing, their own name, and new tokens."""

from __future__ import annotations

import msgspec
from msgspec import UNSET, UnsetType

from tlh.domain.models import Role, Staff


class NewStaff(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /api/v1/staff``."""

    email: str
    name: str
    role: Role
    telehealth: bool = False
    #: An admin or scheduler who also sees clients (a solo practitioner is both).
    also_clinician: bool = False


class StaffChanges(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``PATCH /api/v1/staff/{ref}``: only the fields given change."""

    name: str | UnsetType = UNSET
    role: Role | UnsetType = UNSET
    telehealth: bool | UnsetType = UNSET
    #: ``null`` follows the practice's ``waiting_room_default``.
    waiting_room: bool | UnsetType | None = UNSET
    also_clinician: bool | UnsetType = UNSET


class NameChange(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``PATCH /api/v1/me``: your own display name, nothing else."""

    name: str


class NewToken(msgspec.Struct, frozen=True, kw_only=True):
    """A staff member and their new API token (shown once)."""

    staff: Staff
    token: str
