"""Staff: add, update, tokens, disable."""

from __future__ import annotations

from typing import Any

import msgspec

from tlh.api.envelope import changed_fields
from tlh.api.staff import NameChange, NewStaff, StaffChanges
from tlh.domain.audience import EVERYONE
from tlh.domain.models import Role, Staff
from tlh.errors import Conflict, NotFound
from tlh.services import auth
from tlh.services.context import Actor, Context, new_id
from tlh.services.validation import clean_name, normalise_email
from tlh.store.base import Op, Put, note, record_key


async def find_staff(ctx: Context, ref: str) -> Staff:
    """A staff member by id or email."""
    record = await ctx.store.get(Staff, ref)
    if record is None and "@" in ref:
        matches = await ctx.store.find(Staff, "email", ref.strip().lower())
        record = matches[0] if matches else None
    if record is None:
        # Staff ids and work emails are not patients' data: saying which one helps.
        raise NotFound(f"no staff member has the id or email {shown(ref)}")
    return record


def shown(ref: str) -> str:
    """A staff id or email as typed, quoted and cut short, for an error message."""
    text = ref.strip()
    return repr(text if len(text) <= 80 else text[:77] + "...")


async def add_staff(ctx: Context, actor: Actor, new: NewStaff) -> tuple[Staff, str]:
    """Create a staff member and their first API token (returned once, stored hashed)."""
    auth.require_role(actor, Role.ADMIN)
    email = normalise_email(new.email)
    now = ctx.clock()
    staff = Staff(
        id=new_id("stf"),
        email=email,
        name=clean_name(new.name),
        role=new.role,
        telehealth=new.telehealth,
        also_clinician=new.also_clinician,
        created_at=now,
        updated_at=now,
    )
    # Held from the check to the commit: two adds of one email cannot both pass it.
    async with ctx.store.locked(f"staff-email:{email}"):
        if await ctx.store.find(Staff, "email", email):
            raise Conflict("a staff member with that email already exists")
        token, token_ops = await auth.issue_token(ctx, staff)
        await ctx.store.commit(
            [Put(staff), *token_ops],
            audit=[note(actor, "staff.create", staff.id, *auth.op_ids(token_ops))],
        )
    ctx.events.publish("staff.created", {"id": staff.id}, EVERYONE)
    return staff, token


async def _change_staff(
    ctx: Context, actor: Actor, staff_id: str, changes: dict[str, Any]
) -> Staff:
    """Apply ``changes`` to the staff member as stored now (concurrent changes all land)."""
    now = ctx.clock()

    def apply(found: Staff | None) -> Staff:
        if found is None:
            raise NotFound("no staff member with that id or email")
        return msgspec.structs.replace(found, **changes, updated_at=now)

    updated = await ctx.store.update(
        Staff, staff_id, apply, audit=[note(actor, "staff.update", staff_id)]
    )
    assert updated is not None
    ctx.events.publish("staff.updated", {"id": staff_id}, EVERYONE)
    return updated


async def update_staff(ctx: Context, actor: Actor, ref: str, changes: StaffChanges) -> Staff:
    """Change a staff member's name, role, telehealth, waiting room setting or whether
    they also see clients (admin)."""
    auth.require_role(actor, Role.ADMIN)
    staff = await find_staff(ctx, ref)
    given = changed_fields(changes)
    if isinstance(changes.name, str):
        given["name"] = clean_name(changes.name)
    return await _change_staff(ctx, actor, staff.id, given)


async def update_own_name(ctx: Context, actor: Actor, change: NameChange) -> Staff:
    """Any staff member changes their own display name (``{"name"}``, nothing else)."""
    staff = await find_staff(ctx, actor.id)
    return await _change_staff(ctx, actor, staff.id, {"name": clean_name(change.name)})


async def new_token_for(ctx: Context, actor: Actor, ref: str) -> tuple[Staff, str]:
    """Issue a fresh token, revoking the staff member's old ones."""
    auth.require_role(actor, Role.ADMIN)
    staff_id = (await find_staff(ctx, ref)).id
    # The staff record and its tokens, held together: a token issued while the member
    # is being disabled (or a second issue at once) cannot outlive the other change.
    async with ctx.store.locked(record_key(Staff, staff_id), auth.tokens_key(staff_id)):
        staff = await find_staff(ctx, staff_id)
        if not staff.active:
            raise Conflict("that staff member is disabled")
        token, ops = await auth.issue_token(ctx, staff)
        await ctx.store.commit(ops, audit=[note(actor, "staff.token", staff.id, *auth.op_ids(ops))])
    return staff, token


async def disable_staff(ctx: Context, actor: Actor, ref: str) -> Staff:
    auth.require_role(actor, Role.ADMIN)
    staff_id = (await find_staff(ctx, ref)).id
    if staff_id == actor.id:
        raise Conflict("you cannot disable yourself")
    async with ctx.store.locked(record_key(Staff, staff_id), auth.tokens_key(staff_id)):
        staff = await find_staff(ctx, staff_id)
        updated = msgspec.structs.replace(staff, active=False, updated_at=ctx.clock())
        revoked = await auth.revoke_all(ctx, staff)
        ops: list[Op] = [Put(updated), *revoked]
        await ctx.store.commit(
            ops, audit=[note(actor, "staff.disable", staff.id, *auth.op_ids(revoked))]
        )
    ctx.events.publish("staff.updated", {"id": staff.id}, EVERYONE)
    return updated


async def list_staff(ctx: Context) -> list[Staff]:
    return sorted(await ctx.store.all(Staff), key=lambda s: s.email)
