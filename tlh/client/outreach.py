"""The API rows of issue 3 (links, consent, invitations, outbox) as typed client methods.

Kept apart from ``api.py`` so each file holds one concept; ``TlhClient`` inherits them.
"""

from __future__ import annotations

from datetime import date

from tlh.domain.consent import ConsentRecord
from tlh.domain.links import JoinLink
from tlh.domain.messages import Message

from .base import BaseClient, _fields, _q, _seg
from .wire import (
    ConsentSent,
    ConsentStatus,
    DayInvites,
    LinkUrl,
    QuickInvite,
    Sent,
    WebsiteSnippet,
)

#: A whole day's invitations may render and queue hundreds of messages.
DAY_TIMEOUT = 300.0


class OutreachApi(BaseClient):
    """Invitations, join links, consent and the outbox (docs/API.md, issue 3)."""

    # -- invitations ----------------------------------------------------------

    async def invite(
        self,
        appointment_id: str,
        channel: str = "email",
        to: str | None = None,
        contact_id: str | None = None,
    ) -> Sent:
        """Send an appointment's join link by email or SMS; ``to`` adds a missing address
        to the client's (or contact's) record first (audited)."""
        data = _fields(
            {
                "appointment_id": appointment_id,
                "channel": channel,
                "to": to,
                "contact_id": contact_id,
            }
        )
        return await self._get(Sent, "POST", "/api/v1/invites", data)

    async def invite_day(self, day: date | str, channel: str = "email") -> DayInvites:
        """Invite every telehealth appointment of a local day."""
        data = {"date": day.isoformat() if isinstance(day, date) else day, "channel": channel}
        return await self._get(DayInvites, "POST", "/api/v1/invites/day", data, wait_s=DAY_TIMEOUT)

    async def invite_link(self, appointment_id: str, contact_id: str | None = None) -> LinkUrl:
        """A new join link for copying (channel ``copy``); the URL is shown once."""
        data = _fields({"appointment_id": appointment_id, "contact_id": contact_id})
        return await self._get(LinkUrl, "POST", "/api/v1/invites/link", data)

    async def invite_quick(
        self,
        client_id: str,
        clinician: str | None = None,
        channel: str | None = None,
        to: str | None = None,
    ) -> QuickInvite:
        """An unscheduled telehealth session now, with its link (sent, or for copying)."""
        data = _fields(
            {"client_id": client_id, "clinician": clinician, "channel": channel, "to": to}
        )
        return await self._get(QuickInvite, "POST", "/api/v1/invites/quick", data)

    async def invite_guest(self, clinician: str) -> LinkUrl:
        """An invite-others link into a clinician's waiting room."""
        return await self._get(LinkUrl, "POST", "/api/v1/invites/guest", {"clinician": clinician})

    async def invite_website(self, clinician: str) -> WebsiteSnippet:
        """The HTML snippet that lets website visitors enter a clinician's waiting room."""
        path = "/api/v1/invites/website" + _q({"clinician": clinician})
        return await self._get(WebsiteSnippet, "GET", path)

    # -- links ----------------------------------------------------------------

    async def links(self, appointment_id: str) -> list[JoinLink]:
        """An appointment's join links (token hashes blanked by the server)."""
        return await self._items(JoinLink, f"/api/v1/appointments/{_seg(appointment_id)}/links")

    async def link_revoke(self, link_id: str) -> JoinLink:
        """Revoke a link: it admits nobody from now on."""
        return await self._get(JoinLink, "POST", f"/api/v1/links/{_seg(link_id)}/revoke", {})

    async def link_resend(self, link_id: str) -> Sent:
        """Revoke a link and send its holder a new one."""
        return await self._get(Sent, "POST", f"/api/v1/links/{_seg(link_id)}/resend", {})

    # -- consent --------------------------------------------------------------

    async def consent_send(
        self, client_id: str, channel: str = "email", to: str | None = None
    ) -> ConsentSent:
        """Send the client the consent form's link by email or SMS."""
        data = _fields({"client_id": client_id, "channel": channel, "to": to})
        return await self._get(ConsentSent, "POST", "/api/v1/consents/send", data)

    async def consent_verbal(self, client_id: str, note: str) -> ConsentRecord:
        """Record a verbal consent; the caller (a clinician or admin) attests to it."""
        data = {"client_id": client_id, "note": note}
        return await self._get(ConsentRecord, "POST", "/api/v1/consents/verbal", data)

    async def consents(self, client_id: str | None = None) -> list[ConsentStatus]:
        """Consent state per client (one client, or every client)."""
        return await self._items(ConsentStatus, "/api/v1/consents" + _q({"client": client_id}))

    async def consent_revoke(self, client_id: str, note: str | None = None) -> ConsentRecord:
        """Record that the client withdrew their consent."""
        data = _fields({"client_id": client_id, "note": note})
        return await self._get(ConsentRecord, "POST", "/api/v1/consents/revoke", data)

    async def consent_export(self, fmt: str = "csv") -> bytes:
        """The consent ledger as a CSV or JSON file (admin)."""
        path = "/api/v1/consents/export" + _q({"format": fmt})
        return await self._call("GET", path, wait_s=DAY_TIMEOUT)

    # -- outbox ---------------------------------------------------------------

    async def outbox(self, status: str | None = None) -> list[Message]:
        """Messages in the outbox, optionally of one status (an audited read)."""
        return await self._items(Message, "/api/v1/outbox" + _q({"status": status}))

    async def outbox_get(self, message_id: str) -> Message:
        """One message with its rendered text."""
        return await self._get(Message, "GET", f"/api/v1/outbox/{_seg(message_id)}")
