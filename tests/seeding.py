"""Writing test data straight into a store, audited as every write must be, and reading
back what a test's actions put in the audit log."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from tlh.services.context import SYSTEM, Context
from tlh.store.base import Op, Repository, note_ops


async def seed(store: Repository, ops: Iterable[Op], action: str = "test.seed") -> None:
    """Commit ``ops`` with one audit note naming every record they write."""
    batch = list(ops)
    await store.commit(batch, audit=[note_ops(SYSTEM, action, batch)] if batch else [])


async def audited_when(
    ctx: Context, entry: tuple[str, str, str], timeout: float = 5.0
) -> list[tuple[str, str, str]]:
    """``audited(ctx)`` once it holds ``entry`` (written by a task still running), or
    fail after ``timeout``."""
    async with asyncio.timeout(timeout):
        while entry not in (found := await audited(ctx)):
            await ctx.store.audit.barrier()
            await asyncio.sleep(0.005)  # the writing task may not have queued it yet
    return found


async def audited(ctx: Context) -> list[tuple[str, str, str]]:
    """``(actor id, action, target)`` of every audit entry but the seeds', oldest first."""
    return [
        (e["actor"]["id"], e["action"], e["target"])
        for e in await ctx.store.audit.read()
        if e["action"] != "test.seed"
    ]
