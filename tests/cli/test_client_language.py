"""A client's language from the CLI: set with add/update, shown, cleared, and a language
tlh does not ship refused with one clear line (issue 13 item 8)."""

from __future__ import annotations

import json

from tlh.cli.exit import ExitStatus

from .conftest import Live
from .room_helpers import cli


async def test_language_is_set_shown_changed_and_cleared(live: Live) -> None:
    added = await cli(live, "client", "add", "--name", "Lia Lengua", "--language", "es", "--json")
    assert added.exit_code == 0, added.stderr
    lia = json.loads(added.stdout)
    assert lia["language"] == "es"
    shown = await cli(live, "client", "show", lia["id"])
    assert shown.exit_code == 0, shown.stderr
    assert any(line.split() == ["language", "es"] for line in shown.stdout.splitlines())

    # A regional tag is the shipped language it names.
    moved = await cli(live, "client", "update", lia["id"], "--language", "en-GB", "--json")
    assert moved.exit_code == 0, moved.stderr
    assert json.loads(moved.stdout)["language"] == "en"
    cleared = await cli(live, "client", "update", lia["id"], "--language", "", "--json")
    assert cleared.exit_code == 0, cleared.stderr
    assert json.loads(cleared.stdout)["language"] is None


async def test_a_language_not_shipped_is_refused_and_nothing_changes(live: Live) -> None:
    added = await cli(live, "client", "add", "--name", "Kai Klingon", "--language", "tlh")
    assert added.exit_code == ExitStatus.INVALID, added.stdout
    assert "unknown language 'tlh': use one of en, es" in added.stderr
    assert "Traceback" not in added.stdout + added.stderr
    listed = await cli(live, "client", "list", "--json")
    assert "Kai Klingon" not in listed.stdout

    made = await cli(live, "client", "add", "--name", "Uma Update", "--json")
    uma = json.loads(made.stdout)["id"]
    bad = await cli(live, "client", "update", uma, "--language", "fr")
    assert bad.exit_code == ExitStatus.INVALID, bad.stdout
    assert "unknown language 'fr'" in bad.stderr
    shown = await cli(live, "client", "show", uma, "--json")
    assert json.loads(shown.stdout)["language"] is None
