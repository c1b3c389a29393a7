"""The layers hold: import-linter contracts, and what the light entry points import."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def test_import_linter_contracts_hold() -> None:
    result = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
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


@pytest.mark.parametrize(
    "module", ["tlh.client", "tlh.client.events", "tlh.tui.app", "tlh.cli.commands.room_watch"]
)
def test_the_cli_and_dashboard_stack_imports_no_aiohttp(module: str) -> None:
    """One HTTP stack for the CLI and the dashboard (h11 + wsproto on asyncio streams):
    aiohttp stays the server's and the media's."""
    code = f"import sys, {module}; print(sorted(m for m in sys.modules if m.split('.')[0] == 'aiohttp'))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("module", "planted", "contract"),
    [
        ("tlh/messaging/planted.py", "import tlh.services.outbox", "domain and errors only"),
        ("tlh/messaging/planted.py", "import tlh.store.tinystore", "domain and errors only"),
        ("tlh/media/planted.py", "import tlh.server.app", "domain and errors only"),
        ("tlh/media/planted.py", "import tlh.client", "domain and errors only"),
        ("tlh/media/planted.py", "import tlh.messaging.mime", "are independent"),
        ("tlh/domain/planted.py", "import tlh.messaging.templates", "The domain is pure"),
        ("tlh/messaging/errors.py", "import tlh.messaging.transports", "No import circles"),
        ("tlh/configfile.py", "import tlh.cli.output", "every layer shares import no layer"),
        ("tlh/client/events.py", "import aiohttp", "one HTTP stack"),
        ("tlh/tui/live.py", "import aiohttp", "one HTTP stack"),
    ],
)
def test_a_planted_import_breaks_the_contracts(
    tmp_path: Path, module: str, planted: str, contract: str
) -> None:
    """The contracts catch an upward import from media or messaging, and an import circle."""
    shutil.copytree(ROOT / "tlh", tmp_path / "tlh", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    target = tmp_path / module
    before = target.read_text(encoding="utf-8") if target.exists() else ""
    target.write_text(f"{before}\n{planted}  # planted by the test\n", encoding="utf-8")
    result = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0, result.stdout[-3000:]
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, result.stdout[-3000:]


#: What the server may import from ``tlh.store.base``: the protocol types, to name them.
_STORE_TYPES = {"Repository", "AuditStore"}


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
            # The protocols' names type the app's keys (``STORE``, ``AUDIT``); ops, notes
            # and the rest of the module stay the services'.
            if (
                isinstance(node, ast.ImportFrom)
                and node.module == "tlh.store.base"
                and {a.name for a in node.names} - _STORE_TYPES
            ):
                found.append(f"{where} imports tlh.store.base")
    assert found == []


def test_the_embedded_server_imports_no_postgresql_driver() -> None:
    """``make demo`` needs nothing but Python: psycopg is imported by ``tlh.store.pg``
    only, and only a server configured with PostgreSQL imports that."""
    code = (
        "import sys, tlh.server.app, tlh.services.shared_events, tlh.cli.main; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('psycopg', 'psycopg_pool', 'psycopg_binary') or m.startswith('tlh.store.pg')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]"
