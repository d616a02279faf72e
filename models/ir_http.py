"""The session info the web client gets: the user's PBX extension (softphone or
not), the rule of what can be dialled (axivox_api.rules, the server's own), and
whether Odoo's own VoIP widget is installed (then it is the phone, not ours)."""

from odoo import models

from ..axivox_api.rules import DIALABLE_NUMBER_PATTERN

# Odoo's own VoIP widgets, each a SIP phone of its own in the systray: Enterprise's
# ``voip`` and the OCA's ``voip_oca`` (they exclude each other).
PHONE_WIDGET_MODULES = ("voip", "voip_oca")


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
            info["axivox_phone_widget"] = self._axivox_phone_widget()
        return info

    def _axivox_phone_widget(self):
        """The name of Odoo's own VoIP module when one is installed, else False: the
        softphone then shows no second phone icon and registers no second phone."""
        installed = (
            self.env["ir.module.module"]
            .sudo()
            .search(
                [("name", "in", PHONE_WIDGET_MODULES), ("state", "=", "installed")],
                limit=1,
            )
        )
        return installed.name or False
