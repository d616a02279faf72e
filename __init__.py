from . import models
from . import wizard
from . import controllers
from . import cli


def post_init_hook(env):
    """The agent sessions of the events already stored (an install on a database that has
    them), and their callers linked to contacts."""
    env["axivox.agent.session"]._rebuild_all()
