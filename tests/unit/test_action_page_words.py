"""The one-tap page says a refusal from its ``reason`` in the page's language: every
reason the server gives has its words on the page, the English the same as the
server's message (tlh.services.client_actions.SAYS), and translated."""

from __future__ import annotations

import re

from tlh.domain.action_links import Refusal
from tlh.i18n.extract import static_dir
from tlh.services.client_actions import SAYS


def test_every_refusal_reason_is_worded_on_the_page_as_the_server_says_it() -> None:
    script = (static_dir() / "a.js").read_text(encoding="utf-8")
    block = script[script.index("const REFUSED = {") :]
    block = block[: block.index("};")]
    worded = dict(re.findall(r'(\w+): \(\) => t\("([^"]+)"\)', block))
    assert worded == {why.value: SAYS[why] for why in Refusal}
