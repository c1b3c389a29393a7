"""The pass-through relay with real aiortc peers on loopback (tlh.media.relay).

The publisher sends a tone and a moving bar; subscribers are ordinary aiortc peers that
decode what they get. The relay must forward both kinds, decode nothing itself, carry
keyframe requests to the publisher, and leave nothing running when closed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tlh.media import aiortc_private

from .relay_support import HEIGHT, WIDTH, Call


@pytest.fixture
async def call() -> AsyncIterator[Call]:
    made = Call()
    try:
        yield made
    finally:
        await made.close()


async def test_one_to_one_forwards_both_kinds_without_decoding(call: Call) -> None:
    with aiortc_private.watch_decoders() as decoding:
        await call.publish()
        subscriber = await call.subscribe()
        await call.frames_everywhere(10, [subscriber])
        relay_threads = call.relay_decoder_threads()
        subscriber_thread = aiortc_private.decoder_thread(subscriber.video_receiver)
    assert relay_threads  # the relay's receivers did start (their threads only wait)
    assert not relay_threads & decoding  # ...and none of them created a decoder
    assert subscriber_thread in decoding  # while the subscriber decodes what it gets
    assert subscriber.sizes == {(WIDTH, HEIGHT)}
    assert call.relay.frames_in["video"] >= 10
    assert call.relay.frames_in["audio"] >= 10
    assert call.relay.frames_dropped == 0


async def test_one_to_three_reaches_every_subscriber_and_a_late_one_gets_a_keyframe(
    call: Call,
) -> None:
    with aiortc_private.watch_decoders() as decoding:
        await call.publish()
        early = [await call.subscribe(), await call.subscribe(subscriber_offers=True)]
        await call.frames_everywhere(5, early)
        # aiortc's encoder seldom makes a keyframe unasked (its first frame, a large
        # bitrate change): the late subscriber, whose video starts on a keyframe, decodes
        # promptly because the relay asks the publisher for one on its behalf.
        late = await call.subscribe()
        await call.until(lambda: late.frames["video"] >= 5, "the late subscriber's video", 2)
        await call.frames_everywhere(5, [*early, late])
        relay_threads = call.relay_decoder_threads()
    assert call.publisher.keyframe_requests >= 1
    assert not relay_threads & decoding
    assert all(s.sizes == {(WIDTH, HEIGHT)} for s in [*early, late])


async def test_a_subscribers_keyframe_request_reaches_the_publisher(call: Call) -> None:
    await call.publish()
    subscriber = await call.subscribe()
    await call.frames_everywhere(3, [subscriber])
    asked_before = call.publisher.keyframe_requests
    assert await aiortc_private.request_keyframe(subscriber.video_receiver) == 1
    await call.until(
        lambda: call.publisher.keyframe_requests > asked_before, "the PLI at the publisher"
    )
    assert call.relay.keyframe_requests_heard >= 1


async def test_closing_the_relay_closes_its_peers_and_stops_its_threads(call: Call) -> None:
    await call.publish()
    subscriber = await call.subscribe()
    await call.frames_everywhere(3, [subscriber])
    threads = call.relay_decoder_threads()
    await call.relay.close()
    assert all(pc.connectionState == "closed" for pc in call.relay_peers)
    assert not any(t.is_alive() for t in threads if hasattr(t, "is_alive"))
    assert call.relay.subscribers == {}
