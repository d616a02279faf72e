from odoo import fields, models


class AxivoxQueueConnectWizard(models.TransientModel):
    """The console's "Connect an agent": a manager logs a dynamic agent into a queue."""

    _name = "axivox.queue.connect.wizard"
    _description = "Connect an Agent to a Call Queue"

    queue_id = fields.Many2one("axivox.queue", required=True, ondelete="cascade")
    member_id = fields.Many2one(
        "axivox.queue.member",
        string="Agent",
        required=True,
        ondelete="cascade",
        domain="[('queue_id', '=', queue_id), ('member_type', '=', 'dynamic'), "
        "('connected', '=', False)]",
    )

    def action_connect(self):
        self.ensure_one()
        self.member_id.action_connect()
        return {"type": "ir.actions.act_window_close"}
