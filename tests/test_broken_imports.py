"""A module of ours that cannot be imported fails the tests that need it, never skips them.

Skip scaffolding from when the server and the CLI were written side by side turned one
bad import in ``tlh/server/app.py`` into "44 skipped" for ``pytest tests/cli``. Skips are
for missing system tools (Chromium) only.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Makes ``tlh.server.app`` unimportable, as a syntax or import error in it would.
BREAKER = """
import sys

class _Broken:
    def find_spec(self, name, path=None, target=None):
        if name == "tlh.server.app":
            raise ImportError("planted: tlh.server.app is broken")
        return None

sys.meta_path.insert(0, _Broken())
"""

#: Ways a test module has hidden a failed import of our own code.
HIDING = [
    re.compile(r"importorskip\(\s*['\"]tlh"),
    re.compile(r"find_spec\(\s*['\"]tlh"),
    re.compile(r"except\s*\(?\s*(ImportError|ModuleNotFoundError)\b"),
    re.compile(r"not (written|importable) yet"),
    re.compile(r"skip\(.*\byet\b"),
]


def test_a_broken_server_module_fails_the_cli_tests(tmp_path: Path) -> None:
    (tmp_path / "break_server_app.py").write_text(BREAKER, encoding="utf-8")
    env = {"PYTHONPATH": f"{tmp_path}:{ROOT}", "PATH": "/usr/bin:/bin"}
    pytest_args = ["-q", "-p", "no:cacheprovider", "-p", "break_server_app"]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *pytest_args, "tests/cli/test_local.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0, output[-2000:]
    assert "planted: tlh.server.app is broken" in output, output[-2000:]
    assert "skipped" not in output, output[-2000:]


def test_no_test_hides_a_failed_import_of_ours() -> None:
    found = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        if path == Path(__file__).resolve():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if any(pattern.search(line) for pattern in HIDING):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)
