"""kill -9 of a real server mid-import and mid-edit: nothing acknowledged lost, every
import all or nothing, and every stored change audited after each restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from .kill_server import run


@pytest.mark.timeout(240)
@pytest.mark.parametrize("sealed", [False, True], ids=["clear", "sealed"])
def test_killing_the_server_leaves_every_stored_change_audited(
    tmp_path: Path, sealed: bool
) -> None:
    summary = run(rounds=8, seed=3, root=tmp_path, sealed=sealed)
    assert summary.kills == 8
    assert summary.imports_acknowledged > 0
