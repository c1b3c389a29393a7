"""The README's "Real use" commands, run exactly as written, in order, from a fresh clone
(``.venv/bin/tlh``; ``tlh`` alone only on the clinician's machine, where it is installed)
against the ``tlh serve`` they start.

The admin's lines share the admin's CLI config; the clinician's block runs with a config
of its own, as on another machine. The environment only chooses where things go
(``TLH_DATA_DIR``, ``TLH_CONFIG``, and ``TLH_URL`` for a free port): what each line says
is run unchanged. Lines that run until stopped are started and stopped the way a person
would (``serve`` kept running, ``room watch`` interrupted, the dashboard quit with
``q``). A line ``NAME=$(...)`` keeps its value for the lines after it, as a shell does.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from tests.serving import free_port, wait_healthy

from .clone import fake_clone
from .terminal import Terminal

pytestmark = pytest.mark.timeout(240)

README = Path(__file__).resolve().parents[2] / "README.md"
ASSIGNMENT = re.compile(r"^([A-Z_]+)=\$\(")


def real_use_blocks() -> list[list[str]]:
    """The ``sh`` blocks of the README's "Real use" section, as lists of lines."""
    text = README.read_text()
    start = text.index("## Real use")
    section = text[start : text.index("\n## ", start + 1)]
    return [b.strip().splitlines() for b in re.findall(r"```sh\n(.*?)```", section, re.S)]


def command(line: str) -> str:
    """The line without its trailing comment (to see what it runs)."""
    return line.split("  #", 1)[0].strip()


class Machine:
    """A shell's surroundings: where it runs, its environment, what it has assigned."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.cwd, self.env = cwd, env
        self.assigned: dict[str, str] = {}

    def environ(self) -> dict[str, str]:
        return {**self.env, **self.assigned}

    def run(self, line: str) -> subprocess.CompletedProcess[str]:
        found = ASSIGNMENT.match(line)
        script = line if not found else f"{line}\nprintf '%s' \"${found[1]}\""
        done = subprocess.run(
            ["bash", "-c", script], cwd=self.cwd, env=self.environ(), capture_output=True,
            text=True, timeout=90, check=False,
        )  # fmt: skip
        if found:
            self.assigned[found[1]] = done.stdout
        return done

    def terminal(self, line: str) -> Terminal:
        return Terminal(["bash", "-c", line], self.environ(), cols=160, rows=40, cwd=self.cwd)


def interrupt(term: Terminal) -> int:
    """Ctrl-C to the line's process group (bash and what it started), then its code."""
    os.killpg(term.proc.pid, signal.SIGINT)
    return term.wait_exit(within=30)


def test_the_readme_has_the_blocks_this_test_expects() -> None:
    blocks = real_use_blocks()
    assert len(blocks) == 3
    assert any("tlh serve" in line for line in blocks[0])
    assert blocks[2][0].startswith("sh lee.login")


def test_real_use_runs_as_written(tmp_path: Path) -> None:
    clone = fake_clone(tmp_path)
    url = f"http://127.0.0.1:{free_port()}"
    base = {k: v for k, v in os.environ.items() if not k.startswith("TLH_")}
    base |= {"TLH_DATA_DIR": str(tmp_path / "data"), "BROWSER": "true"}
    admin = Machine(clone, {**base, "TLH_CONFIG": str(tmp_path / "admin.toml"), "TLH_URL": url})
    path = f"{clone / '.venv' / 'bin'}:{base['PATH']}"  # tlh, installed on their machine
    clinician = Machine(clone, {**base, "TLH_CONFIG": str(tmp_path / "lee.toml"), "PATH": path})
    serving: subprocess.Popen[bytes] | None = None
    said: dict[str, str] = {}
    server_block, admin_block, clinician_block = real_use_blocks()
    try:
        for line in server_block:
            if command(line).endswith("tlh serve"):
                serving = subprocess.Popen(
                    ["bash", "-c", line], cwd=clone, env=admin.environ(),
                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
                )  # fmt: skip
                wait_healthy(url, serving)
                continue
            done = admin.run(line)
            assert done.returncode == 0, (line, done.stderr[-800:])
        for line in admin_block:
            done = admin.run(line)
            allowed = {0, 1} if " appt explain " in line else {0}  # 1: "cannot start"
            assert done.returncode in allowed, (line, done.stderr[-800:])
            assert "Traceback" not in done.stderr
            said[command(line)] = done.stdout + done.stderr
        for line in clinician_block:
            run = command(line)
            if run == "tlh room watch":
                term = clinician.terminal(line)
                try:
                    term.wait_for(r"watching \(Ctrl-C stops\)", within=30)
                    assert interrupt(term) == 130  # Ctrl-C: "interrupted"
                finally:
                    term.close()
                continue
            if run == "tlh dashboard":
                term = clinician.terminal(line)
                try:
                    term.wait_for(r"People · live", within=30)
                    term.write("q")
                    assert term.wait_exit(within=30) == 0
                finally:
                    term.close()
                continue
            done = clinician.run(line)
            assert done.returncode == 0, (line, done.stderr[-800:])
            said[run] = done.stdout + done.stderr
    finally:
        if serving is not None:
            os.killpg(serving.pid, signal.SIGINT)
            serving.wait(timeout=30)
    # What the lines said: tomorrow's appointment, by name, invited, in the clinician's day.
    invited = next(v for k, v in said.items() if "invite send --date tomorrow" in k)
    assert invited.startswith("sent 1,"), invited
    listed = next(v for k, v in said.items() if k.startswith(".venv/bin/tlh appt list"))
    assert "Jordan Rivera" in listed
    assert "Dr. Morgan Lee" in listed
    theirs = said["tlh appt list --date tomorrow"]
    assert "Jordan Rivera" in theirs
    assert (clone / "appointments.ics").read_text().startswith("BEGIN:VCALENDAR")
    assert (clone / "practice.tlh").read_bytes().startswith(b"TLHBACKUP1\n")  # sealed
