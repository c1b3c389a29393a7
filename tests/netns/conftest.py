"""One namespace setup for the whole module (building it and starting coturn, tlh and nginx
takes seconds): skipped, with the reason, where namespaces are not permitted; torn down
(processes, namespaces, nft tables) even when a test or the setup fails. The figures each
case records are printed at the end of the run."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .netns import Topology, why_not
from .servers import Servers

#: Figures the cases record (name → line), printed in the terminal summary.
FIGURES: dict[str, str] = {}


@pytest.fixture(scope="module")
def network() -> Iterator[Servers]:
    reason = why_not()
    if reason is not None:
        print(f"tests/netns skipped: {reason}")
        pytest.skip(reason)
    topo = Topology()
    root = Path(tempfile.mkdtemp(prefix="tlh-netns-"))
    servers = Servers(topo, root)
    try:
        topo.build()
        servers.start()
        yield servers
    finally:
        servers.close()
        topo.close()
        shutil.rmtree(root, ignore_errors=True)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("real networks: admission to first frame, proxy overhead")
        for line in FIGURES.values():
            terminalreporter.write_line(line)
