"""The aiohttp application of a PBX API server: the REST API and the event stream
(``rest``), the server's own extra routes (the simulator's ``/_sim`` control API), the
middleware (``httpkit``) and the running service with its background tasks."""

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys

from aiohttp import web

from . import rest
from .httpkit import api_middleware

_logger = logging.getLogger("axivox_server")


def add_server_arguments(parser, data, from_environment=False, seed_help=None):
    """The command-line flags every PBX API server takes (the simulator's and the
    gateway's): where it listens, its keys, the webhooks it sends, its first data
    (``data``, a JSON file) and its saved state, the announcements, the seed and the
    log. ``from_environment``: the API key and the webhook secret may come from
    AXIVOX_API_KEY and AXIVOX_WEBHOOK_SECRET (then the key's flag is not required:
    the caller checks there is one). ``seed_help`` None hides ``--seed``."""
    add = parser.add_argument
    env = os.environ if from_environment else {}
    or_env = "; or {}".format if from_environment else (lambda name: "")
    add("--host", default="127.0.0.1")
    add("--port", type=int, default=8765, help="0 picks a free port")
    add(
        "--api-key",
        required=not from_environment,
        default=env.get("AXIVOX_API_KEY"),
        help="full-access API key (Bearer)" + or_env("AXIVOX_API_KEY"),
    )
    add("--read-only-key", default=None, help="optional key allowed GET only")
    add("--webhook-url", default=None)
    add(
        "--webhook-secret",
        default=env.get("AXIVOX_WEBHOOK_SECRET", ""),
        help="the secret webhooks are signed with" + or_env("AXIVOX_WEBHOOK_SECRET"),
    )
    add("--webhook-attempts", type=int, default=6)
    add(
        "--webhook-backoff",
        type=float,
        default=0.5,
        help="first retry delay in seconds, doubled each attempt",
    )
    add("--webhook-timeout", type=float, default=5.0)
    add(
        "--data",
        default=data,
        help="users (extensions and names) and the first queues, as JSON",
    )
    add("--state", default=None, help="persist the state in this JSON file")
    add("--seed", type=int, default=0, help=seed_help or argparse.SUPPRESS)
    add(
        "--announce-seconds",
        type=float,
        default=2.0,
        help="length of the login/logout message before the PBX hangs up",
    )
    add("--verbose", "-v", action="store_true", help="log every request")


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


def stop_on_signals():
    """An event set by SIGINT or SIGTERM (where the platform has signals)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    return stop


async def serve(application, host, port, name, verbose=False):
    """Serve ``application`` on ``host:port`` (0: a free port) until SIGINT or
    SIGTERM. Once it listens, says so on stdout: ``<name> listening on <url>``, the
    line the test harnesses and scripts wait for."""
    runner = web.AppRunner(
        application, access_log=logging.getLogger("aiohttp.access") if verbose else None
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    port = runner.addresses[0][1]
    sys.stdout.write(f"{name} listening on http://{host}:{port}\n")
    sys.stdout.flush()
    try:
        await stop_on_signals().wait()
    finally:
        await runner.cleanup()


def main(serve_args, args):
    """Log as ``args.verbose`` asks and run ``serve_args(args)`` until stopped."""
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_args(args))
    return 0
