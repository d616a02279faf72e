"""What the PBX sends that Odoo cannot read or refuses: skipped and reported, the rest
of the sync applied, and the other accounts synced and logged out all the same. The
bad answers come from a small PBX on 127.0.0.1 (tests/fake_pbx.py); the good account
is the reference simulator."""

from datetime import datetime

from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger

from .common import SimulatedWorld, event
from .fake_pbx import FakePbx

QUIET = (
    "odoo.addons.voip_axivox_queue.models.axivox_account",
    "odoo.addons.voip_axivox_queue.models.axivox_account_sync",
    "odoo.addons.voip_axivox_queue.models.axivox_account_auto_logout",
    "odoo.addons.voip_axivox_queue.axivox_api.client",
)

# 15 January 2026, 18:05 UTC: past 19:00 in Brussels.
AFTER = datetime(2026, 1, 15, 18, 5)


def pbx_queue(remote_id, extension, **values):
    return dict(
        {
            "id": remote_id,
            "name": remote_id.title(),
            "extension": extension,
            "strategy": "ringall",
            "max_wait_time": 300,
            "max_ring_time": 20,
            "login_code": f"*{extension}",
            "logout_code": f"#{extension}",
            "version": 1,
        },
        **values,
    )


@tagged("post_install", "-at_install")
class TestPbxBadData(SimulatedWorld, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fake = FakePbx().start()
        cls.addClassCleanup(cls.fake.stop)
        cls.bad = cls.env["axivox.account"].create(
            {
                "name": "Odd PBX",
                "api_url": cls.fake.url,
                "api_key": "odd-key",
                "sequence": 1,
                "company_id": cls.company.id,
            }
        )
        cls.users["101"].axivox_account_id = cls.bad

    def setUp(self):
        super().setUp()
        self.fake.routes.clear()
        self.fake.requests.clear()
        self.fake.answer(
            "GET",
            "/queues",
            body={
                "queues": [
                    pbx_queue("fine", "800"),
                    pbx_queue("odd", "801", strategy="loudest"),
                    pbx_queue("slow", "802", max_wait_time="five minutes"),
                ]
            },
        )
        self.fake.answer(
            "GET",
            "/agents",
            body={
                "agents": [
                    {
                        "queue_id": "fine",
                        "extension": "101",
                        "type": "dynamic",
                        "connected": True,
                        "connected_since": "2026-11-28T09:00:00",
                    }
                ]
            },
        )
        self.fake.answer(
            "GET",
            "/events",
            body={
                "events": [event("odd-1", "ADDMEMBER", "fine", agent_extension="101")],
                "next_cursor": "5",
                "has_more": False,
            },
        )

    def queues(self, account):
        return (
            self.env["axivox.queue"]
            .with_context(active_test=False)
            .search([("account_id", "=", account.id)])
        )

    def stored_events(self):
        return self.env["axivox.queue.event"].search([("account_id", "=", self.bad.id)])

    @mute_logger(*QUIET)
    def test_bad_queues_and_agents_are_skipped_and_reported(self):
        self.env["axivox.account"]._cron_sync()
        self.env.invalidate_all()
        self.assertEqual(self.queues(self.bad).mapped("remote_id"), ["fine"])
        self.assertEqual(self.bad.sync_state, "error")
        self.assertIn("Odd", self.bad.last_error)
        self.assertIn("loudest", self.bad.last_error)
        self.assertIn("Slow", self.bad.last_error)
        self.assertIn("connected_since", self.bad.last_error)
        self.assertTrue(self.bad.last_sync, "not due again at the next minute")
        self.assertEqual(self.bad.event_cursor, "5")
        self.assertEqual(self.stored_events().mapped("pbx_event_id"), ["odd-1"])
        # the account after it is synced
        self.assertEqual(self.account.sync_state, "ok")
        self.assertEqual(len(self.queues(self.account)), 3)

    @mute_logger(*QUIET)
    def test_a_queue_odoo_refuses_keeps_the_backfill_and_the_others(self):
        self.fake.answer(
            "GET",
            "/queues",
            body={
                "queues": [
                    pbx_queue("fine", "800"),
                    # the same extension as "fine": Odoo's unique key refuses it
                    pbx_queue("twin", "800"),
                    pbx_queue("codes", "803", login_code="log me in"),
                ]
            },
        )
        self.fake.answer("GET", "/agents", body={"agents": []})
        self.bad._sync_committed()
        self.env.invalidate_all()
        self.assertEqual(self.queues(self.bad).mapped("remote_id"), ["fine"])
        self.assertEqual(self.bad.sync_state, "error")
        self.assertIn("Twin", self.bad.last_error)
        self.assertIn("Codes", self.bad.last_error)
        self.assertEqual(self.bad.event_cursor, "5", "the backfill is kept")
        self.assertEqual(self.stored_events().mapped("pbx_event_id"), ["odd-1"])

    @mute_logger(*QUIET)
    def test_end_of_day_logout_reads_bad_answers_and_goes_on(self):
        self.pbx.connect_agent("sales", "101")
        self.account._sync_committed()
        self.account.write({"auto_logout": True, "auto_logout_tz": "Europe/Brussels"})
        self.bad.write({"auto_logout": True, "auto_logout_tz": "Europe/Brussels"})
        self.fake.answer(
            "GET",
            "/agents",
            body={
                "agents": [
                    {
                        "queue_id": "fine",
                        "extension": "101",
                        "type": "dynamic",
                        "connected": True,
                    },
                    {
                        "queue_id": "fine",
                        "extension": "102",
                        "type": "dynamic",
                        "connected": True,
                    },
                ]
            },
        )
        self.fake.answer("GET", "/queues", body={"queues": [pbx_queue("fine", "800")]})
        self.bad._sync_committed()
        # 204 without a body, and an agent that is null
        self.fake.answer("POST", "/queues/fine/agents/101/disconnect", status=204)
        self.fake.answer(
            "POST", "/queues/fine/agents/102/disconnect", body={"agent": None}
        )
        self.env["axivox.account"]._cron_auto_logout(now=AFTER)
        self.env.invalidate_all()
        self.assertIn("End-of-day logout of Odd PBX failed", self.bad.last_error)
        self.assertIn("101", self.bad.last_error)
        self.assertIn("102", self.bad.last_error)
        self.assertFalse(self.bad.auto_logout_last_date, "retried at the next run")
        # the account after it is logged out
        connected = {
            (a["queue_id"], a["extension"])
            for a in self.pbx.list_agents()
            if a["connected"] and a["type"] == "dynamic"
        }
        self.assertEqual(connected, set())
        self.assertTrue(self.account.auto_logout_last_date)

    @mute_logger(*QUIET)
    def test_an_answer_too_large_is_refused_unread(self):
        self.fake.answer(
            "GET", "/queues", body={"queues": [], "padding": "x" * (33 << 20)}
        )
        self.bad._sync_committed()
        self.assertEqual(self.bad.sync_state, "error")
        self.assertIn("answer too large", self.bad.last_error)
        self.assertEqual(
            self.fake.requests.count(("GET", "/api/v1/queues")), 1, "not retried"
        )

    @mute_logger(*QUIET)
    def test_a_refresh_leaves_a_queue_odoo_cannot_read_as_it_is(self):
        self.fake.answer("GET", "/queues", body={"queues": [pbx_queue("fine", "800")]})
        self.fake.answer("GET", "/agents", body={"agents": []})
        self.bad._sync_committed()
        fine = self.queues(self.bad)
        self.assertEqual(fine.strategy, "ringall")
        self.fake.answer(
            "GET",
            "/queues",
            body={"queues": [pbx_queue("fine", "800", strategy="loudest")]},
        )
        fine.with_user(self.manager).action_refresh_from_pbx()
        self.env.invalidate_all()
        self.assertEqual(fine.strategy, "ringall", "left as it is")
