"""Thin handlers: parse the request, call one use case, encode the answer."""

from aiohttp import web

from . import (
    admin,
    appointments,
    audit,
    availability,
    call_links,
    call_ws,
    clients,
    conntest,
    consents,
    events,
    invites,
    link_identity,
    link_location,
    links,
    ops,
    outbox,
    pages,
    participant_ws,
    practice,
    reports,
    rooms,
    sessions,
    staff,
)


def add_routes(app: web.Application) -> None:
    modules = (practice, ops, staff, clients, appointments, availability, audit, admin, events)
    issue3 = (links, invites, consents, outbox)
    issue4 = (rooms, participant_ws, call_ws, call_links, sessions, reports, link_identity, pages)
    media = (conntest,)
    portal = (link_location,)
    for module in (*modules, *issue3, *issue4, *media, *portal):
        app.router.add_routes(module.routes)
