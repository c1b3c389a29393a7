"""How the channel and the singletons reach PostgreSQL: libpq settings, and how a
connection's place and its errors are named in logs (never the password)."""

from __future__ import annotations

from typing import Any, Final

import psycopg
from psycopg.conninfo import conninfo_to_dict

#: libpq settings of every connection: a dead peer is noticed in ~20 s even when no
#: query is running (TCP keepalives), and connecting gives up after 5 s.
CONNECT: Final[dict[str, Any]] = {
    "autocommit": True,
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 3,
    "keepalives_count": 3,
}


def where(url: str) -> str:
    """``host:port/dbname`` of ``url``, for messages (never the password)."""
    try:
        info = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "(an invalid PostgreSQL URL)"
    return f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"


def first_line(exc: BaseException) -> str:
    """The first line of an error's text, for a one-line log or message."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
