"""Steps the media tests share: two aiortc peers meeting in one process."""

from __future__ import annotations

from aiortc import RTCPeerConnection

from tlh.media.ice import gathering


async def negotiate(offerer: RTCPeerConnection, answerer: RTCPeerConnection) -> None:
    """Offer/answer on loopback candidates, in one process."""
    offer = await offerer.createOffer()
    await gathering(True, lambda: offerer.setLocalDescription(offer))
    await answerer.setRemoteDescription(offerer.localDescription)
    answer = await answerer.createAnswer()
    await gathering(True, lambda: answerer.setLocalDescription(answer))
    await offerer.setRemoteDescription(answerer.localDescription)
