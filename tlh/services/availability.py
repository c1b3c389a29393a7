"""Clinicians' weekly availability blocks."""

from __future__ import annotations

from tlh.api.availability import NewBlock
from tlh.domain.audience import concerning
from tlh.domain.availability import parse_weekday, validate_block
from tlh.domain.models import AvailabilityBlock, Role
from tlh.errors import NotFound
from tlh.services import auth
from tlh.services.context import Actor, Context, new_id
from tlh.services.staff import find_staff
from tlh.store.base import Delete, Put, note

WRITERS = (Role.ADMIN, Role.SCHEDULER)


async def add_block(ctx: Context, actor: Actor, new: NewBlock) -> AvailabilityBlock:
    """Add a clinician's weekly block (the times are checked in the domain)."""
    auth.require_role(actor, *WRITERS)
    clinician = find_staff(ctx, new.clinician)
    weekday = parse_weekday(str(new.weekday))
    validate_block(weekday, new.start_local, new.end_local)
    block = AvailabilityBlock(
        id=new_id("avl"),
        clinician_id=clinician.id,
        weekday=weekday,
        start_local=new.start_local,
        end_local=new.end_local,
        mode=new.mode,
    )
    await ctx.store.commit(
        [Put("availability", block)], audit=[note(actor, "availability.create", block.id)]
    )
    ctx.events.publish(
        "availability.changed", {"clinician_id": clinician.id}, concerning(clinician.id)
    )
    return block


def list_blocks(ctx: Context, clinician: str | None = None) -> list[AvailabilityBlock]:
    if clinician:
        found = ctx.store.find("availability", "clinician_id", find_staff(ctx, clinician).id)
    else:
        found = list(ctx.store.all("availability"))
    blocks = [b for b in found if isinstance(b, AvailabilityBlock)]
    return sorted(blocks, key=lambda b: (b.clinician_id, b.weekday, b.start_local))


async def remove_block(ctx: Context, actor: Actor, block_id: str) -> None:
    auth.require_role(actor, *WRITERS)
    block = ctx.store.get("availability", block_id)
    if not isinstance(block, AvailabilityBlock):
        raise NotFound("no availability block with that id")
    await ctx.store.commit(
        [Delete("availability", block_id)], audit=[note(actor, "availability.delete", block_id)]
    )
    ctx.events.publish(
        "availability.changed", {"clinician_id": block.clinician_id}, concerning(block.clinician_id)
    )
