"""The client portal's staff side: ``client.portal`` (issue 13)."""

from __future__ import annotations

import builtins

from tlh.api.portal import PortalAccess, PortalInvite, PortalInvited, PortalRevoke, PortalRevoked

from .http import Part, build


class PortalApi(Part):
    """Who may sign in to the client portal: invite, list, revoke."""

    async def invite(
        self, client_id: str, contact_id: str | None = None, channel: str | None = None
    ) -> PortalInvited:
        """Turn portal access on and send a sign-in invitation (email, else text)."""
        fields = {"client_id": client_id, "contact_id": contact_id, "channel": channel}
        request = build(PortalInvite, fields)
        return await self._http.get(PortalInvited, "POST", "/api/v1/portal/invite", request)

    async def access(self) -> builtins.list[PortalAccess]:
        """Everyone who may sign in, with their last sign-in and open sessions."""
        return await self._http.items(PortalAccess, "/api/v1/portal/access")

    async def revoke(self, client_id: str, contact_id: str | None = None) -> PortalRevoked:
        """Turn portal access off and end their portal sessions."""
        request = build(PortalRevoke, {"client_id": client_id, "contact_id": contact_id})
        return await self._http.get(PortalRevoked, "POST", "/api/v1/portal/revoke", request)
