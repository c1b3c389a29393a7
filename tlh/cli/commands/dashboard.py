"""``tlh dashboard``: the clinician's live terminal dashboard (Textual).

Textual is imported inside the command only (~150 ms), so ``tlh --help`` stays fast.
The dashboard talks to the server through the same ``TlhClient`` as every command.
Its settings come from ``dashboard.toml`` (``tlh.tui.settings``); the flags, when
given, win over the file for this run (they are not saved).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tlh.cli.exit import ExitStatus
from tlh.cli.state import state
from tlh.errors import InvalidInput

if TYPE_CHECKING:
    from tlh.tui.settings import DashboardSettings


def dashboard(
    ctx: typer.Context,
    hook: Annotated[
        list[str] | None,
        typer.Option(
            "--hook",
            metavar="WORD",
            help="Command run on each arrival, one option per argv word (no shell);"
            " the event (ids only) as JSON on stdin. E.g. --hook notify-send --hook tlh."
            " Default: `hook` in dashboard.toml.",
        ),
    ] = None,
    warn_after: Annotated[
        float | None,
        typer.Option(
            "--warn-after",
            help="Minutes of waiting before the timer turns red. Default: warn_after_min"
            " in dashboard.toml, else 10.",
        ),
    ] = None,
    sound: Annotated[
        bool | None,
        typer.Option(
            "--sound/--no-sound", help="Ring on arrival. Default: sound in dashboard.toml, else on."
        ),
    ] = None,
) -> None:
    """Today's schedule and the live waiting room; one key admits (see the footer)."""
    import asyncio

    from tlh.cli.state import handled
    from tlh.tui.app import DashboardApp  # ~150 ms of textual: only this command pays

    st = state(ctx)
    if st.out.as_json:
        st.out.error("the dashboard is interactive and prints no JSON: try `tlh room watch --json`")
        raise typer.Exit(int(ExitStatus.USAGE))
    try:
        path, stored, settings = _settings(hook, warn_after, sound)
    except InvalidInput as exc:
        st.out.error(exc.message)
        raise typer.Exit(int(ExitStatus.USAGE)) from None

    async def go() -> int:
        async with st.client() as client:
            app = DashboardApp(
                client, settings=settings, settings_path=path, stored_settings=stored
            )
            await app.run_async()
            if app.feed.failure:
                st.out.error(app.feed.failure)
            return app.return_code or 0

    with handled(st.out):
        code = asyncio.run(go())
    if code:
        raise typer.Exit(code)


def _settings(
    hook: list[str] | None, warn_after: float | None, sound: bool | None
) -> tuple[Path, DashboardSettings, DashboardSettings]:
    """The settings file's path, its contents, and those with the flags laid over them."""
    from msgspec.structs import replace
    from textual.theme import BUILTIN_THEMES

    from tlh.paths import default_dashboard_file
    from tlh.tui.settings import load, warn_after_flag

    path = default_dashboard_file()
    stored = settings = load(path, themes=BUILTIN_THEMES)
    if hook:
        settings = replace(settings, hook=tuple(hook))
    if warn_after is not None:
        settings = replace(settings, warn_after_min=warn_after_flag(warn_after))
    if sound is not None:
        settings = replace(settings, sound=sound)
    return path, stored, settings


def demo_dashboard(url: str, token: str, greeting: str | None) -> None:
    """The dashboard of ``tlh demo``: signed in as ``token``, greeting with ``greeting``."""
    import asyncio

    from tlh.client import TlhClient
    from tlh.tui.app import DashboardApp

    async def go() -> None:
        async with TlhClient(url, token) as client:
            await DashboardApp(client, greeting=greeting).run_async()

    asyncio.run(go())
