"""The contact-centre figures of a queue (open callbacks), apart from the queue's own file."""
from odoo import api, fields, models


class AxivoxQueue(models.Model):
    _inherit = "axivox.queue"

    callback_open_count = fields.Integer(
        "Open Callbacks", compute="_compute_callbacks",
        help="Callers of this queue to call back (open or claimed callbacks).")
    callback_oldest_time = fields.Datetime(
        "Oldest Open Callback", compute="_compute_callbacks",
        help="When the caller of the oldest open callback called.")
    callback_oldest_age = fields.Integer(
        "Oldest Callback Age (min)", compute="_compute_callbacks",
        help="Minutes since the caller of the oldest open callback called.")

    @api.depends_context("uid", "allowed_company_ids")
    def _compute_callbacks(self):
        """One query for the whole recordset, with the user's rights on the callbacks."""
        Callback = self.env["axivox.callback"]
        groups = {}
        if self.ids and Callback.check_access_rights("read", raise_exception=False):
            groups = {
                queue.id: (count, oldest)
                for queue, count, oldest in Callback._read_group(
                    [("queue_id", "in", self.ids), ("state", "in", ("open", "claimed"))],
                    ["queue_id"], ["__count", "call_time:min"])
            }
        now = fields.Datetime.now()
        for queue in self:
            count, oldest = groups.get(queue.id, (0, False))
            queue.callback_open_count = count
            queue.callback_oldest_time = oldest
            queue.callback_oldest_age = int((now - oldest).total_seconds() // 60) if oldest else 0

    def action_open_callbacks(self):
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "voip_axivox_queue.axivox_callback_action")
        action["domain"] = [("queue_id", "in", self.ids)]
        return action
