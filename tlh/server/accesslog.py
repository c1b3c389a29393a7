"""An access log without query strings: they may carry dates or flags today and,
through a careless caller, anything tomorrow; the path is enough to operate."""

from __future__ import annotations

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

from .forwarded import CLIENT
from .logformat import HTTP


class PathOnlyAccessLogger(AbstractAccessLogger):
    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        remote = request.get(CLIENT, request.remote)  # the client behind a trusted proxy
        path, ms = request.rel_url.path, round(time * 1000, 1)
        fields = {"remote": remote, "method": request.method, "path": path}
        self.logger.info(
            '%s "%s %s" %s %.1fms',
            remote,
            request.method,
            path,
            response.status,
            ms,
            extra={HTTP: {**fields, "status": response.status, "ms": ms}},
        )
