"""The aiohttp application of a PBX API server: the REST API and the event stream
(``rest``), the server's own extra routes (the simulator's ``/_sim`` control API), the
middleware (``httpkit``) and the running service with its background tasks."""

import asyncio
import logging

from aiohttp import web

from . import rest
from .httpkit import api_middleware

_logger = logging.getLogger("axivox_server")


def build_app(config, make_service, extra_routes=()):
    """The application serving ``make_service(config)`` (a ``PBXService``)."""
    app = web.Application(middlewares=[api_middleware], client_max_size=8 * 1024 * 1024)
    app.add_routes([*rest.routes, *extra_routes])

    async def on_startup(app):
        service = make_service(config)
        app["pbx"] = service
        app["tasks"] = [asyncio.ensure_future(t) for t in service.tasks()]

    async def on_cleanup(app):
        for task in app["tasks"]:
            task.cancel()
        await asyncio.gather(*app["tasks"], return_exceptions=True)
        try:
            await app["pbx"].close()
        except OSError:
            _logger.exception("could not save the state")

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app
