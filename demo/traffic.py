"""Demo data only: days of queue traffic on the simulator's demo PBX, which the demo
queues of demo/axivox_demo.xml mirror, played by its traffic generator
(axivox_simulator/traffic.py) and ingested as a sync's events."""
from datetime import timezone

from odoo import fields

from ..axivox_api.events import validate_batch
from ..axivox_simulator.traffic import working_days


def generate_week(env, account, days=7):
    """``days`` days and today of deterministic queue traffic, for ``account``."""
    now = fields.Datetime.now().replace(tzinfo=timezone.utc)
    events = validate_batch({"events": working_days(now, days=days)})
    return env["axivox.event.intake"]._apply(account, events, "sync")


def load(env):
    """At install with the demo data: the demo account's week of traffic."""
    account = env.ref("voip_axivox_queue.demo_account", raise_if_not_found=False)
    if account:
        generate_week(env, account)
