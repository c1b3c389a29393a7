"""An access log without query strings: they may carry dates or flags today and,
through a careless caller, anything tomorrow; the path is enough to operate."""

from __future__ import annotations

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

from .forwarded import CLIENT


class PathOnlyAccessLogger(AbstractAccessLogger):
    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info(
            '%s "%s %s" %s %.1fms',
            request.get(CLIENT, request.remote),  # the client behind a trusted proxy
            request.method,
            request.rel_url.path,
            response.status,
            time * 1000,
        )
