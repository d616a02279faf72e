"""The aiohttp application of the PBX simulator: the shared API server
(``axivox_server.app``) on the simulator (``simulator``), plus the ``/_sim`` control API
(``control``)."""

from . import control
from ._serving import app, httpkit
from .simulator import Simulator

PREFIX = httpkit.PREFIX

__all__ = ["PREFIX", "build_app", "routes"]

routes = [*app.rest.routes, *control.routes]


def build_app(config):
    return app.build_app(config, Simulator, control.routes)
