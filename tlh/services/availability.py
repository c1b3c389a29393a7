"""Clinicians' weekly availability blocks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tlh.api.availability import NewBlock
from tlh.domain.audience import concerning
from tlh.domain.availability import availability_warnings, parse_weekday, validate_block
from tlh.domain.models import Appointment, AvailabilityBlock, Blocker, Policy, Role, Staff
from tlh.domain.timeutil import zone
from tlh.errors import Conflict, NotFound
from tlh.services import auth
from tlh.services.context import Actor, Context, new_id
from tlh.services.staff import find_staff
from tlh.store.base import Delete, Put, Repository, note

WRITERS = (Role.ADMIN, Role.SCHEDULER)


async def add_block(ctx: Context, actor: Actor, new: NewBlock) -> AvailabilityBlock:
    """Add a clinician's weekly block (the times are checked in the domain)."""
    auth.require_role(actor, *WRITERS)
    clinician = await find_staff(ctx, new.clinician)
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
    await ctx.store.commit([Put(block)], audit=[note(actor, "availability.create", block.id)])
    ctx.events.publish(
        "availability.changed", {"clinician_id": clinician.id}, concerning(clinician.id)
    )
    return block


async def list_blocks(ctx: Context, clinician: str | None = None) -> list[AvailabilityBlock]:
    if clinician:
        found = await ctx.store.find(
            AvailabilityBlock, "clinician_id", (await find_staff(ctx, clinician)).id
        )
    else:
        found = await ctx.store.all(AvailabilityBlock)
    return sorted(found, key=lambda b: (b.clinician_id, b.weekday, b.start_local))


async def remove_block(ctx: Context, actor: Actor, block_id: str) -> None:
    auth.require_role(actor, *WRITERS)
    block = await ctx.store.get(AvailabilityBlock, block_id)
    if block is None:
        raise NotFound("no availability block with that id")
    await ctx.store.commit(
        [Delete(AvailabilityBlock, block_id)], audit=[note(actor, "availability.delete", block_id)]
    )
    ctx.events.publish(
        "availability.changed", {"clinician_id": block.clinician_id}, concerning(block.clinician_id)
    )


async def blocks_of(
    store: Repository, clinician_ids: Iterable[str]
) -> dict[str, list[AvailabilityBlock]]:
    """Each clinician's weekly blocks by staff id (one lookup each)."""
    return {
        cid: await store.find(AvailabilityBlock, "clinician_id", cid) for cid in set(clinician_ids)
    }


async def check_availability(
    store: Repository, policy: Policy, appts: Sequence[Appointment]
) -> list[tuple[str, Blocker]]:
    """Every appointment of ``appts`` outside its clinicians' availability, with why
    (appointment id, warning); one read of the blocks for them all."""
    blocks = await blocks_of(store, (c for a in appts for c in a.clinician_ids))
    if not any(blocks.values()):
        return []  # nobody set their availability: nothing to hold anyone to
    names = {cid: s.name for cid in blocks if (s := await store.get(Staff, cid)) is not None}
    tz = zone(policy.timezone)
    return [(a.id, w) for a in appts for w in availability_warnings(a, blocks, tz, names)]


class OutsideAvailability(Conflict):
    """``strict_availability``: the booking lies outside its clinicians' availability."""

    code = "outside_availability"


def refuse_unavailable(found: Sequence[tuple[str, Blocker]]) -> None:
    """``OutsideAvailability`` naming the first warning (all of them in ``details``), if any."""
    if found:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise OutsideAvailability(
            f"{found[0][1].message}{more}; nothing was booked",
            # No ids: the appointments were never made.
            details=[{"code": w.code, "message": w.message} for _, w in found],
        )
