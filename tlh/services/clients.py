"""Clients and their contacts. Every read of a client's record is audited."""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec

from tlh.domain.audience import EDITORS
from tlh.domain.models import Client, Contact, Reminder, Role
from tlh.domain.timeutil import zone
from tlh.errors import Conflict, InvalidInput, NotFound
from tlh.services import audiences, auth
from tlh.services.context import Actor, Context, new_id
from tlh.services.validation import clean_name, normalise_email, normalise_phone, parse_dob
from tlh.store.base import Put

READERS = (Role.ADMIN, Role.SCHEDULER, Role.CLINICIAN)
WRITERS = (Role.ADMIN, Role.SCHEDULER)
CLIENT_FIELDS = ("name", "dob", "email", "phone", "external_id", "reminders")


def _today(ctx: Context) -> date:
    return ctx.clock().astimezone(zone(ctx.policy().timezone)).date()


def _reminders(value: Any) -> tuple[Reminder, ...]:
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    if not isinstance(value, list | tuple):
        raise InvalidInput("reminders must be a list of 'email' and/or 'sms'")
    try:
        return tuple(dict.fromkeys(Reminder(str(v).strip()) for v in value))
    except ValueError:
        raise InvalidInput("reminders must be a list of 'email' and/or 'sms'") from None


def _clean(ctx: Context, fields: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """Validate and normalise client fields; unknown fields are an error."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if key not in CLIENT_FIELDS:
            raise InvalidInput(f"unknown client field {key!r}")
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
        else:
            out[key] = _reminders(value)
    if creating and "name" not in out:
        raise InvalidInput("a client needs a name")
    return out


def _check_external_id(ctx: Context, external_id: str | None, own_id: str | None) -> None:
    if external_id is None:
        return
    for other in ctx.store.find("clients", "external_id", external_id):
        if isinstance(other, Client) and other.id != own_id:
            raise Conflict(f"external id is already used by client {other.id}")


async def add_client(ctx: Context, actor: Actor, fields: dict[str, Any]) -> Client:
    auth.require_role(actor, *WRITERS)
    clean = _clean(ctx, fields, creating=True)
    _check_external_id(ctx, clean.get("external_id"), None)
    now = ctx.clock()
    client = Client(id=new_id("cli"), created_at=now, updated_at=now, **clean)
    await ctx.store.commit([Put("clients", client)])
    await ctx.audit.append(actor, "client.create", client.id)
    ctx.events.publish("client.created", {"id": client.id}, EDITORS)
    return client


def _load(ctx: Context, client_id: str) -> Client:
    client = ctx.store.get("clients", client_id)
    if not isinstance(client, Client):
        raise NotFound("no client with that id")
    return client


async def get_client(ctx: Context, actor: Actor, client_id: str) -> Client:
    auth.require_role(actor, *READERS)
    client = _load(ctx, client_id)
    await ctx.audit.append(actor, "client.read", client.id)
    return client


async def update_client(
    ctx: Context, actor: Actor, client_id: str, fields: dict[str, Any]
) -> Client:
    auth.require_role(actor, *WRITERS)
    client = _load(ctx, client_id)
    clean = _clean(ctx, fields, creating=False)
    _check_external_id(ctx, clean.get("external_id"), client.id)
    updated = msgspec.structs.replace(client, **clean, updated_at=ctx.clock())
    await ctx.store.commit([Put("clients", updated)])
    await ctx.audit.append(actor, "client.update", client.id)
    ctx.events.publish("client.updated", {"id": client.id}, audiences.client(ctx, client.id))
    return updated


async def add_contact(ctx: Context, actor: Actor, client_id: str, fields: dict[str, Any]) -> Client:
    """Add a caregiver or other contact to a client."""
    auth.require_role(actor, *WRITERS)
    client = _load(ctx, client_id)
    unknown = set(fields) - {"name", "relationship", "email", "phone", "reminders"}
    if unknown:
        raise InvalidInput(f"unknown contact field {sorted(unknown)[0]!r}")
    contact = Contact(
        id=new_id("con"),
        name=clean_name(str(fields.get("name") or "")),
        relationship=str(fields.get("relationship") or "")[:100],
        email=normalise_email(fields["email"]) if fields.get("email") else None,
        phone=normalise_phone(fields["phone"]) if fields.get("phone") else None,
        reminders=_reminders(fields.get("reminders") or []),
    )
    updated = msgspec.structs.replace(
        client, contacts=(*client.contacts, contact), updated_at=ctx.clock()
    )
    await ctx.store.commit([Put("clients", updated)])
    await ctx.audit.append(actor, "client.contact.add", client.id)
    ctx.events.publish("client.updated", {"id": client.id}, audiences.client(ctx, client.id))
    return updated


async def list_clients(ctx: Context, actor: Actor, query: str | None = None) -> list[Client]:
    """All clients, or those matching ``query`` (name, email, phone, external id)."""
    auth.require_role(actor, *READERS)
    clients = [c for c in ctx.store.all("clients") if isinstance(c, Client)]
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
