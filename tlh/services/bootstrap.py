"""``tlh init``: a new practice and its first admin in an empty data dir."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from tlh.domain.models import Policy, Role, Staff
from tlh.domain.timeutil import zone
from tlh.errors import Conflict
from tlh.services import auth
from tlh.services.context import SYSTEM, Context, new_id
from tlh.services.events import EventBus
from tlh.services.validation import clean_name, normalise_email
from tlh.store.base import POLICY_ID, Put, note
from tlh.store.keys import KeySource, NewKeys, create_keys
from tlh.store.layout import init_data_dir
from tlh.store.open import store_at
from tlh.store.seal import PLAIN, Codec


@asynccontextmanager
async def local_context(
    data_dir: Path, keys: KeySource | None = None, codec: Codec | None = None
) -> AsyncIterator[Context]:
    """A context over a data dir opened directly (holds the dir's lock meanwhile)."""
    store = store_at(data_dir, keys=keys, codec=codec)
    await store.open()
    try:
        yield Context(store=store, audit=store.audit, events=EventBus())
    finally:
        await store.close()


async def init_practice(
    data_dir: Path,
    practice_name: str,
    tz: str,
    admin_email: str,
    admin_name: str = "Admin",
    *,
    encrypt: NewKeys | None = None,
) -> str:
    """Create the practice and its first admin; return the admin's API token (shown once).

    With ``encrypt`` the data dir is sealed under a new data key (``tlh.store.keys``);
    without, it is a ``--no-encrypt`` dir."""
    zone(tz)
    policy = Policy(practice_name=clean_name(practice_name), timezone=tz)
    email = normalise_email(admin_email)
    codec: Codec | None = None
    if not (data_dir / "meta.json").exists():

        def make_codec(where: Path) -> Codec:
            nonlocal codec
            codec = PLAIN if encrypt is None else create_keys(where, encrypt)[0].sealer()
            return codec

        init_data_dir(data_dir, make_codec)
    keys = None
    if encrypt is not None:
        keys = KeySource(encrypt.key_file, encrypt.passphrase, encrypt.key_dir)
    async with local_context(data_dir, keys, codec) as ctx:
        if await ctx.store.count(Policy) or await ctx.store.count(Staff):
            raise Conflict(f"{data_dir} already holds a practice")
        now = ctx.clock()
        admin = Staff(
            id=new_id("stf"),
            email=email,
            name=clean_name(admin_name),
            role=Role.ADMIN,
            created_at=now,
            updated_at=now,
        )
        token, token_ops = await auth.issue_token(ctx, admin)
        await ctx.store.commit(
            [Put(policy), Put(admin), *token_ops],
            audit=[note(SYSTEM, "practice.init", POLICY_ID, admin.id, *auth.op_ids(token_ops))],
        )
    return token
