"""``tlh doctor`` with ``[turn]`` (issue 14 item 2): a real allocation at Debian's coturn
(``use-auth-secret``) with credentials minted as a page's are, and each way the secret can
be wrong told apart: missing, not coturn's, set without urls; a fixed TURN password warned
about. An expired credential is refused by coturn itself (a page's stops with its visit)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.doctor.coturn import coturn as turn_server
from tests.doctor.coturn import secret_auth
from tests.doctor.test_doctor import Practice, checks, coturn, free_port, loop, practice
from tlh.domain.turn import mint
from tlh.errors import InvalidInput
from tlh.services import ice_probe

__all__ = ["coturn", "loop", "practice"]  # the fixtures, shared with test_doctor

SECRET = "the-secret-coturn-has"


@pytest.fixture
def coturn_secret(tmp_path: Path) -> Iterator[int]:
    """coturn on 127.0.0.1 checking credentials minted from ``SECRET``."""
    with turn_server(tmp_path, free_port(), secret_auth(SECRET)) as port:
        yield port


def test_minted_credentials_get_a_real_allocation(practice: Practice, coturn_secret: int) -> None:
    urls = (f"turn:127.0.0.1:{coturn_secret}", f"turn:127.0.0.1:{coturn_secret}?transport=tcp")
    practice.serve(turn_urls=urls, turn_secret=SECRET)
    result = practice.doctor("--json")
    found = checks(result)
    for url in urls:
        assert found[f"ice {url}"]["status"] == "ok", found[f"ice {url}"]
        assert "minted with [turn] secret" in found[f"ice {url}"]["detail"]
    assert "turn" not in found  # nothing wrong with the configuration
    assert "ice" not in found  # no "no STUN/TURN servers" warning either
    assert SECRET not in result.stdout


def test_a_secret_coturn_does_not_share_fails_saying_so(
    practice: Practice, coturn_secret: int
) -> None:
    url = f"turn:127.0.0.1:{coturn_secret}"
    practice.serve(turn_urls=(url,), turn_secret="not-" + SECRET)
    result = practice.doctor("--json")
    found = checks(result)
    assert result.exit_code == 1
    assert found[f"ice {url}"]["status"] == "fail"
    assert "differs from coturn's static-auth-secret" in found[f"ice {url}"]["detail"]
    assert "static-auth-secret" in found[f"ice {url}"]["fix"]
    assert SECRET not in result.stdout


def test_urls_without_a_secret_fail_naming_the_missing_secret(
    practice: Practice, coturn_secret: int
) -> None:
    practice.serve(turn_urls=(f"turn:127.0.0.1:{coturn_secret}",))
    result = practice.doctor("--json")
    found = checks(result)
    assert result.exit_code == 1
    assert found["turn"]["status"] == "fail"
    assert found["turn"]["detail"].startswith("[turn] urls are set but no secret")
    assert "[turn] secret" in found["turn"]["fix"]


def test_a_secret_without_urls_fails_naming_the_urls(practice: Practice) -> None:
    practice.serve(turn_secret=SECRET)
    found = checks(practice.doctor("--json"))
    assert found["turn"]["status"] == "fail"
    assert "no urls" in found["turn"]["detail"]
    assert SECRET not in json.dumps(found)


def test_a_fixed_turn_password_still_works_with_a_warning(practice: Practice, coturn: int) -> None:
    url = f"turn:127.0.0.1:{coturn}"
    practice.serve(ice_servers=({"urls": [url], "username": "u", "credential": "p"},))
    result = practice.doctor("--json")
    found = checks(result)
    assert found[f"ice {url}"]["status"] == "ok"
    assert found["turn"]["status"] == "warn"
    assert "never expire" in found["turn"]["detail"]
    assert "[turn] secret" in found["turn"]["fix"]
    assert result.exit_code == 0


def test_coturn_refuses_a_credential_whose_visit_is_over(coturn_secret: int) -> None:
    url = ice_probe.parse_url(f"turn:127.0.0.1:{coturn_secret}")
    now = int(time.time())
    live = mint(SECRET, "ent_1", now + 60)
    relayed = asyncio.run(ice_probe.turn_allocate(url, live.username, live.credential, 5))
    assert relayed[0] == "127.0.0.1"
    over = mint(SECRET, "ent_1", now - 1)
    with pytest.raises(ice_probe.CredentialsRefused):
        asyncio.run(ice_probe.turn_allocate(url, over.username, over.credential, 5))
    forged = mint(SECRET, "ent_1", now + 60)
    with pytest.raises(InvalidInput):  # someone else's expiry on a copied password
        asyncio.run(ice_probe.turn_allocate(url, f"{now + 7200}:ent_1", forged.credential, 5))
