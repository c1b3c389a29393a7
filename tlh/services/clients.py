"""Clients and their contacts. Every read of a client's record is audited."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import msgspec

from tlh.api.clients import ClientChanges, NewClient, NewContact, Reminders
from tlh.api.envelope import changed_fields
from tlh.domain.audience import EDITORS
from tlh.domain.language import parse_language
from tlh.domain.models import Client, Contact, Reminder, Role
from tlh.domain.timeutil import zone
from tlh.errors import Conflict, InvalidInput, NotFound
from tlh.services import audiences, auth, schedule_locks, scope
from tlh.services.context import Actor, Context, new_id
from tlh.services.staff import find_staff
from tlh.services.validation import clean_name, normalise_email, normalise_phone, parse_dob
from tlh.store.base import Put, note

READERS = (Role.ADMIN, Role.SCHEDULER, Role.CLINICIAN)
WRITERS = (Role.ADMIN, Role.SCHEDULER)


def _today(ctx: Context) -> date:
    return ctx.clock().astimezone(zone(ctx.policy().timezone)).date()


def _reminders(value: Reminders) -> tuple[Reminder, ...]:
    """The reminders a list or a comma-separated text ("email,sms") names, once each."""
    if isinstance(value, str):
        try:
            value = [Reminder(v.strip()) for v in value.split(",") if v.strip()]
        except ValueError:
            raise InvalidInput("reminders must be a list of 'email' and/or 'sms'") from None
    return tuple(dict.fromkeys(value))


async def _clean(ctx: Context, fields: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """Normalise the client fields given (checked: addresses, date of birth, name)."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if key == "clinicians":
            out["clinician_ids"] = await _assigned(ctx, value or [])
            continue
        if value is None or value == "":
            if key == "name":
                raise InvalidInput("a client needs a name")
            if key != "reminders":
                out[key] = None
            continue
        if key == "name":
            out[key] = clean_name(str(value))
        elif key == "email":
            out[key] = normalise_email(str(value))
        elif key == "phone":
            out[key] = normalise_phone(str(value))
        elif key == "dob":
            out[key] = parse_dob(str(value), today=_today(ctx))
        elif key == "external_id":
            out[key] = str(value).strip()
        elif key == "language":
            out[key] = parse_language(str(value))
        else:
            out[key] = _reminders(value)
    if creating and "name" not in out:
        raise InvalidInput("a client needs a name")
    return out


async def _assigned(ctx: Context, refs: list[str]) -> tuple[str, ...]:
    """The ids of the clinicians ``refs`` name (each an active clinician), once each."""
    ids: list[str] = []
    for ref in refs:
        staff = await find_staff(ctx, str(ref))
        if not staff.is_clinician:
            raise InvalidInput(f"staff member {staff.id} is not a clinician")
        ids.append(staff.id)
    return tuple(dict.fromkeys(ids))


async def _check_external_id(ctx: Context, external_id: str | None, own_id: str | None) -> None:
    if external_id is None:
        return
    for other in await ctx.store.find(Client, "external_id", external_id):
        if other.id != own_id:
            raise Conflict(f"external id is already used by client {other.id}")


async def add_client(ctx: Context, actor: Actor, new: NewClient) -> Client:
    """Add a client (audited)."""
    auth.require_role(actor, *WRITERS)
    given = {k: v for k, v in msgspec.structs.asdict(new).items() if v is not None}
    clean = await _clean(ctx, given, creating=True)
    now = ctx.clock()
    client = Client(id=new_id("cli"), created_at=now, updated_at=now, **clean)
    keys = [schedule_locks.client_external_id(client.external_id)] if client.external_id else []
    async with ctx.store.locked(*keys):
        await _check_external_id(ctx, client.external_id, None)
        await ctx.store.commit([Put(client)], audit=[note(actor, "client.create", client.id)])
    ctx.events.publish("client.created", {"id": client.id}, EDITORS)
    return client


async def _load(ctx: Context, client_id: str) -> Client:
    client = await ctx.store.get(Client, client_id)
    if client is None:
        raise NotFound(f"no client {client_id}")
    return client


async def get_client(
    ctx: Context, actor: Actor, client_id: str, rooms: scope.RoomClients | None = None
) -> Client:
    """One client (audited); a clinician reads their own only (``tlh.services.scope``)."""
    auth.require_role(actor, *READERS)
    client = await _load(ctx, client_id)
    await scope.check_client(ctx, actor, client.id, rooms)
    await ctx.audit.append(actor, "client.read", client.id)
    return client


