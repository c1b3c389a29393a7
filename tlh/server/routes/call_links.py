"""call_links routes (issue 4)."""

from aiohttp import web

routes = web.RouteTableDef()
