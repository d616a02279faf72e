"""End to end: traffic in the PBX simulator, delivered by signed webhooks to the running
Odoo server, ends as the same report in Odoo as in the PBX — nothing lost, nothing
twice."""
from odoo.tests import HttpCase, tagged

from .common import SimulatedWorld, wait_for


@tagged("post_install", "-at_install")
class TestEndToEnd(SimulatedWorld, HttpCase):
    sim_options = dict(webhook_attempts=8, webhook_backoff=0.05, webhook_timeout=10)

    def setUp(self):
        super().setUp()
        self.deliver_webhooks_here()
        self.assertIsNone(self.account._sync_safely())

    def pbx_events(self):
        events, cursor = {}, None
        while True:
            page, cursor, more = self.pbx.events_since(cursor, limit=1000)
            events.update({e["id"]: e for e in page})
            if not more:
                return events

    def odoo_events(self):
        self.env.invalidate_all()
        lines = self.env["axivox.queue.event"].search(
            [("account_id", "=", self.account.id)]
        )
        return {line.pbx_event_id: line for line in lines}

    def assertSameReport(self, pbx, odoo):
        self.assertEqual(set(odoo), set(pbx), "the same events in Odoo as in the PBX")
        self.env.cr.execute(
            "SELECT count(*), count(DISTINCT pbx_event_id) FROM axivox_queue_event "
            "WHERE account_id = %s",
            [self.account.id],
        )
        total, distinct = self.env.cr.fetchone()
        self.assertEqual(total, distinct, "nothing twice")
        for event_id, event in pbx.items():
            line = odoo[event_id]
            odoo_side = (
                line.event_type,
                line.queue_id.remote_id,
                line.call_id,
                line.caller_number,
                line.agent_extension,
                line.wait_time,
                line.talk_time,
            )
            pbx_side = (
                event["type"],
                event["queue_id"],
                event["call_id"],
                event["caller_number"],
                event["agent_extension"],
                event["wait_time"],
                event["talk_time"],
            )
            self.assertEqual(
                [v or None for v in odoo_side], [v or None for v in pbx_side]
            )
        odoo_members = {
            (m.queue_id.remote_id, m.user_id.axivox_extension): m.connected
            for m in self.env["axivox.queue.member"].search(
                [("account_id", "=", self.account.id)]
            )
        }
        pbx_members = {
            (a["queue_id"], a["extension"]): a["connected"]
            for a in self.pbx.list_agents()
        }
        self.assertEqual(odoo_members, pbx_members, "the same agents connected")

    def test_traffic_by_webhook(self):
        self.pbx.connect_agent("billing", "100")
        self.pbx.disconnect_agent("support", "105")
        self.sim.traffic(seed=7, calls=60)
        self.sim.flush()
        pbx = self.pbx_events()
        self.assertGreater(len(pbx), 150)
        odoo = wait_for(
            lambda: len(self.odoo_events()) >= len(pbx) and self.odoo_events()
        )
        self.assertSameReport(pbx, odoo)
        sources = {line.source for line in odoo.values()}
        self.assertEqual(sources, {"webhook"}, "everything came by webhook")
        failed = [d for d in self.sim.deliveries() if d["outcome"] != "delivered"]
        self.assertFalse(failed, "every delivery was accepted first time")

    def test_lost_duplicated_reordered_deliveries_then_sync(self):
        self.deliver_webhooks_here(batch_size=10)
        self.sim.faults(
            webhook_drop_rate=0.3,
            webhook_duplicate_rate=0.3,
            webhook_reorder=True,
            seed=3,
        )
        self.sim.traffic(seed=8, calls=60)
        self.pbx.connect_agent("sales", "103")
        self.pbx.disconnect_agent("sales", "102")
        self.sim.flush()
        pbx = self.pbx_events()
        outcomes = [d["outcome"] for d in self.sim.deliveries()]
        self.assertIn("dropped", outcomes)
        received = self.odoo_events()
        self.assertLess(len(received), len(pbx), "webhooks were lost")
        self.assertGreater(len(received), 0)
        self.assertIsNone(self.account._sync_safely())
        self.assertSameReport(pbx, self.odoo_events())
