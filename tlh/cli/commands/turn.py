"""``tlh turn config``: print a coturn configuration matching tlh.toml's ``[turn]``.

Works on the config file alone (no server, no token): the secret comes from ``[turn]
secret`` or ``secret_file``; without either a fresh one is made and the note says to put it
in tlh.toml too. The realm defaults to the public URL's host.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer

from tlh.cli.state import JsonOpt, handled, output
from tlh.errors import InvalidInput

app = typer.Typer(help="TURN (coturn) for clients behind strict NATs and firewalls.")


def _turn_table(path: Path) -> tuple[dict[str, Any], str | None]:
    """``[turn]`` of the config file (empty when none) and the public URL's host."""
    from tlh.configfile import read_toml

    doc = read_toml(path, missing_ok=True) or {}
    turn = doc.get("turn", {})
    messaging = doc.get("messaging", {})
    public = messaging.get("public_url") if isinstance(messaging, dict) else None
    host = urlsplit(public).hostname if isinstance(public, str) else None
    return (turn if isinstance(turn, dict) else {}), host


def _secret(turn: dict[str, Any], path: Path) -> str | None:
    if isinstance(turn.get("secret"), str) and turn["secret"]:
        return str(turn["secret"])
    if isinstance(turn.get("secret_file"), str):
        try:
            return Path(turn["secret_file"]).read_text(encoding="utf-8").strip() or None
        except OSError as exc:
            raise InvalidInput(
                f"{path}: [turn] secret_file {turn['secret_file']}: {exc.strerror}"
            ) from None
    return None


@app.command("config")
def config(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Data dir whose tlh.toml to read.")
    ] = None,
    config_file: Annotated[
        Path | None,
        typer.Option("--config", help="Server config (default: tlh.toml in the data dir)."),
    ] = None,
    realm: Annotated[
        str | None,
        typer.Option(
            "--realm", help="coturn's host name (default: [messaging] public_url's host)."
        ),
    ] = None,
    external_ip: Annotated[
        str | None, typer.Option("--external-ip", help="The public address of a VM behind 1:1 NAT.")
    ] = None,
    cert: Annotated[str, typer.Option("--cert", help="TLS certificate chain (PEM).")] = (
        "/etc/coturn/fullchain.pem"
    ),
    key: Annotated[str, typer.Option("--key", help="TLS private key (PEM).")] = (
        "/etc/coturn/privkey.pem"
    ),
    tls_port: Annotated[
        int, typer.Option("--tls-port", help="TURN over TLS (443 passes strict firewalls; 5349).")
    ] = 443,
    min_port: Annotated[int, typer.Option("--min-port", help="Lowest relay port.")] = 49152,
    max_port: Annotated[int, typer.Option("--max-port", help="Highest relay port.")] = 65535,
    allow_peer: Annotated[
        list[str] | None,
        typer.Option("--allow-peer", help="A private address relaying may reach (tlh's relay)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Print a turnserver.conf matching [turn] in tlh.toml (UDP/TCP 3478, TLS 443)."""
    out = output(ctx, as_json).out
    with handled(out):
        import secrets

        from tlh.domain.coturn import CoturnPlan, render
        from tlh.paths import default_data_dir

        path = config_file or (data_dir or default_data_dir()) / "tlh.toml"
        turn, public_host = _turn_table(path)
        name = realm or public_host
        if not name:
            raise InvalidInput("give --realm (coturn's host name): tlh.toml has no public_url")
        if not (0 < tls_port < 65536 and 0 < min_port <= max_port < 65536):
            raise InvalidInput("ports must be 1 to 65535, with --min-port ≤ --max-port")
        secret = _secret(turn, path)
        if secret is None:
            secret = secrets.token_urlsafe(32)
            out.note(
                f"no [turn] secret in {path}: a new one is in static-auth-secret below;"
                " put the same in tlh.toml's [turn] secret (or secret_file)"
            )
        plan = CoturnPlan(
            realm=name,
            secret=secret,
            cert=cert,
            key=key,
            tls_port=tls_port,
            min_port=min_port,
            max_port=max_port,
            external_ip=external_ip,
            allowed_peers=tuple(allow_peer or ()),
        )
        if out.as_json:
            out.json({"conf": render(plan), "urls": plan.urls(), "realm": name})
        else:
            out.line(render(plan).rstrip("\n"))
