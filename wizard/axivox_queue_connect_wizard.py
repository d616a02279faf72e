"""The console's "Connect an agent" wizard (a manager logs a dynamic agent in)."""

from odoo import _, fields, models
from odoo.exceptions import UserError

# The agents "Connect an agent" offers: the queue's dynamic agents not connected, whose
# user has an extension on the queue's PBX account (a user moved to another account or
# left without an extension cannot be logged in by the PBX).
CONNECTABLE_DOMAIN = (
    "[('queue_id', '=', queue_id), ('member_type', '=', 'dynamic'), "
    "('connected', '=', False), ('user_id.axivox_extension', '!=', False), "
    "('user_id.axivox_account_id', '=', account_id)]"
)


class AxivoxQueueConnectWizard(models.TransientModel):
    """The console's "Connect an agent": a manager logs a dynamic agent into a queue."""

    _name = "axivox.queue.connect.wizard"
    _description = "Connect an Agent to a Call Queue"

    queue_id = fields.Many2one("axivox.queue", required=True, ondelete="cascade")
    account_id = fields.Many2one(related="queue_id.account_id")
    member_id = fields.Many2one(
        "axivox.queue.member",
        string="Agent",
        required=True,
        ondelete="cascade",
        domain=CONNECTABLE_DOMAIN,
    )

    def action_connect(self):
        self.ensure_one()
        # the field's domain only guides the web client: check it here too
        member = self.member_id
        if member.queue_id != self.queue_id or member.member_type != "dynamic":
            raise UserError(
                _(
                    "%(agent)s is not a dynamic agent of queue %(queue)s: only the "
                    "queue's dynamic agents can be connected.",
                    agent=member.user_id.name,
                    queue=self.queue_id.name,
                )
            )
        user = member.user_id.sudo()
        if (
            not user.axivox_extension
            or user.axivox_account_id != self.queue_id.account_id
        ):
            raise UserError(
                _(
                    "%(agent)s has no extension on the PBX account of queue %(queue)s: "
                    "ask your administrator to give her one.",
                    agent=user.name,
                    queue=self.queue_id.name,
                )
            )
        member.action_connect()
        return {"type": "ir.actions.act_window_close"}
