"""kill -9 of a writing store never loses an acknowledged commit nor splits a batch."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.store.kill_harness import run_kills


@pytest.mark.slow
async def test_kill_minus_nine_loses_nothing_acknowledged(data_dir: Path) -> None:
    total = await run_kills(data_dir, kills=10, seed=1)
    assert total > 0
