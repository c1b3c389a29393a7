"""Typed keys for what the application holds (no module globals)."""

from __future__ import annotations

from aiohttp import web

from tlh.server.settings import Settings
from tlh.services.context import Context
from tlh.services.events import EventBus
from tlh.store.auditlog import AuditLog
from tlh.store.tinystore import TinyStore

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", TinyStore)
AUDIT = web.AppKey("audit", AuditLog)
BUS = web.AppKey("bus", EventBus)
CTX = web.AppKey("ctx", Context)
#: Open websockets, closed on shutdown (handlers remove their own when they end).
WEBSOCKETS = web.AppKey("websockets", set[web.WebSocketResponse])
