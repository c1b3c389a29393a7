"""``tlh practice set ask_location`` (issue 13, item 7): off or telehealth, nothing else."""

from __future__ import annotations

import json

from tlh.cli.exit import ExitStatus

from .conftest import Live


def test_ask_location_is_set_like_any_policy_field(live: Live) -> None:
    shown = live.run("practice", "show", "--json")
    assert json.loads(shown.stdout)["ask_location"] == "off"
    assert live.run("practice", "set", "ask_location", "telehealth").exit_code == 0
    try:
        shown = live.run("practice", "show", "--json")
        assert json.loads(shown.stdout)["ask_location"] == "telehealth"
        bad = live.run("practice", "set", "ask_location", "sometimes")
        assert bad.exit_code == ExitStatus.INVALID
        assert "ask_location" in bad.stderr
        assert bad.stderr.count("\n") == 1, bad.stderr
        assert "Traceback" not in bad.stderr
        shown = live.run("practice", "show", "--json")
        assert json.loads(shown.stdout)["ask_location"] == "telehealth"
    finally:
        # The server is shared by the whole CLI session: the next tests' participants
        # would be sent to the location step (their hello refused) if it stayed on.
        assert live.run("practice", "set", "ask_location", "off").exit_code == 0
