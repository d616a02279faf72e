"""Real callers for a demo or a test on Asterisk: AMI ``Originate`` of
``Local/<queue extension>@axivox-external`` at a steady rate.

Each caller waits in the queue until an agent answers or her patience runs out (the
originate's timeout: ABANDON, or EXITWITHTIMEOUT when the queue's maximum waiting time
is shorter), then talks for a while and hangs up (COMPLETECALLER) unless the agent's
device hangs up first (COMPLETEAGENT). The agents' demo devices
(``Local/<ext>@axivox-phones``) answer by themselves, or now and then not at all
(RINGNOANSWER): see the instance's dialplan.

    python -m axivox_gateway.traffic --asterisk DIR --calls 200 --rate 2 \\
        --extensions 600,610,620 --patience 5-40 --talk 3-20 --seed 1

``--calls 0`` goes on until stopped (SIGTERM, Ctrl-C).
"""

import argparse
import asyncio
import contextlib
import random
import sys

from .ami import instance_client


def span(text):
    """``"5-40"`` -> (5.0, 40.0); ``"7"`` -> (7.0, 7.0)."""
    low, _, high = text.partition("-")
    return float(low), float(high or low)


async def place_calls(ami, extensions, calls, rate, patience, talk, seed, stop=None):
    """Originate ``calls`` callers (0: until ``stop`` is set), ``rate`` a second on
    average; returns how many Asterisk accepted."""
    rng = random.Random(seed)
    placed = n = 0
    stop = stop or asyncio.Event()
    while (calls == 0 or n < calls) and not stop.is_set():
        n += 1
        ext = extensions[rng.randrange(len(extensions))]
        wait = rng.uniform(*patience)
        response = await ami.action(
            "Originate",
            Channel="Local/%s@axivox-external" % ext,
            Application="Wait",
            Data="%.1f" % rng.uniform(*talk),
            CallerID="Caller <+3225%06d>" % rng.randrange(1000000),
            Timeout=int(wait * 1000),
            Async="true",
        )
        placed += response.get("Response") == "Success"
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), rng.expovariate(rate))
    return placed


async def run(args):
    ami = instance_client(args.asterisk)
    task = asyncio.ensure_future(ami.run())
    from ._serving import app

    stop = app.stop_on_signals()
    try:
        if not await ami.wait_connected(30):
            sys.exit("Asterisk's manager interface did not answer: %s" % ami.last_error)
        placed = await place_calls(
            ami,
            args.extensions.split(","),
            args.calls,
            args.rate,
            span(args.patience),
            span(args.talk),
            args.seed,
            stop,
        )
        sys.stdout.write("callers placed: %d\n" % placed)
    finally:
        task.cancel()


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m axivox_gateway.traffic")
    p.add_argument("--asterisk", required=True, help="folder of the instance")
    p.add_argument("--extensions", default="600,610,620", help="queue extensions")
    p.add_argument("--calls", type=int, default=0, help="0: until stopped")
    p.add_argument("--rate", type=float, default=0.1, help="callers per second")
    p.add_argument("--patience", default="10-90", help="seconds a caller waits")
    p.add_argument("--talk", default="10-60", help="seconds a caller talks")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(args))


if __name__ == "__main__":
    main()
