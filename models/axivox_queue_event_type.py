from odoo import fields, models


class AxivoxQueueEventType(models.Model):
    """The 13 kinds of queue report lines, to choose from in the report filters."""

    _name = "axivox.queue.event.type"
    _description = "Call Queue Event Type"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    code = fields.Char("Asterisk Event", required=True, readonly=True)
    sequence = fields.Integer(default=10)

    _sql_constraints = [("code_unique", "unique(code)", "Event types are unique.")]
