"""Typed keys for what the application holds (no module globals)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from tlh.media.echo import EchoPeers
from tlh.server.background import Active, Background
from tlh.server.metrics import Metrics
from tlh.server.ratelimit import FailureLimits, PortalLimits
from tlh.server.settings import Settings
from tlh.server.staffsockets import StaffSockets
from tlh.services.callhub import CallHub
from tlh.services.context import Context
from tlh.services.events import EventBus
from tlh.services.ice_plan import IcePlan
from tlh.services.identity import IdentityChecks
from tlh.services.idle_sessions import IdleSessions
from tlh.services.link_sessions import LinkSessions
from tlh.services.links import Outreach
from tlh.services.portal_passkeys import PortalPasskeys
from tlh.services.portal_sessions import PortalSessions
from tlh.services.portal_signin import PortalCodes
from tlh.services.reminder_clock import ReminderClock
from tlh.services.staff_web import StaffWeb
from tlh.services.waiting import Rooms
from tlh.store.base import AuditStore, Repository

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", Repository)
AUDIT = web.AppKey("audit", AuditStore)
BUS = web.AppKey("bus", EventBus)
CTX = web.AppKey("ctx", Context)
#: Each staff member's current dashboard event socket (a newer one supersedes it).
DASHBOARDS = web.AppKey("dashboards", dict[str, web.WebSocketResponse])
#: Open websockets, closed on shutdown (handlers remove their own when they end).
WEBSOCKETS = web.AppKey("websockets", set[web.WebSocketResponse])
#: Templates, consent form and public URL (loaded at start-up).
OUTREACH = web.AppKey("outreach", Outreach)
#: Sessions of redeemed client links (hashed ids, in the store).
LINK_SESSIONS = web.AppKey("link_sessions", LinkSessions)
#: Failures per remote address: link redemptions, call-page logins, API tokens.
FAILURES = web.AppKey("failures", FailureLimits)
#: The outbox's sender and the reminder clock, started after the store opens.
#: The outbox worker and reminder clock (on a shared store, each run by one server).
BACKGROUND = web.AppKey("background", Background)
#: Whether this server serves the live rooms now (of several: one at a time).
ACTIVE = web.AppKey("active", Active)
REMINDER_CLOCK = web.AppKey("reminder_clock", ReminderClock)
#: The call signalling relay: peers per session segment (issue 4).
CALL_HUB = web.AppKey("call_hub", CallHub)
#: The live waiting rooms (created once the store is open).
ROOMS = web.AppKey("rooms", Rooms)
#: Closes room sessions nobody is in (after a grace).
IDLE_SESSIONS = web.AppKey("idle_sessions", IdleSessions)
#: Identity checks of link sessions: tries, one-time codes, verified sessions (issue 4).
IDENTITY = web.AppKey("identity", IdentityChecks)
#: Staff browser sign-in: one-time login tokens and cookie sessions (issue 4).
STAFF_WEB = web.AppKey("staff_web", StaffWeb)
#: The echo peers of clients' connection tests (the media issue).
ECHO_PEERS = web.AppKey("echo_peers", EchoPeers)
#: Staff websockets with the sign-in each was opened with (closed when it ends).
STAFF_SOCKETS = web.AppKey("staff_sockets", StaffSockets)
#: The hashed-in-memory staff cookie session a request came with (set by auth).
STAFF_SESSION = web.RequestKey("staff_session", str)
#: The STUN/TURN servers each call page is handed (minted TURN credentials included).
ICE = web.AppKey("ice", IcePlan)
#: Prometheus metrics: the histograms the server feeds, and the scrape token.
METRICS = web.AppKey("metrics", Metrics)
#: Pages' hellos handled at once (``[rooms] hello_concurrency``): a burst takes turns.
HELLOS = web.AppKey("hellos", asyncio.Semaphore)
#: The client portal (issue 13): sign-in codes, cookie sessions, sign-in rate limits.
PORTAL_CODES = web.AppKey("portal_codes", PortalCodes)
PORTAL_SESSIONS = web.AppKey("portal_sessions", PortalSessions)
PORTAL_LIMITS = web.AppKey("portal_limits", PortalLimits)
#: Passkeys on the portal (issue 13): pending WebAuthn challenges.
PORTAL_PASSKEYS = web.AppKey("portal_passkeys", PortalPasskeys)
