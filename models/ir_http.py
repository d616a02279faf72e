"""The session info the web client gets: the user's PBX extension (softphone or
not) and the rule of what can be dialled (axivox_api.rules, the server's own)."""

from odoo import models

from ..axivox_api.rules import DIALABLE_NUMBER_PATTERN


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    def session_info(self):
        """Tell the web client whether to show the softphone (phone icon in the
        systray)."""
        info = super().session_info()
        user = self.env.user
        if user and user._is_internal():
            info["axivox_extension"] = user.sudo().axivox_extension or False
            info["axivox_dialable_pattern"] = DIALABLE_NUMBER_PATTERN
        return info
