"""Answers travel compressed when the client asks, static files carry validators, and
every API answer says ``Cache-Control: no-store`` (issue 11, HTTP)."""

from __future__ import annotations

import gzip

import pytest

from tlh.server.routes.pages import asset_bytes
from tlh.server.transfer import BROTLI, accepted

from .conftest import Practice
from .outreach_helpers import add_client

needs_brotli = pytest.mark.skipif(BROTLI is None, reason="the brotli library is not installed")


async def test_static_files_are_gzipped_with_an_etag_and_revalidate_to_304(
    practice: Practice,
) -> None:
    first = await practice.client.get(
        "/j.js", headers={"Accept-Encoding": "gzip"}, auto_decompress=False
    )
    assert first.status == 200
    assert first.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in first.headers["Vary"]
    assert gzip.decompress(await first.read()) == asset_bytes("j.js")
    etag = first.headers["ETag"]
    again = await practice.client.get("/j.js", headers={"If-None-Match": etag})
    assert again.status == 304
    assert await again.read() == b""
    plain = await practice.client.get("/j.js", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    assert await plain.read() == asset_bytes("j.js")


@needs_brotli
async def test_brotli_where_the_client_asks_for_it(practice: Practice) -> None:
    assert BROTLI is not None
    page = await practice.client.get(
        "/j", headers={"Accept-Encoding": "gzip, deflate, br"}, auto_decompress=False
    )
    assert page.headers["Content-Encoding"] == "br"
    assert BROTLI.decompress(await page.read()) == asset_bytes("j.html")


async def test_json_is_compressed_and_no_api_answer_may_be_stored(practice: Practice) -> None:
    for n in range(15):
        await add_client(practice, name=f"Client Number {n}", email=f"c{n}@example.org")
    listed = await practice.client.get(
        "/api/v1/clients",
        headers={**practice.auth(), "Accept-Encoding": "gzip"},
        auto_decompress=False,
    )
    assert listed.status == 200
    assert listed.headers["Content-Encoding"] == "gzip"
    assert listed.headers["Cache-Control"] == "no-store"
    assert b"Client Number 14" in gzip.decompress(await listed.read())
    for method, path, headers in (
        ("GET", "/api/v1/me", practice.auth()),
        ("GET", "/api/v1/me", {}),  # 401
        ("GET", "/api/v1/nope", practice.auth()),  # 404
        ("POST", "/api/v1/link/redeem", {"Origin": str(practice.client.make_url("/"))[:-1]}),
    ):
        answer = await practice.client.request(method, path, headers=headers)
        assert answer.headers["Cache-Control"] == "no-store", (method, path, answer.status)


def test_a_refused_coding_is_not_accepted() -> None:
    assert accepted("gzip;q=0, br") == {"br"}
    assert accepted("GZIP, deflate") == {"gzip", "deflate"}
