"""The dashboard's settings file and the Settings screen (key 5) against a real server."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.theme import BUILTIN_THEMES
from textual.widgets import Input, Select, Switch
from typer.testing import CliRunner

from tlh.cli.exit import ExitStatus
from tlh.cli.main import app as cli
from tlh.errors import InvalidInput
from tlh.paths import default_dashboard_file
from tlh.tui.app import DashboardApp
from tlh.tui.screens.settings import SettingsScreen
from tlh.tui.settings import DashboardSettings, load, save

from .conftest import Practice
from .helpers import Fakes, running, screen_text, until, waiting

EXAMPLE = Path(__file__).parents[2] / "config" / "dashboard.example.toml"
SIZE = (120, 30)


def test_the_example_documents_every_key_with_its_default() -> None:
    text = EXAMPLE.read_text()
    for key in ("sound", "warn_after_min", "call_timer_min", "theme", "hook"):
        assert f"\n{key} = " in text
    assert load(EXAMPLE, themes=BUILTIN_THEMES) == DashboardSettings()


def test_a_missing_file_gives_the_defaults(tmp_path: Path) -> None:
    assert load(tmp_path / "none.toml") == DashboardSettings()


def test_save_is_private_and_round_trips_awkward_words(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dashboard.toml"
    odd = ("notify-send", 'say "hi"', "back\\slash", "tab\there", "🔔", "del\x7f")
    wanted = DashboardSettings(False, 2.5, 45, "nord", odd)
    save(wanted, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load(path, themes=BUILTIN_THEMES) == wanted
    assert [p.name for p in path.parent.iterdir()] == ["dashboard.toml"]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("sound = \n", "not valid TOML: Invalid value (at line 1, column 9)"),
        ("sound = 'yes'\n", "sound must be true or false"),
        ("warn_after_min = 0\n", "warn_after_min must be more than 0 and at most 1440"),
        ("warn_after_min = true\n", "warn_after_min must be a number of minutes"),
        ("call_timer_min = 2.5\n", "call_timer_min must be a whole number of minutes"),
        ("theme = 'beige'\n", "theme unknown theme 'beige'"),
        ("hook = 'notify-send'\n", "hook must be a list of words"),
        ("sund = false\n", "unknown key 'sund'"),
    ],
)
def test_a_bad_file_is_refused_naming_file_key_and_problem(
    tmp_path: Path, text: str, says: str
) -> None:
    path = tmp_path / "dashboard.toml"
    path.write_text(text)
    with pytest.raises(InvalidInput) as caught:
        load(path, themes=BUILTIN_THEMES)
    assert caught.value.message.startswith(f"{path}: ")
    assert says in caught.value.message
    assert "\n" not in caught.value.message


def test_the_file_lives_beside_the_cli_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TLH_DASHBOARD_CONFIG", raising=False)
    monkeypatch.setenv("TLH_CONFIG", str(tmp_path / "cli" / "config.toml"))
    assert default_dashboard_file() == tmp_path / "cli" / "dashboard.toml"
    monkeypatch.setenv("TLH_DASHBOARD_CONFIG", str(tmp_path / "mine.toml"))
    assert default_dashboard_file() == tmp_path / "mine.toml"


@pytest.mark.parametrize(
    ("text", "args", "says"),
    [
        ("call_timer_min = 'long'\n", [], "call_timer_min must be a whole number of minutes"),
        ("", ["--warn-after", "-3"], "--warn-after must be more than 0 and at most 1440"),
    ],
)
def test_tlh_dashboard_with_bad_settings_exits_2_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, args: list[str], says: str
) -> None:
    path = tmp_path / "dashboard.toml"
    path.write_text(text)
    monkeypatch.setenv("TLH_DASHBOARD_CONFIG", str(path))
    monkeypatch.setenv("TLH_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("TLH_TOKEN", "tlh_unused")
    result = CliRunner().invoke(cli, ["dashboard", *args])
    assert result.exit_code == ExitStatus.USAGE
    assert result.stderr.count("\n") == 1
    assert says in result.stderr
    assert "Traceback" not in result.output


async def open_settings(pilot: Pilot[None], app: DashboardApp) -> SettingsScreen:
    """Key 5, once the name has come from the server."""
    await pilot.press("5")
    await until(pilot, lambda: isinstance(app.screen, SettingsScreen), "the settings screen")
    screen = app.screen
    assert isinstance(screen, SettingsScreen)
    name = screen.query_one("#settings-name", Input)
    await until(pilot, lambda: name.value == "Dr Lee", "the name loaded")
    return screen


async def test_sound_off_stops_the_bell_and_is_saved_with_the_theme(
    practice: Practice, tmp_path: Path
) -> None:
    path = tmp_path / "dashboard.toml"
    fakes = Fakes()
    async with running(practice, SIZE, fakes, notifications=True, settings_path=path) as (
        app,
        pilot,
    ):
        screen = await open_settings(pilot, app)
        assert screen.query_one("#settings-sound", Switch).value is True
        await pilot.click("#settings-sound")
        await until(pilot, lambda: path.exists(), "the file written")
        assert load(path).sound is False
        assert not app.alerts.sound
        screen.query_one("#settings-theme", Select).value = "nord"
        await until(pilot, lambda: app.theme == "nord", "the theme applied")
        assert load(path) == DashboardSettings(sound=False, theme="nord")
        async with waiting(pilot, practice):
            await until(pilot, lambda: "is waiting" in screen_text(app), "the toast")
            assert fakes.rings == 0


async def test_a_change_that_could_not_be_saved_is_saved_with_the_next(
    practice: Practice, tmp_path: Path
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    async with running(practice, SIZE, settings_path=blocked / "dashboard.toml") as (
        app,
        pilot,
    ):
        screen = await open_settings(pilot, app)
        await pilot.click("#settings-sound")  # the file cannot be written here
        await until(pilot, lambda: not app.alerts.sound, "sound off for this run")
        assert not (blocked / "dashboard.toml").exists()
        path = tmp_path / "dashboard.toml"
        app.settings_path = path  # (the user fixed the directory)
        screen.query_one("#settings-theme", Select).value = "nord"
        await until(pilot, lambda: path.exists(), "the file written")
        assert load(path) == DashboardSettings(sound=False, theme="nord")


async def test_a_flag_for_this_run_is_not_saved_with_a_change_on_screen(
    practice: Practice, tmp_path: Path
) -> None:
    """``tlh dashboard --warn-after 2 --hook x`` then a change on screen: the file gets
    the change, not the flags."""
    path = tmp_path / "dashboard.toml"
    stored = DashboardSettings(theme="nord")
    save(stored, path)
    flagged = DashboardSettings(theme="nord", warn_after_min=2.0, hook=("notify-send",))
    async with running(
        practice, SIZE, settings=flagged, settings_path=path, stored_settings=stored
    ) as (app, pilot):
        await open_settings(pilot, app)
        await pilot.click("#settings-sound")
        await until(pilot, lambda: load(path).sound is False, "the change saved")
        assert load(path) == DashboardSettings(theme="nord", sound=False)
        assert app.settings == DashboardSettings(
            theme="nord", warn_after_min=2.0, hook=("notify-send",), sound=False
        )


async def test_the_call_timer_is_checked_before_it_is_saved(
    practice: Practice, tmp_path: Path
) -> None:
    path = tmp_path / "dashboard.toml"
    async with running(practice, SIZE, settings_path=path) as (app, pilot):
        screen = await open_settings(pilot, app)
        timer = screen.query_one("#settings-timer", Input)
        timer.value = "0"
        timer.focus()
        await pilot.press("enter")
        await until(pilot, lambda: "Call timer must be more than 0" in screen_text(app), "no")
        assert not path.exists()
        timer.value = ""
        await pilot.press("9", "0", "enter")
        await until(pilot, lambda: "Settings saved." in screen_text(app), "saved")
        assert load(path).call_timer_min == 90
        assert app.settings.call_timer_min == 90


async def test_renaming_saves_on_the_server_and_a_refusal_is_one_line(
    practice: Practice,
) -> None:
    async with running(practice, SIZE) as (app, pilot):
        screen = await open_settings(pilot, app)
        name = screen.query_one("#settings-name", Input)
        name.value = ""
        name.focus()
        await pilot.press(*("space" if c == " " else c for c in "Dr Ada Lee"), "enter")
        # Typed letters go to the field, not to the dashboard's keys (a, d, A, ...).
        await until(pilot, lambda: "Name saved." in screen_text(app), "the name saved")
        assert (await app.client.staff.me()).name == "Dr Ada Lee"
        name.value = "   "
        await pilot.press("enter")
        await until(pilot, lambda: "Name not saved: name is empty" in screen_text(app), "no")
        assert (await app.client.staff.me()).name == "Dr Ada Lee"
        await pilot.press("escape", "1")
        await until(pilot, lambda: app.screen.id == "people", "keys back to the dashboard")


async def test_the_files_hook_runs_on_arrival(practice: Practice, tmp_path: Path) -> None:
    path, seen = tmp_path / "dashboard.toml", tmp_path / "seen.json"
    copy = f"import sys; open({str(seen)!r}, 'wb').write(sys.stdin.buffer.read())"
    path.write_text(f"hook = {json.dumps([sys.executable, '-c', copy])}\n")
    settings = load(path)
    async with (
        running(practice, SIZE, settings=settings) as (_, pilot),
        waiting(pilot, practice) as person,
    ):
        await until(pilot, lambda: seen.exists() and seen.stat().st_size > 0, "the hook")
        assert person.entry_id in seen.read_text()
        assert practice.client_name not in seen.read_text()
