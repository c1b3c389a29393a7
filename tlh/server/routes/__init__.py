"""Thin handlers: parse the request, call one use case, encode the answer."""

from aiohttp import web

from . import (
    admin,
    appointments,
    audit,
    availability,
    clients,
    consents,
    events,
    invites,
    links,
    outbox,
    practice,
    staff,
)


def add_routes(app: web.Application) -> None:
    modules = (practice, staff, clients, appointments, availability, audit, admin, events)
    for module in (*modules, links, invites, consents, outbox):
        app.router.add_routes(module.routes)
