"""The end-of-day logout of the agents, against the reference simulator on 127.0.0.1."""
import json
from datetime import date, datetime, timedelta

from odoo import fields
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger

from ..bus_notifications import MEMBER_STATE
from .common import SimulatedWorld

QUIET = (
    "odoo.addons.voip_axivox_queue.models.axivox_account",
    "odoo.addons.voip_axivox_queue.models.axivox_account_sync",
    "odoo.addons.voip_axivox_queue.models.axivox_account_auto_logout",
    "odoo.addons.voip_axivox_queue.axivox_api.client",
)

# 15 January 2026: Brussels is at UTC+1, its 19:00 is 18:00 UTC.
BEFORE = datetime(2026, 1, 15, 17, 59)
AFTER = datetime(2026, 1, 15, 18, 5)
DAY = date(2026, 1, 15)


@tagged("post_install", "-at_install")
class TestAutoLogout(SimulatedWorld, TransactionCase):
    def setUp(self):
        super().setUp()
        # Connected dynamic agents: Sales 101 and 102, Support 105, Billing 100 (who is
        # a static agent of Sales). Static agents: Sales 100, Support 104.
        self.pbx.connect_agent("sales", "101")
        self.pbx.connect_agent("billing", "100")
        self.sync()
        self.account.write(
            {
                "auto_logout": True,
                "auto_logout_time": 19.0,
                "auto_logout_tz": "Europe/Brussels",
            }
        )

    # ------------------------------------------------------------------ helpers
    def sync(self):
        self.assertIsNone(self.account._sync_safely())
        self.env.invalidate_all()

    def run_cron(self, now):
        self.env["axivox.account"]._cron_auto_logout(now=now)
        self.env.invalidate_all()

    def queue(self, remote_id):
        return self.env["axivox.queue"].search(
            [("account_id", "=", self.account.id), ("remote_id", "=", remote_id)]
        )

    def members(self):
        return self.env["axivox.queue.member"].search(
            [("account_id", "=", self.account.id)]
        )

    def pbx_connected(self):
        return {
            (a["queue_id"], a["extension"])
            for a in self.pbx.list_agents()
            if a["connected"] and a["type"] == "dynamic"
        }

    def odoo_connected(self):
        return {
            (m.queue_id.remote_id, m.extension)
            for m in self.members()
            if m.connected and m.member_type == "dynamic"
        }

    def state_notes(self):
        return self.env["bus.bus"].sudo().search([("message", "like", MEMBER_STATE)])

    # ------------------------------------------------------------------ the schedule
    def test_before_the_time_nothing_happens(self):
        connected = {
            ("sales", "101"),
            ("sales", "102"),
            ("support", "105"),
            ("billing", "100"),
        }
        self.assertEqual(self.pbx_connected(), connected)
        self.sim.clear_requests()
        self.run_cron(BEFORE)
        self.assertEqual(self.sim.requests_log(), [], "the PBX is not even asked")
        self.assertEqual(self.pbx_connected(), connected)
        self.assertEqual(self.odoo_connected(), connected)
        self.assertFalse(self.account.auto_logout_last_date)

    def test_after_the_time_every_dynamic_agent_is_logged_out(self):
        statics = self.members().filtered(lambda m: m.member_type == "static")
        static_before = [
            (m.connected, m.last_source, m.last_change_ts) for m in statics
        ]
        notes_before = self.state_notes()
        self.run_cron(AFTER)
        self.assertEqual(self.pbx_connected(), set(), "logged out on the PBX")
        self.assertEqual(self.odoo_connected(), set(), "and in Odoo")
        pbx_static = {
            (a["queue_id"], a["extension"])
            for a in self.pbx.list_agents()
            if a["type"] == "static" and a["connected"]
        }
        self.assertEqual(pbx_static, {("sales", "100"), ("support", "104")})
        self.assertEqual(
            [(m.connected, m.last_source, m.last_change_ts) for m in statics],
            static_before,
            "static agents are never touched",
        )
        for queue, ext in (
            ("sales", "101"),
            ("sales", "102"),
            ("support", "105"),
            ("billing", "100"),
        ):
            member = self.member(self.queue(queue), ext)
            self.assertEqual((member.connected, member.last_source), (False, "auto"))
            self.assertFalse(member.connected_since)
        self.assertEqual(self.account.auto_logout_last_date, DAY)
        notes = self.state_notes() - notes_before
        payloads = [json.loads(n.message)["payload"] for n in notes]
        self.assertEqual(
            {(p["member_id"], p["connected"], p["source"]) for p in payloads},
            {
                (self.member(self.queue(q), e).id, False, "auto")
                for q, e in (
                    ("sales", "101"),
                    ("sales", "102"),
                    ("support", "105"),
                    ("billing", "100"),
                )
            },
        )

    def test_second_run_the_same_day_does_nothing(self):
        self.run_cron(AFTER)
        # An agent who works late logs in again: she is left alone.
        self.pbx.connect_agent("sales", "103")
        self.sync()
        self.sim.clear_requests()
        self.run_cron(AFTER + timedelta(hours=3))
        self.assertEqual(self.sim.requests_log(), [], "no PBX call the second time")
        self.assertEqual(self.pbx_connected(), {("sales", "103")})
        self.assertTrue(self.member(self.queue("sales"), "103").connected)

    def test_next_day_runs_again(self):
        self.run_cron(AFTER)
        self.pbx.connect_agent("sales", "103")
        self.sync()
        self.run_cron(AFTER + timedelta(days=1, hours=-1))  # 18:05 in Brussels: not yet
        self.assertEqual(self.pbx_connected(), {("sales", "103")})
        self.run_cron(AFTER + timedelta(days=1))
        self.assertEqual(self.pbx_connected(), set())
        self.assertFalse(self.member(self.queue("sales"), "103").connected)
        self.assertEqual(self.account.auto_logout_last_date, DAY + timedelta(days=1))

    def test_time_zone(self):
        self.account.auto_logout_tz = "UTC"
        self.run_cron(AFTER)  # 18:05 UTC: not 19:00 in UTC
        self.assertEqual(len(self.pbx_connected()), 4)
        self.run_cron(datetime(2026, 1, 15, 19, 0))
        self.assertEqual(self.pbx_connected(), set())
        self.assertEqual(self.account.auto_logout_last_date, DAY)

    def test_local_day_and_summer_time(self):
        self.run_cron(AFTER)
        self.pbx.connect_agent("sales", "103")
        self.sync()
        # 23:30 UTC is 00:30 on the 16th in Brussels: a new day, but before its 19:00.
        self.run_cron(datetime(2026, 1, 15, 23, 30))
        self.assertEqual(self.pbx_connected(), {("sales", "103")})
        self.assertEqual(self.account.auto_logout_last_date, DAY)
        # In July Brussels is at UTC+2: 17:05 UTC is 19:05 there.
        self.run_cron(datetime(2026, 7, 15, 16, 55))
        self.assertEqual(self.pbx_connected(), {("sales", "103")})
        self.run_cron(datetime(2026, 7, 15, 17, 5))
        self.assertEqual(self.pbx_connected(), set())
        self.assertEqual(self.account.auto_logout_last_date, date(2026, 7, 15))

    def test_disabled_account_is_left_alone(self):
        self.account.auto_logout = False
        self.sim.clear_requests()
        self.run_cron(AFTER)
        self.assertEqual(self.sim.requests_log(), [])
        self.assertEqual(len(self.pbx_connected()), 4)
        self.assertFalse(self.account.auto_logout_last_date)

    def test_settings(self):
        for wrong in (24.0, -0.5, 30.0):
            with self.assertRaisesRegex(ValidationError, "time of day"):
                self.account.auto_logout_time = wrong
                self.account.flush_recordset()
        self.account.auto_logout_time = 23.99
        account = self.env["axivox.account"].create(
            {"name": "New", "api_url": "http://x"}
        )
        self.assertFalse(account.auto_logout, "off by default")
        self.assertEqual(account.auto_logout_time, 19.0)
        self.assertEqual(
            account.auto_logout_tz,
            self.env.company.partner_id.tz
            or self.env.ref("base.user_admin").tz
            or "UTC",
        )

    # ------------------------------------------------------------------ failures
    @mute_logger(*QUIET)
    def test_a_failing_account_does_not_stop_the_others(self):
        broken = self.env["axivox.account"].create(
            {
                "name": "Broken PBX",
                "api_url": "http://127.0.0.1:9",
                "api_key": "broken-key",
                "auto_logout": True,
                "auto_logout_tz": "Europe/Brussels",
                "sequence": 1,
            }
        )
        self.run_cron(AFTER)
        self.assertIn("End-of-day logout of Broken PBX failed", broken.last_error)
        self.assertNotIn("broken-key", broken.last_error)
        self.assertFalse(broken.auto_logout_last_date, "retried at the next run")
        self.assertEqual(self.pbx_connected(), set())
        self.assertEqual(self.account.auto_logout_last_date, DAY)
        self.assertFalse(self.account.last_error)

    @mute_logger(*QUIET)
    def test_a_failing_agent_does_not_stop_the_others_and_is_retried(self):
        # The PBX fails every request about the Sales queue (5xx), and only those.
        self.sim.faults(error_paths=["/queues/sales/"])
        self.run_cron(AFTER)
        self.sim.faults()
        self.assertEqual(self.pbx_connected(), {("sales", "101"), ("sales", "102")})
        self.assertEqual(self.odoo_connected(), {("sales", "101"), ("sales", "102")})
        self.assertFalse(self.member(self.queue("support"), "105").connected)
        self.assertIn("Sales", self.account.last_error)
        self.assertFalse(self.account.auto_logout_last_date, "not done: retried")
        # The next run of the same day finishes the job, and only it.
        self.sim.clear_requests()
        self.run_cron(AFTER + timedelta(minutes=15))
        disconnects = [
            r["path"] for r in self.sim.requests_log() if r["method"] == "POST"
        ]
        self.assertEqual(
            sorted(disconnects),
            [
                "/api/v1/queues/sales/agents/101/disconnect",
                "/api/v1/queues/sales/agents/102/disconnect",
            ],
        )
        self.assertEqual(self.pbx_connected(), set())
        self.assertEqual(self.odoo_connected(), set())
        self.assertEqual(self.account.auto_logout_last_date, DAY)

    # ------------------------------------------------------------------ events
    def test_late_events_do_not_undo_the_logout(self):
        sofia = self.member(self.queue("sales"), "102")
        sofia.last_change_ts = (
            fields.Datetime.now() - timedelta(minutes=10)
        ).timestamp()
        self.env.flush_all()
        self.run_cron(AFTER)
        self.assertFalse(sofia.connected)
        notes_before = self.state_notes()
        Intake = self.env["axivox.event.intake"]
        # An ADDMEMBER the PBX logged a minute ago, delivered only now.
        self.ingest_late_login("102")
        self.env.invalidate_all()
        self.assertFalse(sofia.connected)
        self.assertEqual(sofia.last_source, "auto")
        # The PBX's own REMOVEMEMBER of the logout, twice: no error, no second
        # notification.
        removed = {
            "id": "auto-remove",
            "type": "REMOVEMEMBER",
            "queue_id": "sales",
            "agent_extension": "102",
            "timestamp": (fields.Datetime.now() + timedelta(seconds=1)).strftime(
                "%Y-%m-%dT%H:%M:%S.000Z"
            ),
        }
        Intake._apply(self.account, [removed], "webhook")
        Intake._apply(self.account, [removed], "sync")
        self.env.invalidate_all()
        self.assertFalse(sofia.connected)
        self.assertEqual(self.state_notes() - notes_before, self.env["bus.bus"])

    # ------------------------------------------------------------------ the button
    def test_log_everybody_out_now(self):
        with self.assertRaises(AccessError):
            self.account.with_user(self.manager).action_auto_logout_now()
        admin = self.env.ref("base.user_admin")
        result = self.account.with_user(admin).action_auto_logout_now()
        self.assertEqual(result["params"]["type"], "success")
        self.env.invalidate_all()
        self.assertEqual(self.pbx_connected(), set())
        self.assertEqual(self.odoo_connected(), set())
        self.assertFalse(
            self.account.auto_logout_last_date,
            "the scheduled logout of the day still runs",
        )
