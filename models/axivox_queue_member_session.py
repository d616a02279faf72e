"""What a queue membership remembers for the agent sessions: the login change Odoo
asked the PBX for, so that the PBX's event is known to come from the softphone, a
manager or the end-of-day logout."""
from odoo import fields, models

from .axivox_agent_session import SESSION_SOURCES


class AxivoxQueueMember(models.Model):
    _inherit = "axivox.queue.member"

    login_intent = fields.Selection(SESSION_SOURCES, readonly=True, copy=False)
    login_intent_connect = fields.Boolean(readonly=True, copy=False)
    login_intent_ts = fields.Float(digits=(16, 3), readonly=True, copy=False)

    def _set_login_state_now(self, connected, source, since=None):
        changed = super()._set_login_state_now(connected, source, since=since)
        if source in ("manager", "auto"):
            self.env["axivox.agent.session"]._note_local_change(self, connected, source)
        return changed
