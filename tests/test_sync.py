"""The sync with the PBX, against the reference simulator running on 127.0.0.1."""
from datetime import timedelta

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger

from ..models.axivox_queue_pbx import REFRESH_LIMIT
from .common import DAY, MANAGER, SimulatedWorld, make_user

QUIET = (
    "odoo.addons.voip_axivox_queue.models.axivox_account",
    "odoo.addons.voip_axivox_queue.models.axivox_account_sync",
    "odoo.addons.voip_axivox_queue.models.axivox_account_auto_logout",
    "odoo.addons.voip_axivox_queue.axivox_api.client",
)


@tagged("post_install", "-at_install")
class TestSync(SimulatedWorld, TransactionCase):
    def queues(self):
        return (
            self.env["axivox.queue"]
            .with_context(active_test=False)
            .search([("account_id", "=", self.account.id)])
        )

    def queue(self, remote_id):
        return self.queues().filtered(lambda q: q.remote_id == remote_id)

    def sync(self):
        error = self.account._sync_safely()
        self.assertIsNone(error)
        self.env.invalidate_all()

    def odoo_state(self):
        return {
            (m.queue_id.remote_id, m.user_id.axivox_extension): (
                m.member_type,
                m.connected,
            )
            for m in self.queues().member_ids
        }

    def pbx_state(self):
        return {
            (a["queue_id"], a["extension"]): (a["type"], a["connected"])
            for a in self.pbx.list_agents()
        }

    # ------------------------------------------------------------------
    def test_first_sync_mirrors_the_pbx(self):
        self.sync()
        sales = self.queue("sales")
        self.assertEqual(
            (
                sales.name,
                sales.extension,
                sales.strategy,
                sales.max_wait_time,
                sales.max_ring_time,
                sales.login_code,
                sales.logout_code,
            ),
            ("Sales", "600", "ringall", 300, 20, "*600", "#600"),
        )
        self.assertEqual(
            sorted(self.queues().mapped("remote_id")), ["billing", "sales", "support"]
        )
        self.assertFalse(any(self.queues().mapped("pending_changes")))
        self.assertEqual(self.odoo_state(), self.pbx_state())
        self.assertEqual(self.account.sync_state, "ok")
        self.assertTrue(self.account.last_sync)

    def test_second_sync_changes_nothing(self):
        self.sync()
        before = {
            (r._name, r.id): r.write_date
            for r in list(self.queues()) + list(self.queues().member_ids)
        }
        self.env.cr.execute(
            "SELECT count(*) FROM mail_message WHERE model = 'axivox.queue'"
        )
        messages = self.env.cr.fetchone()[0]
        self.sync()
        after = {
            (r._name, r.id): r.write_date
            for r in list(self.queues()) + list(self.queues().member_ids)
        }
        self.assertEqual(before, after, "a sync with nothing new writes nothing")
        self.env.cr.execute(
            "SELECT count(*) FROM mail_message WHERE model = 'axivox.queue'"
        )
        self.assertEqual(self.env.cr.fetchone()[0], messages)

    def test_a_sync_with_nothing_new_costs_the_same_for_more_queues(self):
        def queries_of_a_sync():
            before = self.env.cr.sql_log_count
            self.sync()
            return self.env.cr.sql_log_count - before

        self.sync()
        few = queries_of_a_sync()
        for n in range(10):
            self.pbx.create_queue({"name": "Extra %d" % n, "extension": "7%02d" % n})
        self.sync()
        self.assertEqual(len(self.queues()), 13)
        self.assertEqual(queries_of_a_sync(), few, "no query a queue that is unchanged")

    def test_sync_follows_pbx_changes(self):
        self.sync()
        self.pbx.update_queue(
            "sales",
            {
                "name": "Sales EU",
                "max_wait_time": 120,
                "dynamic_agents": ["101", "102"],
            },
        )
        self.pbx.delete_queue("billing")
        self.pbx.connect_agent("sales", "101")
        self.sync()
        sales = self.queue("sales")
        self.assertEqual((sales.name, sales.max_wait_time), ("Sales EU", 120))
        self.assertFalse(
            self.queue("billing").active, "a queue gone from the PBX is archived"
        )
        self.assertEqual(self.odoo_state(), {k: v for k, v in self.pbx_state().items()})
        self.assertNotIn(("sales", "103"), self.odoo_state())
        self.assertTrue(self.member(sales, "101").connected)
        # The backfilled ADDMEMBER event applied the login before the snapshot was
        # compared.
        self.assertEqual(self.member(sales, "101").last_source, "pbx")

    def test_local_edits_are_not_overwritten(self):
        self.sync()
        sales = self.queue("sales")
        sales.max_ring_time = 42
        self.assertTrue(sales.pending_changes)
        self.pbx.update_queue("sales", {"max_ring_time": 15})
        self.sync()
        self.assertEqual(sales.max_ring_time, 42, "Odoo's unapplied edit stays")
        notes = sales.message_ids.filtered(lambda m: "newer version" in (m.body or ""))
        self.assertEqual(len(notes), 1, "the conflict is reported")
        self.sync()
        notes = sales.message_ids.filtered(lambda m: "newer version" in (m.body or ""))
        self.assertEqual(len(notes), 1, "and reported once")

    def test_apply_changes_publishes_the_queue(self):
        self.sync()
        sales = self.queue("sales")
        sales.write({"strategy": "linear", "max_wait_time": 90})
        self.env["axivox.queue.member"].create(
            {
                "queue_id": sales.id,
                "user_id": self.users["105"].id,
                "member_type": "static",
            }
        )
        self.env.flush_all()  # saved by a request of its own
        sales.action_apply_changes()
        self.env.invalidate_all()
        remote = self.pbx.get_queue("sales")
        self.assertEqual((remote["strategy"], remote["max_wait_time"]), ("linear", 90))
        self.assertIn("105", remote["static_agents"])
        self.assertFalse(sales.pending_changes)
        self.assertEqual(sales.pbx_version, remote["version"])

    def test_apply_changes_creates_a_new_queue(self):
        self.sync()
        queue = self.env["axivox.queue"].create(
            {
                "name": "Returns",
                "account_id": self.account.id,
                "extension": "630",
                "login_code": "*630",
                "logout_code": "#630",
                "strategy": "random",
            }
        )
        self.env["axivox.queue.member"].create(
            {
                "queue_id": queue.id,
                "user_id": self.users["103"].id,
                "member_type": "dynamic",
            }
        )
        queue.action_apply_changes()
        self.assertTrue(queue.remote_id)
        remote = self.pbx.get_queue(queue.remote_id)
        self.assertEqual(
            (remote["name"], remote["dynamic_agents"]), ("Returns", ["103"])
        )

    def test_apply_changes_refuses_a_conflict(self):
        self.sync()
        sales = self.queue("sales")
        self.pbx.update_queue("sales", {"max_wait_time": 200})
        sales.max_wait_time = 100
        with self.assertRaisesRegex(UserError, "changed on the PBX"):
            sales.action_apply_changes()
        self.assertEqual(
            self.pbx.get_queue("sales")["max_wait_time"],
            200,
            "the newer PBX version is not overwritten",
        )

    def test_backfill_after_lost_webhooks(self):
        self.sync()
        counts = self.sim.traffic(seed=11, calls=25)
        self.assertGreater(counts.get("events", 0), 25)
        self.sync()
        pbx_ids = set()
        cursor = None
        while True:
            events, cursor, more = self.pbx.events_since(cursor, limit=500)
            pbx_ids |= {e["id"] for e in events}
            if not more:
                break
        stored = self.env["axivox.queue.event"].search(
            [("account_id", "=", self.account.id)]
        )
        self.assertEqual(set(stored.mapped("pbx_event_id")), pbx_ids)
        self.assertTrue(all(stored.mapped("queue_id")))
        self.assertEqual(self.account.event_cursor, cursor)
        self.sync()
        self.assertEqual(
            self.env["axivox.queue.event"].search_count(
                [("account_id", "=", self.account.id)]
            ),
            len(pbx_ids),
            "nothing twice",
        )

    def test_events_of_unmirrored_queues_are_linked_by_the_sync(self):
        self.env["axivox.event.intake"]._apply(
            self.account,
            [
                {
                    "id": "early-1",
                    "type": "ENTERQUEUE",
                    "queue_id": "support",
                    "timestamp": f"{DAY}T08:00:00.000Z",
                }
            ],
            "webhook",
        )
        self.sync()
        line = self.env["axivox.queue.event"].search([("pbx_event_id", "=", "early-1")])
        self.assertEqual(line.queue_id, self.queue("support"))

    def test_manager_connects_and_disconnects(self):
        self.sync()
        sales = self.queue("sales").with_user(self.manager)
        luca = self.member(sales, "103")
        luca.action_connect()
        self.assertTrue(luca.connected)
        self.assertEqual(luca.last_source, "manager")
        self.assertTrue(self.pbx_state()[("sales", "103")][1])
        luca.action_disconnect()
        self.assertFalse(luca.connected)
        self.assertFalse(self.pbx_state()[("sales", "103")][1])
        with self.assertRaisesRegex(UserError, "static agent"):
            self.member(sales, "100").action_disconnect()

    def test_connect_wizard(self):
        self.sync()
        sales = self.queue("sales")
        wizard = (
            self.env["axivox.queue.connect.wizard"]
            .with_user(self.manager)
            .create({"queue_id": sales.id, "member_id": self.member(sales, "101").id})
        )
        wizard.action_connect()
        self.assertTrue(self.pbx_state()[("sales", "101")][1])
        self.assertTrue(self.member(sales, "101").connected)

    def test_refresh_reads_connected_agents(self):
        self.sync()
        self.pbx.connect_agent("billing", "100")
        self.pbx.disconnect_agent("sales", "102")
        self.queue("sales").with_user(self.manager).action_refresh_from_pbx()
        self.queue("billing").with_user(self.manager).action_refresh_from_pbx()
        self.assertEqual(self.odoo_state(), self.pbx_state())

    def test_refresh_is_rate_limited_per_manager(self):
        self.sync()
        sales = self.queue("sales").with_user(self.manager)
        for _n in range(REFRESH_LIMIT):
            sales.action_refresh_from_pbx()
        self.sim.clear_requests()
        with self.assertRaisesRegex(UserError, "refreshed many times"):
            sales.action_refresh_from_pbx()
        self.assertEqual(self.sim.requests_log(), [], "the PBX is not called")
        # another manager has a counter of her own
        other = make_user(self.env, "axivox_test_manager_2", MANAGER)
        self.queue("sales").with_user(other).action_refresh_from_pbx()
        self.assertTrue(self.sim.requests_log())
        # a minute later, the first one may refresh again
        self.env.cr.execute(
            "UPDATE axivox_rate_limit SET window_start = window_start - "
            "interval '61 seconds' WHERE key = %s",
            [f"refresh:{self.manager.id}"],
        )
        self.pbx.disconnect_agent("sales", "102")
        sales.action_refresh_from_pbx()
        self.env.invalidate_all()
        self.assertEqual(self.odoo_state(), self.pbx_state())

    # ------------------------------------------------------------------ failures
    @mute_logger(*QUIET)
    def test_unreachable_pbx_changes_nothing(self):
        self.sync()
        before = self.odoo_state()
        self.account.api_url = "http://127.0.0.1:9"
        self.env.flush_all()  # saved by a request of its own
        result = self.account.action_sync_now()
        self.env.invalidate_all()
        self.assertEqual(result["params"]["type"], "danger")
        self.assertIn("PBX", result["params"]["message"])
        self.assertEqual(self.account.sync_state, "error")
        self.assertTrue(self.account.last_error)
        self.assertEqual(self.odoo_state(), before)
        with self.assertRaisesRegex(UserError, "The PBX could not be reached"):
            self.member(self.queue("sales"), "103").with_user(
                self.manager
            ).action_connect()
        self.assertFalse(self.member(self.queue("sales"), "103").connected)

    @mute_logger(*QUIET)
    def test_server_errors_record_the_error_then_recover(self):
        self.sim.faults(error_rate=1.0)
        self.assertTrue(self.account._sync_safely())
        self.assertEqual(self.account.sync_state, "error")
        self.assertFalse(self.queues(), "a failed sync leaves nothing half done")
        self.sim.faults()
        self.sync()
        self.assertEqual(self.account.sync_state, "ok")
        self.assertFalse(self.account.last_error)
        self.assertEqual(len(self.queues()), 3)

    @mute_logger(*QUIET)
    def test_rate_limits_are_waited_out(self):
        self.sim.faults(rate_limit=2, retry_after=0)
        self.sync()
        self.assertEqual(len(self.queues()), 3)

    @mute_logger(*QUIET)
    def test_bad_api_key(self):
        self.account.api_key = "wrong-key"
        error = self.account._sync_safely()
        self.assertIn("key", error.lower())
        self.assertEqual(self.account.sync_state, "error")
        self.assertNotIn(
            "wrong-key", self.account.last_error, "secrets never in messages"
        )

    @mute_logger(*QUIET)
    def test_one_failing_account_does_not_stop_the_others(self):
        broken = self.env["axivox.account"].create(
            {"name": "Broken PBX", "api_url": "http://127.0.0.1:9", "api_key": "x"}
        )
        self.env["axivox.account"]._cron_sync()
        self.env.invalidate_all()
        self.assertEqual(broken.sync_state, "error")
        self.assertEqual(self.account.sync_state, "ok")
        self.assertEqual(len(self.queues()), 3)

    def test_cron_respects_the_interval(self):
        self.sync()
        last = self.account.last_sync
        self.account.sync_interval = 60
        self.env["axivox.account"]._cron_sync()
        self.assertEqual(self.account.last_sync, last, "not due yet: not synced again")

    def test_no_pbx_configured(self):
        account = self.env["axivox.account"].create(
            {"name": "Empty", "api_url": "http://x"}
        )
        with self.assertRaisesRegex(UserError, "No PBX is configured"):
            account._pbx_client()

    def test_secrets_are_never_logged(self):
        self.sync()
        wrong_key = "wrong-key-0123456789abcdef"
        with self.assertLogs("odoo.addons.voip_axivox_queue", level="DEBUG") as logs:
            self.account._sync_safely()  # every request of a good sync, at DEBUG
            self.sim.faults(error_rate=1.0)
            self.account._sync_safely()
            self.sim.faults()
            self.account.api_key = wrong_key
            self.account._sync_safely()
        text = "\n".join(logs.output)
        self.assertIn("failed", text, "the failures were logged")
        self.assertIn("GET", text, "the requests were logged")
        for secret in (self.sim.api_key, wrong_key, self.account.webhook_secret):
            self.assertNotIn(secret, text)
            self.assertNotIn(secret, self.account.last_error or "")

    def test_manager_change_is_not_undone_by_a_late_event(self):
        self.sync()
        sales = self.queue("sales")
        sofia = self.member(sales, "102")
        self.assertTrue(sofia.connected)
        # She logged in ten minutes ago; the manager now logs her out.
        sofia.last_change_ts = (
            fields.Datetime.now() - timedelta(minutes=10)
        ).timestamp()
        self.env.flush_all()
        sofia.with_user(self.manager).action_disconnect()
        # An ADDMEMBER logged by the PBX a minute ago, delivered only now.
        self.ingest_late_login("102")
        self.assertFalse(sofia.connected)

    def test_queue_not_on_the_pbx_yet(self):
        self.sync()
        queue = self.env["axivox.queue"].create(
            {
                "name": "Draft",
                "account_id": self.account.id,
                "extension": "640",
                "login_code": "*640",
                "logout_code": "#640",
            }
        )
        member = self.env["axivox.queue.member"].create(
            {
                "queue_id": queue.id,
                "user_id": self.users["103"].id,
                "member_type": "dynamic",
            }
        )
        with self.assertRaisesRegex(UserError, "not on the PBX yet"):
            member.with_user(self.manager).action_connect()
