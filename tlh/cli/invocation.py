"""How to run this ``tlh`` again, written as a command a person can paste.

Printed hints (the demo's "try these", ``tlh init``'s serve command) must run as printed:
``tlh`` when that is what the shell finds, else the path this one was started by
(``.venv/bin/tlh`` from a fresh clone, where ``tlh`` alone is "command not found"), or
``python -m tlh`` with this interpreter.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys


def _shown(path: str) -> str:
    """``path`` relative to the working directory when it lies inside it, quoted."""
    absolute = os.path.abspath(path)
    relative = os.path.relpath(absolute)
    if relative.startswith(os.pardir):
        return shlex.quote(absolute)
    return shlex.quote(relative if os.sep in relative else os.path.join(os.curdir, relative))


def tlh_command(argv0: str | None = None) -> str:
    """The command that starts this same ``tlh`` from the current directory."""
    started = argv0 if argv0 is not None else sys.argv[0]
    name = os.path.basename(started)
    if name in ("tlh", "tlh.exe") and os.path.isfile(started):
        found = shutil.which("tlh")
        if found and os.path.samefile(found, started):
            return "tlh"
        return _shown(started)
    # ``python -m tlh`` (argv[0] is tlh/__main__.py) or an embedding: this interpreter.
    python = _shown(sys.executable) if os.sep in sys.executable else sys.executable
    return f"{python} -m tlh"
