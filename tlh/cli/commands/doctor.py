"""``tlh doctor``: every part of the installation checked, each with its fix in one line.

Exit 0 when nothing failed (warnings allowed), 1 when a check failed; ``--json`` prints
the checks as they are. Runs without a token too: then only reachability and TLS.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

import typer

from tlh.cli.exit import ExitStatus
from tlh.cli.state import JsonOpt, handled, output

if TYPE_CHECKING:
    from tlh.domain.doctor import Check

#: How each status is marked in the table.
MARKS = {"ok": "✓", "warn": "!", "fail": "✗", "skip": "-"}


def doctor(
    ctx: typer.Context,
    timeout: Annotated[
        float, typer.Option("--check-timeout", help="Seconds each network check may take.")
    ] = 5.0,
    json_: JsonOpt = False,
) -> None:
    """Check the server, its TLS certificate, your token, mail, texts, STUN/TURN and disk."""
    import asyncio

    from tlh.cli import config
    from tlh.client import TlhClient
    from tlh.client.doctor import local_checks, worst
    from tlh.domain.doctor import CheckStatus

    st = output(ctx, json_)
    url, token = st.url, st.token
    if not url or not token:
        saved = config.load()
        url = url or saved.url or config.DEFAULT_URL
        token = token or saved.token or ""
    ca_file = os.environ.get("TLH_CA_FILE") or None

    async def go() -> list[Check]:
        async with TlhClient(url, token, timeout=timeout) as client:
            return await local_checks(client, url, token, ca_file, timeout)

    with handled(st.out):
        checks = asyncio.run(go())
    if st.out.as_json:
        st.out.json({"items": checks})
    else:
        st.out.table(
            ("", "check", "result", "fix"),
            [(MARKS[c.status.value], c.name, c.detail, c.fix) for c in checks],
        )
    if worst(checks) == CheckStatus.FAIL:
        raise typer.Exit(int(ExitStatus.ERROR))
