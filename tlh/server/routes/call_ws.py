"""call_ws routes (issue 4)."""

from aiohttp import web

routes = web.RouteTableDef()
