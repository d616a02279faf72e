"""The agent sessions' part of the softphone (``axivox.softphone``): a login or logout
code the PBX accepted is remembered, so that its event is known to come from the
softphone."""
from odoo import api, models


class AxivoxSoftphone(models.AbstractModel):
    _inherit = "axivox.softphone"

    @api.model
    def _dial_code(self, member, connect):
        info = super()._dial_code(member, connect)
        if info.get("outcome") in ("logged_in", "logged_out"):
            self.env["axivox.agent.session"]._note_local_change(
                member.with_env(self.env), connect, "widget"
            )
        return info
