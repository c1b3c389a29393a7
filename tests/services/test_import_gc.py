"""An import holds the cycle collector off while it runs, and always gives it back."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from tlh.errors import InvalidInput
from tlh.services.context import Context
from tlh.services.importing import import_appointments
from tlh.store.base import Repository

from .conftest import ADMIN, make_csv, row


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    gc.enable()
    yield
    gc.enable()


class WatchedCommit:
    """Wraps the store's commit to record whether the collector ran during it."""

    def __init__(self, store: Repository) -> None:
        self.store, self.real = store, store.commit
        self.enabled_during: list[bool] = []

    async def __call__(self, ops: object, *, audit: object) -> None:
        self.enabled_during.append(gc.isenabled())
        await self.real(ops, audit=audit)  # type: ignore[arg-type]


async def test_collector_is_off_during_the_import_and_on_after(ctx: Context) -> None:
    watched = WatchedCommit(ctx.store)
    ctx.store.commit = watched  # type: ignore[method-assign]
    report = await import_appointments(
        ctx, ADMIN, make_csv([row(external_id="e1", start="2026-12-01T09:00")]), "csv"
    )
    assert report.created == 1
    assert watched.enabled_during == [False]
    assert gc.isenabled()


async def test_collector_is_on_again_after_a_rejected_import(ctx: Context) -> None:
    bad = row(external_id="e1", start="not a time")
    with pytest.raises(InvalidInput):
        await import_appointments(ctx, ADMIN, make_csv([bad]), "csv")
    assert gc.isenabled()


async def test_an_import_leaves_a_collector_that_was_off_off(ctx: Context) -> None:
    gc.disable()
    await import_appointments(
        ctx, ADMIN, make_csv([row(external_id="e1", start="2026-12-01T09:00")]), "csv"
    )
    assert not gc.isenabled()
