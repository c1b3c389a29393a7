"""A directory like a fresh clone after ``make``: ``.venv/bin/tlh`` is a console script of
this interpreter (it imports this tree through PYTHONPATH, as the editable install does),
and ``tlh`` alone is not on the PATH."""

from __future__ import annotations

import sys
from pathlib import Path


def fake_clone(tmp: Path) -> Path:
    """``tmp/clone`` with ``.venv/bin/tlh``, as pip writes console scripts."""
    clone = tmp / "clone"
    script = clone / ".venv" / "bin" / "tlh"
    script.parent.mkdir(parents=True)
    script.write_text(
        f"#!{sys.executable}\nimport sys\nfrom tlh.cli.main import main\nsys.exit(main())\n"
    )
    script.chmod(0o755)
    return clone
