from odoo import _, fields, models
from odoo.exceptions import UserError


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
        # the field's domain only guides the web client: check it here too
        member = self.member_id
        if member.queue_id != self.queue_id or member.member_type != "dynamic":
            raise UserError(
                _("%(agent)s is not a dynamic agent of queue %(queue)s: only the queue's "
                  "dynamic agents can be connected.",
                  agent=member.user_id.name, queue=self.queue_id.name)
            )
        member.action_connect()
        return {"type": "ir.actions.act_window_close"}
