"""Thin handlers: parse the request, call one use case, encode the answer."""

from aiohttp import web

from . import admin, appointments, audit, availability, clients, events, practice, staff


def add_routes(app: web.Application) -> None:
    for module in (practice, staff, clients, appointments, availability, audit, admin, events):
        app.router.add_routes(module.routes)
