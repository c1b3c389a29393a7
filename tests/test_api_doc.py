"""docs/API.md against the app and the schema: every route the server registers is in
its route tables (same method and path) and every row there is a route; for each route
that decodes a ``tlh.api`` struct, the request column lists exactly the struct's fields,
required ones plain (``"name"``) and optional ones marked (``"name"?``)."""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pytest
from aiohttp import web

from tlh.domain.models import Policy
from tlh.server.app import create_app
from tlh.server.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
API_MD = ROOT / "docs" / "API.md"
METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")
#: A body documented as "the policy's fields": every ``Policy`` field, each optional.
POLICY_FIELDS = "Policy fields"


@dataclass(frozen=True)
class Row:
    """One route row of API.md: where it is, and its body column."""

    line: int
    body: str


def documented_routes(text: str) -> dict[tuple[str, str], Row]:
    """``(method, path) -> Row`` for every row of every route table in ``text``."""
    found: dict[tuple[str, str], Row] = {}
    body_column: int | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.startswith("|"):
            body_column = None
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if cells and cells[0].startswith("method & path"):
            body_column = cells.index("body") if "body" in cells else None
            continue
        first = cells[0].split() if cells else []
        if body_column is None or len(first) < 2 or first[0] not in METHODS:
            continue
        key = (first[0], first[1])
        assert key not in found, f"API.md:{number}: {key[0]} {key[1]} is listed twice"
        found[key] = Row(number, cells[body_column])
    return found


def _groups(cell: str) -> list[str]:
    """The top-level ``{...}`` groups of a body cell (alternatives are several)."""
    groups, depth, start = [], 0, 0
    quoted = False
    for i, ch in enumerate(cell):
        if ch == '"' and depth:
            quoted = not quoted
        elif quoted:
            continue
        elif ch == "{":
            if depth == 0:
                start = i + 1
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
            if depth == 0:
                groups.append(cell[start:i])
    return groups


def _entries(group: str) -> list[str]:
    """A group split at its top-level commas (not inside quotes, lists or objects)."""
    out, depth, quoted, current = [], 0, False, ""
    for ch in group:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in "[{(":
            depth += 1
        elif not quoted and ch in "]})":
            depth -= 1
        elif not quoted and ch == "," and depth == 0:
            out.append(current)
            current = ""
            continue
        current += ch
    return [e.strip() for e in [*out, current] if e.strip()]


def documented_fields(cell: str) -> dict[str, bool] | None:
    """``field -> required`` as the body cell lists them; ``None`` for no JSON body.

    ``{"a", "b"?: value}``: ``a`` required, ``b`` optional. Alternatives (``{"a"} or
    {"b"}``) make every field optional.
    """
    if POLICY_FIELDS in cell:
        return dict.fromkeys(Policy.__struct_fields__, False)
    groups = _groups(cell)
    if not groups:
        return None
    fields: dict[str, bool] = {}
    for group in groups:
        for entry in _entries(group):
            named = re.match(r'"([a-z_]+)"(\?)?', entry)
            assert named, f"cannot read the body field {entry!r} in {cell!r}"
            required = named[2] is None and len(groups) == 1
            fields[named[1]] = fields.get(named[1], False) or required
    return fields


def registered_routes(tmp_path: Path) -> dict[tuple[str, str], Any]:
    """``(method, path) -> handler`` for every route ``create_app`` registers (HEAD,
    which aiohttp adds to every GET, left out; a path's regex shown as ``{name}``)."""
    app: web.Application = create_app(Settings(data_dir=tmp_path))
    found = {}
    for route in app.router.routes():
        if route.method == "HEAD" or route.resource is None:
            continue
        path = re.sub(r"\{(\w+):[^}]*\}", r"{\1}", route.resource.canonical)
        found[(route.method, path)] = route.handler
    return found


def request_struct(handler: Any, depth: int = 2) -> Any:
    """The struct the handler decodes its body into (``decode(request, Struct)``, in the
    handler or a server helper it calls), or ``None`` when it reads no JSON body."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(handler)))
    helpers = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
            continue
        if node.func.id == "decode" and len(node.args) >= 2 and isinstance(node.args[1], ast.Name):
            return handler.__globals__[node.args[1].id]
        called = handler.__globals__.get(node.func.id)
        if inspect.isfunction(called) and called.__module__.startswith("tlh.server."):
            helpers.append(called)
    for helper in helpers if depth else []:
        found = request_struct(helper, depth - 1)
        if found is not None:
            return found
    return None


def struct_fields(struct: Any) -> dict[str, bool]:
    """``field -> required`` of a request struct, by the name on the wire."""
    return {f.encode_name: f.required for f in msgspec.structs.fields(struct)}


@pytest.fixture(scope="module")
def routes(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Any]:
    return registered_routes(tmp_path_factory.mktemp("api-doc"))


@pytest.fixture(scope="module")
def documented() -> dict[tuple[str, str], Row]:
    return documented_routes(API_MD.read_text(encoding="utf-8"))


def test_every_route_is_documented_and_every_documented_route_exists(
    routes: dict[tuple[str, str], Any], documented: dict[tuple[str, str], Row]
) -> None:
    missing = sorted(set(routes) - set(documented))
    extra = sorted(set(documented) - set(routes))
    problems = [f"not in API.md: {m} {p}" for m, p in missing]
    problems += [f"API.md:{documented[(m, p)].line}: no such route: {m} {p}" for m, p in extra]
    assert problems == [], "\n".join(problems)


def test_documented_request_bodies_are_the_structs_fields(
    routes: dict[tuple[str, str], Any], documented: dict[tuple[str, str], Row]
) -> None:
    problems = []
    for key, handler in sorted(routes.items()):
        row = documented.get(key)
        if row is None:
            continue  # the test above names it
        where = f"API.md:{row.line}: {key[0]} {key[1]}"
        struct = request_struct(handler)
        listed = documented_fields(row.body)
        if struct is None:
            if listed:
                problems.append(f"{where}: lists {sorted(listed)} but reads no JSON body")
            continue
        wanted = struct_fields(struct)
        if listed is None:
            problems.append(f"{where}: lists no body, {struct.__name__} has {sorted(wanted)}")
            continue
        for name in sorted(set(wanted) - set(listed)):
            problems.append(f"{where}: {struct.__name__}.{name} is not listed")
        for name in sorted(set(listed) - set(wanted)):
            problems.append(f"{where}: {name!r} is not a field of {struct.__name__}")
        for name in sorted(set(wanted) & set(listed)):
            if wanted[name] != listed[name]:
                should = "required" if wanted[name] else 'optional ("name"?)'
                problems.append(f"{where}: {name!r} is {should} in {struct.__name__}")
    assert problems == [], "\n".join(problems)


def test_the_notation_is_read_as_documented() -> None:
    """The parser itself, on the forms API.md uses."""
    assert documented_fields('`{"name"}` (your own name)') == {"name": True}
    assert documented_fields('`{"a","b"?: ["email","sms"], "c": "x"\\|"y"}`') == {
        "a": True,
        "b": False,
        "c": True,
    }
    assert documented_fields('`{"dob": "YYYY-MM-DD"}` or `{"code"}`') == {
        "dob": False,
        "code": False,
    }
    assert documented_fields('`"start": [..]`') is None
    assert documented_fields("(C: own session; another's is 404)") is None
    assert documented_fields("`{}` (late if within the policy's hours)") == {}
