# voip_axivox_queue: the Odoo addon (models, wizards, controllers, the listener command)
# and the hook that links the events already stored when it is installed.
from . import models
from . import wizard
from . import controllers
from . import cli
from .demo import traffic as demo_traffic


def post_init_hook(env):
    """The callers of the events already stored linked to contacts, and the agent
    sessions of their logins (the upgrade from 17.0.1.0.0 does the same:
    migrations/17.0.1.1.0)."""
    env["axivox.queue.event"]._backfill_callers()
    env["axivox.agent.session"]._rebuild_all()
    # With the demo data: a week of queue traffic on the demo PBX.
    demo_traffic.load(env)
