"""One source for the 13 event types: axivox_api/events.py. The event-type records are
made from it; the search view's filters, literal XML, must say the same."""
from lxml import etree

from odoo.tests import TransactionCase, tagged

from ..axivox_api.events import EVENT_LABELS, EVENT_TYPES

MODULE = "voip_axivox_queue"


@tagged("post_install", "-at_install")
class TestEventTypes(TransactionCase):
    def test_records_under_their_external_ids(self):
        Type = self.env["axivox.queue.event.type"]
        for index, code in enumerate(EVENT_TYPES):
            record = self.env.ref(f"{MODULE}.event_type_{code.lower()}")
            self.assertEqual(
                (record.code, record.name, record.sequence),
                (code, EVENT_LABELS[code], 10 * (index + 1)),
            )
        # Made again (an upgrade): the same records, a label changed by hand restored.
        before = Type.search([])
        self.env.ref(f"{MODULE}.event_type_abandon").name = "Changed"
        Type._load_event_types()
        self.assertEqual(Type.search([]), before)
        self.assertEqual(
            self.env.ref(f"{MODULE}.event_type_abandon").name, EVENT_LABELS["ABANDON"]
        )

    def test_search_view_filters_follow_events_py(self):
        view = self.env.ref(f"{MODULE}.axivox_queue_event_view_search")
        arch = etree.fromstring(view.arch_db.encode())
        filters = [
            (f.get("name"), f.get("string"), f.get("domain"))
            for f in arch.iter("filter")
            if f.get("name", "").startswith("type_")
        ]
        self.assertEqual(
            filters,
            [
                (
                    f"type_{code.lower()}",
                    EVENT_LABELS[code],
                    f"[('event_type', '=', '{code}')]",
                )
                for code in EVENT_TYPES
            ],
            "the event type filters of views/axivox_queue_event_views.xml must list "
            "axivox_api/events.py's EVENT_TYPES and EVENT_LABELS, in that order",
        )
