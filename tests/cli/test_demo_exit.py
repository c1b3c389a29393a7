"""`tlh demo` removes its throw-away data dir however it is stopped, without a traceback.

The demo runs as a real process. ``TMPDIR`` points it at the test's own directory, so
"the data dir is gone" is "no ``tlh-demo-*`` is left there". The dashboard variant runs
in a pseudo-terminal (the demo opens the dashboard only on a tty): quit it with ``q``,
then interrupt, which is where the data used to be left behind (see ``local.py``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.serving import free_port

from .terminal import Terminal

pytestmark = pytest.mark.timeout(60)

DEMO_UP_S = 30.0


def demo_env(tmp: Path) -> dict[str, str]:
    return {**os.environ, "TMPDIR": str(tmp), "TLH_CONFIG": os.devnull}


def left_behind(tmp: Path) -> list[str]:
    return sorted(p.name for p in tmp.glob("tlh-demo-*"))


def stop_headless_demo(
    tmp: Path, sig: signal.Signals, preexec_fn: Callable[[], None] | None = None
) -> tuple[int, bytes]:
    """Start ``tlh demo --no-dashboard``, wait until it serves from a data dir under
    ``tmp``, send ``sig``: its exit code and stderr."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tlh", "demo", "--no-dashboard", "--port", str(free_port())],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=demo_env(tmp),
        preexec_fn=preexec_fn,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # blocks until the server answers (or the demo dies)
        assert line.startswith(b"tlh demo running at http://127.0.0.1:"), line[:80]
        assert left_behind(tmp), "the demo serves from a data dir under TMPDIR"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, err


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "term"])
def test_stopping_the_headless_demo_removes_its_data(tmp_path: Path, sig: signal.Signals) -> None:
    code, err = stop_headless_demo(tmp_path, sig)
    assert code == 0, err.decode()[-500:]
    assert b"Traceback" not in err
    assert left_behind(tmp_path) == []


def test_quitting_the_dashboard_then_ctrl_c_removes_the_demo_data(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "tlh", "demo", "--dashboard", "--port", str(free_port())]
    term = Terminal(argv, demo_env(tmp_path), cols=100, rows=30)
    try:
        term.wait_for(r"People · live", within=DEMO_UP_S)
        assert left_behind(tmp_path)
        term.write("q")
        term.wait_for(r"the demo server runs until Ctrl-C", within=10)
        term.proc.send_signal(signal.SIGINT)  # what the terminal sends on Ctrl-C
        code = term.wait_exit(within=30)
        screen = term.text()
    finally:
        term.close()
    assert code == 0, screen[-500:]
    assert "Traceback" not in screen
    assert left_behind(tmp_path) == []


def _ignore_sigint() -> None:
    """What a non-interactive shell does to its background jobs (``tlh demo &``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "term"])
def test_a_demo_started_in_the_background_of_a_script_still_stops(
    tmp_path: Path, sig: signal.Signals
) -> None:
    """A script's ``tlh demo &`` starts with SIGINT ignored; ``kill`` must still stop it
    and remove its data (it ran on until killed -9, its data left behind)."""
    code, err = stop_headless_demo(tmp_path, sig, preexec_fn=_ignore_sigint)
    assert code == 0, err.decode()[-500:]
    assert left_behind(tmp_path) == []
