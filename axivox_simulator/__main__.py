"""Command line: ``python -m axivox_simulator --port 8765 --api-key KEY ...``."""
import argparse
import sys

from . import DEMO_DATA


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog="python -m axivox_simulator",
        description="Reference Axivox-compatible PBX simulator.",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    p.add_argument("--api-key", required=True, help="full-access API key (Bearer)")
    p.add_argument(
        "--read-only-key", default=None, help="optional key allowed GET only"
    )
    p.add_argument("--webhook-url", default=None)
    p.add_argument("--webhook-secret", default="")
    p.add_argument("--webhook-attempts", type=int, default=6)
    p.add_argument(
        "--webhook-backoff",
        type=float,
        default=0.5,
        help="first retry delay in seconds, doubled each attempt",
    )
    p.add_argument("--webhook-timeout", type=float, default=5.0)
    p.add_argument("--data", default=DEMO_DATA, help="initial users/queues JSON")
    p.add_argument("--state", default=None, help="persist the state in this JSON file")
    p.add_argument("--seed", type=int, default=0, help="seed of the fault injection")
    p.add_argument(
        "--announce-seconds",
        type=float,
        default=2.0,
        help="length of the login/logout message before the PBX hangs up",
    )
    p.add_argument("--verbose", "-v", action="store_true", help="log every request")
    return p.parse_args(argv)


async def serve(args):
    from ._serving import app
    from .server import build_app

    config = {k: getattr(args, k) for k in vars(args)}
    # "axivox-simulator listening on ...": the line SimulatorProcess (testing.py) and
    # scripts wait for.
    await app.serve(
        build_app(config), args.host, args.port, "axivox-simulator", args.verbose
    )


def main(argv=None):
    from ._serving import app

    return app.main(serve, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
