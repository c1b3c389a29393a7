"""``tlh dashboard``: the clinician's live terminal dashboard (Textual).

Textual is imported inside the command only (~150 ms), so ``tlh --help`` stays fast.
The dashboard talks to the server through the same ``TlhClient`` as every command.
"""

from __future__ import annotations

from typing import Annotated

import typer

from tlh.cli.state import state


def dashboard(
    ctx: typer.Context,
    hook: Annotated[
        list[str] | None,
        typer.Option(
            "--hook",
            metavar="WORD",
            help="Command run on each arrival, one option per argv word (no shell);"
            " the event (ids only) as JSON on stdin. E.g. --hook notify-send --hook tlh.",
        ),
    ] = None,
    warn_after: Annotated[
        float, typer.Option("--warn-after", help="Minutes of waiting before the timer turns red.")
    ] = 10.0,
    sound: Annotated[bool, typer.Option("--sound/--no-sound", help="Ring on arrival.")] = True,
) -> None:
    """Today's schedule and the live waiting room; one key admits (see the footer)."""
    import asyncio

    from tlh.cli.state import handled
    from tlh.tui.app import DashboardApp  # ~150 ms of textual: only this command pays

    st = state(ctx)

    async def go() -> int:
        async with st.client() as client:
            app = DashboardApp(client, hook=hook or (), sound=sound, warn_after_s=warn_after * 60)
            await app.run_async()
            if app.feed.failure:
                st.out.error(app.feed.failure)
            return app.return_code or 0

    with handled(st.out):
        code = asyncio.run(go())
    if code:
        raise typer.Exit(code)


def demo_dashboard(url: str, token: str, join: str) -> None:
    """The dashboard of ``tlh demo``: signed in as ``token``, greeting with the client link."""
    import asyncio

    from tlh.client.api import TlhClient
    from tlh.tui.app import DashboardApp

    greeting = (
        f"Open {join} in a browser to arrive as the client; press a here to admit them."
        if join
        else None
    )

    async def go() -> None:
        async with TlhClient(url, token) as client:
            await DashboardApp(client, greeting=greeting).run_async()

    asyncio.run(go())
