"""Who receives a staff event: the event stream's side of the role matrix.

An event names its audience where it is published: whole roles (admins, admins and
schedulers, everyone) and staff members by id (the clinician whose room, appointment,
session or client it concerns). Each staff subscriber is a ``Viewer`` (id and role) and
is handed only the events whose audience admits it.

What an event shows beyond ids (a waiting-room entry as ``GET /rooms`` shows it, with
the client's name) is a ``Shown`` part with an audience of its own: a subscriber outside
it gets the ids only, and each delivery of it is a read of the clients it names, to be
audited like the REST read that would show the same.
"""

from __future__ import annotations

from typing import Any

import msgspec

from tlh.domain.models import Role


class Viewer(msgspec.Struct, frozen=True):
    """A staff member subscribed to the events (without a role: only what names them)."""

    id: str
    role: Role | None


class Audience(msgspec.Struct, frozen=True):
    """Every staff member of ``roles``, and the staff members ``staff`` by id."""

    roles: frozenset[Role] = frozenset()
    staff: frozenset[str] = frozenset()

    def admits(self, viewer: Viewer) -> bool:
        """Whether ``viewer`` receives what this audience receives."""
        return viewer.role in self.roles or viewer.id in self.staff

    def __or__(self, other: Audience) -> Audience:
        return Audience(self.roles | other.roles, self.staff | other.staff)

    def with_staff(self, *ids: str | None) -> Audience:
        """This audience and the staff members ``ids`` (``None``s are skipped)."""
        return Audience(self.roles, self.staff | {i for i in ids if i})


#: Practice-wide events (the policy, the staff list, bulk imports' counts).
EVERYONE = Audience(roles=frozenset(Role))
#: Admins and schedulers: they read every room, appointment, client and message.
EDITORS = Audience(roles=frozenset({Role.ADMIN, Role.SCHEDULER}))


def concerning(*staff_ids: str | None) -> Audience:
    """Admins, schedulers and the clinicians named (an appointment's, a room's owner)."""
    return EDITORS.with_staff(*staff_ids)


def room(clinician_id: str | None) -> Audience:
    """Who sees a room in ``GET /rooms``: its clinician, admins and schedulers; the
    practice's shared queue (``None``) is seen by everyone."""
    return EVERYONE if clinician_id is None else concerning(clinician_id)


class Shown(msgspec.Struct, frozen=True, kw_only=True):
    """What an event shows beyond ids: ``value`` added to its data under ``key`` for
    ``audience`` only; each delivery is a read of the clients ``client_ids``."""

    key: str
    value: dict[str, Any]
    audience: Audience
    client_ids: tuple[str, ...] = ()
