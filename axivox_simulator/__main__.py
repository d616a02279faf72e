"""Command line: ``python -m axivox_simulator --port 8765 --api-key KEY ...``."""
import argparse
import sys

from . import DEMO_DATA


def parse_args(argv=None):
    from ._serving import app

    p = argparse.ArgumentParser(
        prog="python -m axivox_simulator",
        description="Reference Axivox-compatible PBX simulator.",
    )
    app.add_server_arguments(p, DEMO_DATA, seed_help="seed of the fault injection")
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
