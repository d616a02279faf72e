"""Command line: ``python -m axivox_gateway --port 8765 --api-key KEY --asterisk DIR``.

The flags of the simulator (``python -m axivox_simulator``) where they mean the same,
plus how to reach Asterisk: its AMI account and the files the gateway shares with it
(the queue_log it reads, the folder it writes its queues and dialplan into), given one
by one or as the folder of a private instance (``--asterisk``, see ``instance``). The
AMI secret may come from the environment (AXIVOX_AMI_SECRET) rather than the command
line; so may the API key (AXIVOX_API_KEY) and the webhook secret
(AXIVOX_WEBHOOK_SECRET): a command line is visible to every user of the machine."""

import argparse
import json
import os
import sys


def parse_args(argv=None):
    from ._serving import DEMO_DATA, app

    p = argparse.ArgumentParser(
        prog="python -m axivox_gateway",
        description="The Axivox-compatible PBX API on a real Asterisk.",
    )
    app.add_server_arguments(p, DEMO_DATA, from_environment=True)
    p.add_argument(
        "--asterisk",
        default=None,
        help="folder of a private instance (python -m axivox_gateway.instance "
        "start): its instance.json gives the AMI account and the paths",
    )
    p.add_argument("--ami-host", default="127.0.0.1")
    p.add_argument("--ami-port", type=int, default=5038)
    p.add_argument("--ami-user", default="axivox")
    p.add_argument("--ami-secret", default=os.environ.get("AXIVOX_AMI_SECRET"))
    p.add_argument("--queue-log", default="/var/log/asterisk/queue_log")
    p.add_argument(
        "--config-dir",
        default="/etc/asterisk/axivox",
        help="where to write queues.conf and extensions.conf (and pjsip.conf) for "
        "Asterisk to include",
    )
    p.add_argument(
        "--device-template",
        default="PJSIP/{ext}",
        help="an agent's device, {ext} being her extension (default PJSIP/{ext})",
    )
    p.add_argument(
        "--sip-passwords",
        default=None,
        help="a JSON file {extension: SIP password} (over the data file's "
        "sip_password): with the device template PJSIP/{ext}, the users who have one "
        "get a WebRTC endpoint in the generated pjsip.conf",
    )
    p.add_argument(
        "--keep-events",
        type=int,
        default=200000,
        help="how many of the latest events the feed keeps (default 200000)",
    )
    args = p.parse_args(argv)
    if args.asterisk:
        with open(os.path.join(args.asterisk, "instance.json"), encoding="utf-8") as fh:
            info = json.load(fh)
        ami = info["ami"]
        args.ami_host, args.ami_port = ami["host"], ami["port"]
        args.ami_user, args.ami_secret = ami["user"], ami["secret"]
        args.queue_log, args.config_dir = info["queue_log"], info["config_dir"]
    if not args.api_key:
        p.error("the API key is missing: --api-key or AXIVOX_API_KEY")
    if not args.ami_secret:
        p.error(
            "the AMI secret is missing: --ami-secret, AXIVOX_AMI_SECRET or --asterisk"
        )
    return args


async def serve(args):
    from ._serving import app
    from .gateway import Gateway

    config = {k: getattr(args, k) for k in vars(args)}
    await app.serve(
        app.build_app(config, Gateway),
        args.host,
        args.port,
        "axivox-gateway",
        args.verbose,
    )


def main(argv=None):
    from ._serving import app

    return app.main(serve, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
