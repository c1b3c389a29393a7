"""Text messages over HTTP: Twilio's Messages API, or a signed JSON webhook.

Both share one aiohttp session with timeouts. HTTP 429 and 5xx, timeouts and
connection errors are retried by the outbox; other 4xx are permanent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from typing import Any

import aiohttp

from tlh.domain.messages import Message, MessageChannel
from tlh.messaging.config import TwilioConfig, WebhookConfig
from tlh.messaging.errors import PermanentError, TransientError

#: Whole-request timeout for a provider call, in seconds.
HTTP_TIMEOUT_S = 15.0
#: The header carrying the webhook body's HMAC-SHA256.
SIGNATURE_HEADER = "X-Tlh-Signature"


def sign(secret: str, body: bytes) -> str:
    """The ``X-Tlh-Signature`` value for ``body``: ``sha256=<hex>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


#: Phone-number-like runs, scrubbed from provider replies (they may echo the recipient).
_NUMBERS = re.compile(r"\+?\d[\d ()-]{5,}\d")


def _one_line(text: str, to: str, limit: int = 200) -> str:
    text = _NUMBERS.sub("[number]", text.replace(to, "[number]"))
    return " ".join(text.split())[:limit]


class _HttpTransport:
    channel = MessageChannel.SMS

    def __init__(self, timeout_s: float = HTTP_TIMEOUT_S) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        # Created lazily so the session belongs to the running loop.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def _post(self, url: str, **kwargs: Any) -> tuple[int, bytes]:
        return await self._request("POST", url, **kwargs)

    async def _request(self, method: str, url: str, **kwargs: Any) -> tuple[int, bytes]:
        try:
            async with self._client().request(method, url, **kwargs) as resp:
                return resp.status, await resp.read()
        except TimeoutError:
            raise TransientError("SMS provider timed out") from None
        except aiohttp.ClientError as exc:
            raise TransientError(f"SMS provider unreachable ({type(exc).__name__})") from None

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None


class TwilioTransport(_HttpTransport):
    """Sends texts with Twilio's ``Messages.json`` endpoint."""

    def __init__(self, config: TwilioConfig, timeout_s: float = HTTP_TIMEOUT_S) -> None:
        super().__init__(timeout_s)
        self.config = config
        self.url = (
            f"{config.base_url.rstrip('/')}/2010-04-01/Accounts/{config.account_sid}/Messages.json"
        )

    def _auth(self) -> dict[str, str]:
        creds = f"{self.config.account_sid}:{self.config.auth_token}".encode()
        return {"Authorization": "Basic " + base64.b64encode(creds).decode("ascii")}

    async def check_account(self) -> None:
        """Fetch the account with the configured credentials (``tlh doctor``)."""
        url = (
            f"{self.config.base_url.rstrip('/')}/2010-04-01/Accounts/{self.config.account_sid}.json"
        )
        status, _ = await self._request("GET", url, headers=self._auth())
        if status in (401, 403, 404):
            raise PermanentError(f"Twilio refused the account SID or auth token ({status})")
        if not 200 <= status < 300:
            raise TransientError(f"Twilio answered {status}")

    async def send(self, message: Message) -> str:
        """POST the text; return Twilio's message ``sid``."""
        form = {"To": message.to, "From": self.config.from_number, "Body": message.text}
        status, body = await self._post(self.url, data=form, headers=self._auth())
        try:
            answer = json.loads(body) if body else {}
        except ValueError:
            answer = {}
        if not isinstance(answer, dict):
            answer = {}
        if 200 <= status < 300:
            sid = answer.get("sid")
            if not isinstance(sid, str) or not sid:
                # Twilio took it (2xx) but we cannot tell which: do not send it again.
                raise PermanentError(f"Twilio answered {status} without a message sid")
            return sid
        if status == 429 or status >= 500:
            raise TransientError(f"Twilio answered {status}")
        # Twilio's reason may quote the number: it is scrubbed; the code (e.g. 21211)
        # lets the practice look the problem up.
        reason = _one_line(str(answer.get("message") or f"HTTP {status}"), message.to)
        code = answer.get("code")
        raise PermanentError(f"Twilio refused the text: {reason}" + (f" ({code})" if code else ""))


class WebhookTransport(_HttpTransport):
    """POSTs ``{"id", "to", "body", "kind"}`` signed with HMAC-SHA256."""

    def __init__(self, config: WebhookConfig, timeout_s: float = HTTP_TIMEOUT_S) -> None:
        super().__init__(timeout_s)
        self.config = config

    async def send(self, message: Message) -> str:
        """POST the text; return the message id (the gateway dedupes on it)."""
        body = json.dumps(
            {"id": message.id, "to": message.to, "body": message.text, "kind": message.kind},
            separators=(",", ":"),
        ).encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self.config.secret, body),
        }
        status, _ = await self._post(self.config.url, data=body, headers=headers)
        if 200 <= status < 300:
            return message.id
        if status == 429 or status >= 500:
            raise TransientError(f"SMS webhook answered {status}")
        raise PermanentError(f"SMS webhook refused the text ({status})")
