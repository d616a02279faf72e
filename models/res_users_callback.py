from odoo import api, models


class ResUsers(models.Model):
    _inherit = "res.users"

    @api.model
    def axivox_dial(self, number):
        """A call placed from the softphone that was answered closes the callback of the
        number called."""
        info = super().axivox_dial(number)
        self.env["axivox.callback"]._note_placed_call(info, number)
        return info
