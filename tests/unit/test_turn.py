"""When a minted TURN credential stops working (``tlh.domain.turn.expiry``)."""

from __future__ import annotations

from tlh.domain.turn import MAX_LIFE_S, expiry, mint

NOW = 1_700_000_000.0


def test_a_credential_lasts_ttl_past_the_visit_end_or_past_now() -> None:
    assert expiry(NOW, 600, NOW + 3000) == NOW + 3600
    assert expiry(NOW, 600) == NOW + 600  # a room: no end
    assert expiry(NOW, 600, NOW - 9000) == NOW + 600  # running over: from now


def test_a_page_opened_days_early_gets_hours_not_days() -> None:
    assert expiry(NOW, 600, NOW + 5 * 86400) == NOW + MAX_LIFE_S


def test_the_username_names_the_expiry_and_the_participant_only() -> None:
    made = mint("k", "ent_abc", 1_700_000_600)
    assert made.username == "1700000600:ent_abc"
    assert made.credential == mint("k", "ent_abc", 1_700_000_600).credential
    assert made.credential != mint("other", "ent_abc", 1_700_000_600).credential
