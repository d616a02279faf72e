"""The event types of the queue report (``axivox.queue.event.type``): one record per
type of ``axivox_api.events.EVENT_TYPES``, made from that list and its labels."""
from odoo import api, fields, models

from ..axivox_api.events import EVENT_LABELS, EVENT_TYPES

MODULE = "voip_axivox_queue"


class AxivoxQueueEventType(models.Model):
    """The 13 kinds of queue report lines, to choose from in the report filters."""

    _name = "axivox.queue.event.type"
    _description = "Call Queue Event Type"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    code = fields.Char("Asterisk Event", required=True, readonly=True)
    sequence = fields.Integer(default=10)

    _sql_constraints = [("code_unique", "unique(code)", "Event types are unique.")]

    @api.model
    def _xmlid_of(self, code):
        """The external id of the record of event type ``code``."""
        return f"{MODULE}.event_type_{code.lower()}"

    @api.model
    def _load_event_types(self):
        """Create or update the records of the event types from ``EVENT_TYPES`` and
        ``EVENT_LABELS`` (English), in their order, under their external ids
        (``event_type_<code>``), as a data file would: the translations of the labels
        stay attached to them. Called by data/axivox_queue_event_type_data.xml at each
        install and upgrade."""
        return self.with_context(lang="en_US")._load_records(
            [
                {
                    "xml_id": self._xmlid_of(code),
                    "noupdate": False,
                    "values": {
                        "code": code,
                        "name": EVENT_LABELS[code],
                        "sequence": 10 * (index + 1),
                    },
                }
                for index, code in enumerate(EVENT_TYPES)
            ],
            update=True,
        )
