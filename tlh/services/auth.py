"""Staff API tokens: made once, shown once, stored as SHA-256 only."""

from __future__ import annotations

import hashlib
import secrets

from tlh.domain.models import Role, Staff, StaffToken
from tlh.errors import Forbidden, Unauthenticated
from tlh.services.context import Actor, Context, new_id, staff_actor
from tlh.store.base import Put, op_id

TOKEN_PREFIX = "tlh_"


def hash_token(token: str) -> str:
    """SHA-256 of a token (tokens have 192 random bits, so no salt or KDF is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(24)


async def issue_token(ctx: Context, staff: Staff) -> tuple[str, list[Put]]:
    """A new token for ``staff`` and the ops that store it and revoke the old ones."""
    token = new_token()
    now = ctx.clock()
    ops: list[Put] = [
        Put(_revoked(old, now))
        for old in await ctx.store.find(StaffToken, "staff_id", staff.id)
        if old.revoked_at is None
    ]
    ops.append(
        Put(
            StaffToken(id=new_id("tok"), staff_id=staff.id, hash=hash_token(token), created_at=now),
        )
    )
    return token, ops


def tokens_key(staff_id: str) -> str:
    """The ``Repository.locked`` key held while a staff member's tokens change."""
    return f"tokens-of:{staff_id}"


def op_ids(ops: list[Put]) -> list[str]:
    """The ids of the token records ``ops`` write (for their audit note)."""
    return [op_id(op) for op in ops]


async def revoke_all(ctx: Context, staff: Staff) -> list[Put]:
    now = ctx.clock()
    return [
        Put(_revoked(old, now))
        for old in await ctx.store.find(StaffToken, "staff_id", staff.id)
        if old.revoked_at is None
    ]


def _revoked(token: StaffToken, now: object) -> StaffToken:
    import msgspec

    return msgspec.structs.replace(token, revoked_at=now)


def bearer_of(authorization: str) -> str:
    """The token of an ``Authorization: Bearer TOKEN`` header value ("" for anything else)."""
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


async def authenticate(ctx: Context, token: str, source: str) -> tuple[Actor, Staff]:
    """The staff member a bearer token belongs to; one answer for every failure."""
    staff = await token_holder(ctx, hash_token(token)) if token else None
    if staff is None:
        raise Unauthenticated("invalid, revoked or missing API token")
    return staff_actor(staff, source), staff


async def token_holder(ctx: Context, token_hash: str) -> Staff | None:
    """The active staff member whose live token has this hash, else ``None``."""
    found = await ctx.store.find(StaffToken, "hash", token_hash)
    record = found[0] if found else None
    if record is not None and record.revoked_at is None:
        staff = await ctx.store.get(Staff, record.staff_id)
        if staff is not None and staff.active:
            return staff
    return None


def require_role(actor: Actor, *roles: Role) -> None:
    if actor.kind == "system":
        return
    if not actor.roles & set(roles):
        allowed = ", ".join(r.value for r in roles)
        raise Forbidden(f"this needs the role {allowed}")
