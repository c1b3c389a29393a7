"""``tlh practice``: show and change the practice's policy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from tlh.cli.output import Output
from tlh.cli.state import JsonOpt, output, run

if TYPE_CHECKING:
    from tlh.client import TlhClient

app = typer.Typer(help="Show or change the practice's policy.", no_args_is_help=True)

_TRUE = {"yes", "true", "on", "1", "y"}
_FALSE = {"no", "false", "off", "0", "n"}


def parse_policy_value(key: str, value: str) -> Any:
    """``value`` typed by the Policy field ``key`` (bools, ints, comma lists)."""
    import msgspec

    from tlh.domain.models import Policy
    from tlh.errors import InvalidInput

    fields = {f.name: f for f in msgspec.structs.fields(Policy)}
    if key not in fields:
        raise InvalidInput(f"unknown policy field {key!r}; one of: {', '.join(sorted(fields))}")
    kind = fields[key].type
    text = value.strip()
    if kind is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise InvalidInput(f"{key} takes yes or no")
    if kind is int:
        try:
            return int(text)
        except ValueError:
            raise InvalidInput(f"{key} takes a whole number") from None
    if getattr(kind, "__origin__", None) is tuple:
        return [part.strip() for part in text.split(",") if part.strip()]
    return text


@app.command("show")
def show(ctx: typer.Context, json_: JsonOpt = False) -> None:
    """Show the practice's policy."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        policy = await client.practice.get()
        if out.as_json:
            out.json(policy)
            return
        import msgspec

        data = msgspec.to_builtins(policy)
        out.fields(
            [(k, ", ".join(map(str, v)) if isinstance(v, list) else v) for k, v in data.items()]
        )

    run(ctx, body)


@app.command("set")
def set_(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Policy field, e.g. window_opens_before_min.")],
    value: Annotated[str, typer.Argument(help="New value: yes/no, a number, or a comma list.")],
    json_: JsonOpt = False,
) -> None:
    """Change one policy field (admin)."""
    output(ctx, json_)

    async def body(client: TlhClient, out: Output) -> None:
        policy = await client.practice.update(**{key: parse_policy_value(key, value)})
        if out.as_json:
            out.json(policy)
        else:
            out.note(f"{key} updated")

    run(ctx, body)
