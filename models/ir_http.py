"""The session info the web client gets: the user's PBX extension (softphone or
not)."""

from odoo import models


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    def session_info(self):
        """Tell the web client whether to show the softphone (phone icon in the
        systray)."""
        info = super().session_info()
        user = self.env.user
        if user and user._is_internal():
            info["axivox_extension"] = user.sudo().axivox_extension or False
        return info