async def change_client(
    ctx: Context, actor: Actor, client_id: str, action: str, change: Callable[[Client], Client]
) -> Client:
    """Read-modify-write one client as stored now (two changes at once both land), with
    ``action`` in the audit log and a ``client.updated`` event."""
    now = ctx.clock()

    def apply(found: Client | None) -> Client:
        if found is None:
            raise NotFound(f"no client {client_id}")
        return msgspec.structs.replace(change(found), updated_at=now)

    updated = await ctx.store.update(
        Client, client_id, apply, audit=[note(actor, action, client_id)]
    )
    assert updated is not None
    ctx.events.publish(
        "client.updated", {"id": updated.id}, await audiences.client(ctx, updated.id)
    )
    return updated


async def update_client(
    ctx: Context, actor: Actor, client_id: str, changes: ClientChanges
) -> Client:
    """Change the fields ``changes`` gives (``None`` or ``""`` clears one)."""
    auth.require_role(actor, *WRITERS)
    await _load(ctx, client_id)
    clean = await _clean(ctx, changed_fields(changes), creating=False)
    external_id = clean.get("external_id")
    keys = [schedule_locks.client_external_id(external_id)] if external_id else []
    async with ctx.store.locked(*keys):
        await _check_external_id(ctx, external_id, client_id)
        return await change_client(
            ctx,
            actor,
            client_id,
            "client.update",
            lambda found: msgspec.structs.replace(found, **clean),
        )


async def add_contact(ctx: Context, actor: Actor, client_id: str, new: NewContact) -> Client:
    """Add a caregiver, an interpreter or another contact to a client (a clinician: to
    one of their own clients)."""
    auth.require_role(actor, *READERS)
    await scope.check_client(ctx, actor, client_id)  # one answer for someone else's and none
    client = await _load(ctx, client_id)
    contact = Contact(
        id=new_id("con"),
        name=clean_name(new.name),
        relationship=(new.relationship or "")[:100],
        email=normalise_email(new.email) if new.email else None,
        phone=normalise_phone(new.phone) if new.phone else None,
        reminders=_reminders(new.reminders or []),
        portal=new.portal,
    )
    return await change_client(
        ctx,
        actor,
        client.id,
        "client.contact.add",
        lambda found: msgspec.structs.replace(found, contacts=(*found.contacts, contact)),
    )


async def lookup_clients(
    ctx: Context, actor: Actor, ids: Sequence[str], rooms: scope.RoomClients | None = None
) -> list[Client]:
    """The clients with these ids that the actor may read, in the order asked (a
    clinician: their own, as ``scope`` says; ``rooms``: the live rooms, whose clients
    count as theirs). An unknown id and another clinician's client are left out alike,
    so ids cannot be probed. Each client returned is an audited read; no other is read."""
    auth.require_role(actor, *READERS)
    found: list[Client] = []
    for client_id in dict.fromkeys(ids):
        client = await ctx.store.get(Client, client_id)
        if client is None:
            continue
        try:
            await scope.check_client(ctx, actor, client.id, rooms)
        except NotFound:
            continue
        found.append(client)
    if found:
        await ctx.audit.append_many(actor, "client.read", [c.id for c in found])
    return found


async def list_clients(
    ctx: Context,
    actor: Actor,
    query: str | None = None,
    rooms: scope.RoomClients | None = None,
) -> list[Client]:
    """All clients, or those matching ``query`` (name, email, phone, external id); a
    clinician's own only."""
    auth.require_role(actor, *READERS)
    clients = await scope.visible_clients(ctx, actor, await ctx.store.all(Client), rooms)
    if query:
        needle = query.strip().casefold()
        digits = "".join(ch for ch in needle if ch.isdigit())
        clients = [
            c
            for c in clients
            if needle in c.name.casefold()
            or (c.email and needle in c.email)
            or (c.external_id and needle == c.external_id.casefold())
            or (digits and len(digits) >= 4 and c.phone and digits in c.phone)
        ]
    clients.sort(key=lambda c: (c.name.casefold(), c.id))
    await ctx.audit.append_many(actor, "client.read", [c.id for c in clients])
    return clients
