"""The queue report's filters wizard: period, event types, call; apply or export
to CSV."""

from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..axivox_api.events import EVENT_TYPES


class AxivoxQueueReportWizard(models.TransientModel):
    """The queue report's filters: period, event types, call; apply or export to CSV."""

    _name = "axivox.queue.report.wizard"
    _description = "Call Queue Report"

    queue_ids = fields.Many2many("axivox.queue", string="Queues")
    date_from = fields.Datetime(
        "From",
        required=True,
        default=lambda self: fields.Datetime.now() - timedelta(days=7),
    )
    date_to = fields.Datetime("To", required=True, default=fields.Datetime.now)
    event_type_ids = fields.Many2many(
        "axivox.queue.event.type",
        string="Event Types",
        default=lambda self: self._every_event_type(),
    )
    call_id = fields.Char("Call ID")
    caller_number = fields.Char()

    @api.model
    def _every_event_type(self):
        """The event types the report knows, all of them: its default filter."""
        return self.env["axivox.queue.event.type"].search([("code", "in", EVENT_TYPES)])

    @api.constrains("date_from", "date_to")
    def _check_period(self):
        for wizard in self:
            if wizard.date_from > wizard.date_to:
                raise UserError(_("The report period must start before it ends."))

    def _domain(self):
        self.ensure_one()
        domain = [
            ("event_time", ">=", self.date_from),
            ("event_time", "<=", self.date_to),
            ("event_type", "in", self.event_type_ids.mapped("code")),
        ]
        if self.queue_ids:
            domain.append(("queue_id", "in", self.queue_ids.ids))
        if self.call_id:
            domain.append(("call_id", "=", self.call_id.strip()))
        if self.caller_number:
            domain.append(("caller_number", "ilike", self.caller_number.strip()))
        return domain

    def _reopen(self):
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
            "name": _("Queue Report"),
        }

    def action_check_all(self):
        self.event_type_ids = self._every_event_type()
        return self._reopen()

    def action_uncheck_all(self):
        self.event_type_ids = False
        return self._reopen()

    def action_apply(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "voip_axivox_queue.axivox_queue_event_action"
        )
        action["domain"] = self._domain()
        action["context"] = {}
        if len(self.queue_ids) == 1:
            action["name"] = _("Queue Report: %s", self.queue_ids.name)
        return action

    def action_export_csv(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_url",
            "url": f"/voip_axivox_queue/report/{self.id}/csv",
            "target": "download",
        }

    def _export_csv(self):
        """(file name, CSV bytes) of the filtered report, with the report's columns."""
        self.ensure_one()
        events = self.env["axivox.queue.event"]
        content = events._report_csv(self._domain())
        name = "queue-report"
        if len(self.queue_ids) == 1:
            name += "-" + "".join(
                c if c.isalnum() else "-" for c in self.queue_ids.name
            )
        name += f"-{self.date_from:%Y%m%d}-{self.date_to:%Y%m%d}.csv"
        return name, content
