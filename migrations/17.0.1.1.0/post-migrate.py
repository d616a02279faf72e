"""17.0.1.1.0, the contact-centre layer: the events stored before it get their
caller's E.164 number and contact, and the agent sessions (and the report per agent
and day) of their logins."""
from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    env["axivox.queue.event"]._backfill_callers()
    env["axivox.agent.session"]._rebuild_all()
