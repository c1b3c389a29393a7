"""Thin handlers: parse the request, call one use case, encode the answer."""

from aiohttp import web

from . import (
    actions,
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
    page_strings,
    pages,
    participant_ws,
    portal,
    portal_actions,
    portal_booking,
    portal_passkeys,
    portal_staff,
    practice,
    reports,
    reschedule,
    rooms,
    sessions,
    slots,
    staff,
)


def add_routes(app: web.Application) -> None:
    modules = (practice, ops, staff, clients, appointments, availability, audit, admin, events)
    issue3 = (links, invites, consents, outbox)
    issue4 = (rooms, participant_ws, call_ws, call_links, sessions, reports, link_identity, pages)
    media = (conntest,)
    # The client portal and what surrounds a visit (issue 13).
    portal_side = (portal, portal_staff, portal_passkeys, portal_actions, portal_booking)
    around_visit = (actions, page_strings, link_location, slots, reschedule)
    for module in (*modules, *issue3, *issue4, *media, *portal_side, *around_visit):
        app.router.add_routes(module.routes)
