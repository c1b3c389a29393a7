"""Exporting appointments: the file of a date range, with the client reads audited."""

from __future__ import annotations

from tlh.domain.models import Client, Role, Staff
from tlh.services import auth
from tlh.services.appointments import list_appointments
from tlh.services.context import Actor, Context
from tlh.services.exporting import ExportFormat, export_appointments

EXPORTERS = (Role.ADMIN, Role.SCHEDULER)


async def export(
    ctx: Context, actor: Actor, fmt: ExportFormat, from_: str | None, to: str | None
) -> bytes:
    """The appointments of local days ``from_``..``to`` as a ``fmt`` file (see
    ``tlh.services.exporting``); the clients it names are audited as read."""
    auth.require_role(actor, *EXPORTERS)
    found = await list_appointments(ctx, actor, from_=from_, to=to)
    client_ids = sorted({cid for a in found for cid in a.client_ids})
    clients = {i: x for i in client_ids if (x := await ctx.store.get(Client, i)) is not None}
    staff = {s.id: s for s in await ctx.store.all(Staff)}
    data = export_appointments(found, clients, staff, ctx.policy(), fmt)
    await ctx.audit.append_many(actor, "client.read.export", client_ids)
    return data
