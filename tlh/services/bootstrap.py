"""``tlh init``: a new practice and its first admin in an empty data dir or database."""

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
from tlh.store.keys import KeySource, NewKeys
from tlh.store.open import is_database_url, prepare_store, store_at
from tlh.store.seal import Codec


@asynccontextmanager
async def local_context(
    location: Path | str, keys: KeySource | None = None, codec: Codec | None = None
) -> AsyncIterator[Context]:
    """A context over a data dir (holding its lock meanwhile) or a database, opened
    directly."""
    store = store_at(location, keys=keys, codec=codec)
    await store.open()
    try:
        yield Context(store=store, audit=store.audit, events=EventBus())
    finally:
        await store.close()


async def init_practice(
    location: Path | str,
    practice_name: str,
    tz: str,
    admin_email: str,
    admin_name: str = "Admin",
    *,
    encrypt: NewKeys | None = None,
) -> str:
    """Create the practice and its first admin; return the admin's API token (shown once).

    ``location`` is a data dir or a ``postgresql://`` URL. With ``encrypt`` the store is
    sealed under a new data key (``tlh.store.keys``); without, it is ``--no-encrypt``."""
    zone(tz)
    policy = Policy(practice_name=clean_name(practice_name), timezone=tz)
    email = normalise_email(admin_email)
    codec = await prepare_store(location, encrypt)
    keys = None
    if encrypt is not None:
        keys = KeySource(encrypt.key_file, encrypt.passphrase, encrypt.key_dir)
    async with local_context(location, keys, codec) as ctx:
        if await ctx.store.count(Policy) or await ctx.store.count(Staff):
            where = "the database" if is_database_url(location) else str(location)
            raise Conflict(f"{where} already holds a practice")
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
