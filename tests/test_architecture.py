"""The layers hold: import-linter contracts, and what the light entry points import."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_hold() -> None:
    exe = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(exe), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_domain_and_client_import_no_server_stack() -> None:
    code = (
        "import sys, tlh.domain.eligibility, tlh.domain.recurrence, tlh.client; "
        "heavy = {'aiohttp', 'aiortc', 'av', 'textual', 'tinydb'} & set(sys.modules); "
        "print(sorted(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]"


def test_the_server_reaches_records_only_through_services() -> None:
    """Routes parse, call a service, respond: no handler reads or writes the store itself
    (a read there skips the service's checks and audit). Only app start-up opens it."""
    found = []
    for path in sorted((ROOT / "tlh" / "server").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Attribute) and node.attr == "store":
                found.append(f"{where} .store")
            if isinstance(node, ast.ImportFrom) and node.module == "tlh.store.base":
                found.append(f"{where} imports tlh.store.base")
    assert found == []
