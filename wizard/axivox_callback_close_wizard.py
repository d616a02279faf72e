"""The wizard that closes callbacks by hand, with a reason."""

from odoo import fields, models


class AxivoxCallbackCloseWizard(models.TransientModel):
    """Close callbacks by hand, with a reason."""

    _name = "axivox.callback.close.wizard"
    _description = "Close Callbacks"

    callback_ids = fields.Many2many(
        "axivox.callback", string="Callbacks", required=True
    )
    reason = fields.Text(required=True)

    def action_confirm(self):
        self.ensure_one()
        self.callback_ids.action_close(self.reason)
        return {"type": "ir.actions.act_window_close"}
