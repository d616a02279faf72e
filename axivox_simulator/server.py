"""The aiohttp application of the PBX simulator, put together: the REST API and the
WebSocket stream (``rest``), the ``/_sim`` control API (``control``), the middleware
(``httpkit``) and the running simulator with its webhook deliveries (``simulator``)."""

import asyncio
import logging

from aiohttp import web

from . import control, rest
from .httpkit import PREFIX, api_middleware
from .simulator import Simulator

_logger = logging.getLogger("axivox_simulator")

__all__ = ["PREFIX", "build_app", "routes"]

routes = [*rest.routes, *control.routes]


# ---------------------------------------------------------------------- app
def build_app(config):
    app = web.Application(middlewares=[api_middleware], client_max_size=8 * 1024 * 1024)
    app.add_routes(routes)

    async def on_startup(app):
        sim = Simulator(config)
        app["sim"] = sim
        app["tasks"] = [
            asyncio.ensure_future(sim.webhook_worker()),
            asyncio.ensure_future(sim.saver()),
        ]

    async def on_cleanup(app):
        for task in app["tasks"]:
            task.cancel()
        await asyncio.gather(*app["tasks"], return_exceptions=True)
        try:
            app["sim"].save()
        except OSError:
            _logger.exception("could not save the state")

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app
