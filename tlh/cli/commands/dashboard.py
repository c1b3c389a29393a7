"""``tlh dashboard``: the clinician's live terminal dashboard (Textual).

Textual is imported inside the command only (~200 ms), so ``tlh --help`` stays fast;
meanwhile the day is fetched (``tlh.tui.first_look``), so the first frame shows it.
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
    from tlh.tui.app import DashboardApp
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

    st = state(ctx)
    if st.out.as_json:
        st.out.error("the dashboard is interactive and prints no JSON: try `tlh room watch --json`")
        raise typer.Exit(int(ExitStatus.USAGE))

    async def go() -> int:
        from tlh.tui.first_look import FirstLook  # no Textual

        async with st.client() as client:
            # The day is fetched while Textual and the dashboard load (~200-300 ms of
            # imports, on a thread: the fetch mostly waits for the server), so that the
            # first frame shows it.
            first_look = FirstLook(client)
            try:
                app_class, (path, stored, settings) = await asyncio.to_thread(
                    _load, hook, warn_after, sound
                )
            except InvalidInput as exc:  # a bad dashboard.toml or flag
                first_look.cancel()
                st.out.error(exc.message)
                return int(ExitStatus.USAGE)
            except BaseException:
                first_look.cancel()
                raise
            app = app_class(
                client,
                settings=settings,
                settings_path=path,
                stored_settings=stored,
                first_look=first_look,
            )
            await app.run_async()
            if app.feed.failure:
                st.out.error(app.feed.failure)
            return app.return_code or 0

    with handled(st.out):
        code = asyncio.run(go())
    if code:
        raise typer.Exit(code)


def _load(
    hook: list[str] | None, warn_after: float | None, sound: bool | None
) -> tuple[type[DashboardApp], tuple[Path, DashboardSettings, DashboardSettings]]:
    """The dashboard's class (importing Textual: only this command pays) and its settings."""
    from tlh.tui.app import DashboardApp

    return DashboardApp, _settings(hook, warn_after, sound)


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
    from tlh.tui.first_look import FirstLook

    async def go() -> None:
        async with TlhClient(url, token) as client:
            first_look = FirstLook(client)  # the first frame shows the day here too
            await DashboardApp(client, greeting=greeting, first_look=first_look).run_async()

    asyncio.run(go())
