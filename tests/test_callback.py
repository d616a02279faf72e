"""Callbacks of abandoned callers: opened, updated and closed at ingestion (also with
late and out-of-order events), claimed by one agent only (two transactions at once),
called back through the PBX simulator, closed by hand; the dashboard's figures; access.
"""
import json
import os
import tempfile

from odoo import api
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from ..axivox_simulator.testing import SimulatorProcess
from ..bus_notifications import CALLBACKS
from .common import make_user
from .contact_centre_common import ContactCentreCase

ALICE = "+3225550100"


@tagged("post_install", "-at_install")
class TestCallbacks(ContactCentreCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.alice = cls.env["res.partner"].create(
            {"name": "Alice", "phone": "02 555 01 00"}
        )
        cls.Callback = cls.env["axivox.callback"]

    def open_callbacks(self, number=ALICE):
        return self.Callback.search([("number", "=", number), ("state", "!=", "done")])

    def test_abandoned_call_opens_one_callback(self):
        self.ingest(self.call("a1", "025550100", "09:00:00", fate="ABANDON", wait=42))
        callback = self.open_callbacks()
        self.assertEqual(len(callback), 1)
        self.assertEqual(
            (
                callback.queue_id,
                callback.partner_id,
                callback.wait_time,
                callback.attempts,
                callback.state,
                callback.last_event_type,
                str(callback.call_time),
            ),
            (
                self.queue_sales,
                self.alice,
                42,
                1,
                "open",
                "ABANDON",
                "2024-03-05 09:00:42",
            ),
        )
        # Every kind of call ended without an agent counts; one callback per number.
        self.ingest(
            self.call(
                "a2",
                ALICE,
                "09:10:00",
                fate="EXITWITHTIMEOUT",
                wait=300,
                queue="q-support",
            )
            + self.call("a3", ALICE, "09:20:00", fate="EXITEMPTY", wait=1)
        )
        self.assertEqual(len(self.open_callbacks()), 1)
        self.assertEqual(
            (callback.attempts, callback.queue_id, callback.last_event_type),
            (3, self.queue_sales, "EXITEMPTY"),
        )
        # RINGCANCELED then ABANDON of the same call: one attempt.
        events = self.call("a4", ALICE, "09:30:00", fate="RINGCANCELED", wait=8)
        self.ingest(events[:2])
        self.ingest(
            [
                self.ev(
                    "ABANDON",
                    "2024-03-05T09:30:08",
                    call_id="a4",
                    caller_number=ALICE,
                    wait_time=8,
                )
            ]
        )
        self.assertEqual(callback.attempts, 4)

    def test_answered_calls_open_nothing(self):
        self.ingest(self.call("b1", "+3225551111", "09:00:00"))
        self.assertFalse(self.open_callbacks("+3225551111"))

    def test_reached_in_a_queue_closes(self):
        self.ingest(self.call("c1", ALICE, "09:00:00", fate="ABANDON"))
        callback = self.open_callbacks()
        # The caller calls again and Bruno (202) answers, in another queue.
        self.ingest(self.call("c2", ALICE, "10:00:00", queue="q-support"))
        self.assertEqual(
            (
                callback.state,
                callback.result,
                callback.closed_by_id,
                str(callback.closed_at),
            ),
            ("done", "reached", self.agent2, "2024-03-05 10:00:12"),
        )
        self.assertFalse(self.open_callbacks())

    def test_late_and_out_of_order_events(self):
        def connect(call_id, at):
            """Alice's call ``call_id`` reaches Bruno (202) at ``at``."""
            return self.ev(
                "CONNECT",
                "2024-03-05T" + at,
                call_id=call_id,
                caller_number=ALICE,
                agent_extension="202",
                wait_time=3,
            )

        # The CONNECT of a later call arrives before an older ABANDON: no callback.
        answered = self.call("d2", ALICE, "10:00:00")
        self.ingest(answered)
        self.ingest(self.call("d1", ALICE, "09:00:00", fate="ABANDON"))
        self.assertFalse(self.open_callbacks())
        # A newer abandon opens one; a late, older CONNECT (before it) does not close
        # it.
        self.ingest(self.call("d3", ALICE, "11:00:00", fate="ABANDON"))
        self.assertEqual(len(self.open_callbacks()), 1)
        self.ingest([connect("d9", "10:30:00")])
        self.assertEqual(len(self.open_callbacks()), 1)
        # In one batch, out of order: abandon at 12:00, then reached at 12:30.
        self.ingest(
            [
                connect("d5", "12:30:00"),
                self.ev(
                    "ABANDON",
                    "2024-03-05T12:00:00",
                    call_id="d4",
                    caller_number=ALICE,
                    wait_time=30,
                ),
            ]
        )
        self.assertFalse(self.open_callbacks())
        # Replayed events change nothing.
        self.ingest(self.call("d1", ALICE, "09:00:00", fate="ABANDON"))
        self.assertFalse(self.open_callbacks())

    def test_claim_and_close_by_hand(self):
        self.ingest(self.call("e1", ALICE, "09:00:00", fate="ABANDON"))
        callback = self.open_callbacks()
        # Anna (Sales) claims; Bruno (Sales too) sees it claimed and cannot take it.
        callback.with_user(self.agent).action_claim()
        self.assertEqual(
            (callback.state, callback.claimed_by_id), ("claimed", self.agent)
        )
        with self.assertRaisesRegex(UserError, "already claimed"):
            callback.with_user(self.agent2).action_claim()
        with self.assertRaisesRegex(UserError, "has claimed"):
            callback.with_user(self.agent2).action_close("not mine")
        with self.assertRaisesRegex(UserError, "reason"):
            callback.with_user(self.agent).action_close("  ")
        self.assertEqual(callback.state, "claimed")
        wizard = (
            self.env["axivox.callback.close.wizard"]
            .with_user(self.agent)
            .create({"callback_ids": [(6, 0, callback.ids)], "reason": "Wrong number"})
        )
        wizard.action_confirm()
        self.assertEqual(
            (
                callback.state,
                callback.result,
                callback.close_reason,
                callback.closed_by_id,
            ),
            ("done", "manual", "Wrong number", self.agent),
        )
        with self.assertRaisesRegex(UserError, "already closed"):
            callback.with_user(self.agent2).action_claim()
        # Closed: the next abandoned call opens a new one.
        self.ingest(self.call("e2", ALICE, "10:00:00", fate="ABANDON"))
        self.assertEqual(len(self.open_callbacks()), 1)
        self.assertNotEqual(self.open_callbacks(), callback)

    def test_release_by_the_claimer_or_a_manager_only(self):
        self.ingest(self.call("r1", ALICE, "09:00:00", fate="ABANDON"))
        callback = self.open_callbacks()
        callback.with_user(self.agent).action_claim()
        # Bruno, an agent of the same queue, may not give Anna's callback back.
        with self.assertRaisesRegex(UserError, "Only the agent who claimed it"):
            callback.with_user(self.agent2).action_release()
        self.assertEqual(
            (callback.state, callback.claimed_by_id), ("claimed", self.agent)
        )
        # Anna gives it back: open to everybody again, Bruno may claim it.
        callback.with_user(self.agent).action_release()
        self.assertEqual(
            (callback.state, callback.claimed_by_id, callback.claimed_at),
            ("open", self.env["res.users"], False),
        )
        callback.with_user(self.agent2).action_claim()
        self.assertEqual(callback.claimed_by_id, self.agent2)
        # A manager releases the callback Bruno claimed.
        callback.with_user(self.manager).action_release()
        self.assertEqual(
            (callback.state, callback.claimed_by_id), ("open", self.env["res.users"])
        )
        # An open callback released again stays open; a closed one stays closed.
        callback.with_user(self.agent).action_release()
        self.assertEqual(callback.state, "open")
        callback.with_user(self.agent).action_close("Wrong number")
        callback.with_user(self.manager).action_release()
        self.assertEqual((callback.state, callback.result), ("done", "manual"))
        # Another company's manager cannot reach it at all.
        with self.assertRaises(AccessError):
            callback.with_user(self.manager_b).action_release()

    def test_access_and_softphone_list(self):
        self.ingest(
            self.call("f1", ALICE, "09:00:00", fate="ABANDON")
            + self.call(
                "f2", "+3225552222", "09:05:00", fate="ABANDON", queue="q-support"
            )
        )
        support = self.open_callbacks("+3225552222")
        # Anna is in Sales only: she neither sees nor claims the Support callback.
        self.assertFalse(
            self.Callback.with_user(self.agent).search([("id", "=", support.id)])
        )
        with self.assertRaises(AccessError):
            support.with_user(self.agent).action_claim()
        mine = self.env["axivox.softphone"].with_user(self.agent).get_callbacks()
        self.assertEqual(mine["count"], 1)
        self.assertEqual(mine["callbacks"][0]["number"], ALICE)
        self.assertEqual(mine["callbacks"][0]["partner_name"], "Alice")
        self.assertEqual(
            self.env["axivox.softphone"]
            .with_user(self.agent2)
            .get_callbacks()["count"],
            2,
        )
        self.assertFalse(
            self.Callback.with_user(self.employee).check_access_rights(
                "read", raise_exception=False
            )
        )

    def test_called_back_from_the_phone_in_the_browser(self):
        """With the phone in her browser, the softphone claims the callback, calls the
        caller itself and tells Odoo when the call was answered; no PBX API call."""
        self.ingest(self.call("s1", "025550100", "09:00:00", fate="ABANDON"))
        callback = self.open_callbacks()
        softphone = self.env["axivox.softphone"].with_user(self.agent)
        self.assertEqual(
            softphone.claim_callback(callback.id),
            {"callback_id": callback.id, "number": ALICE},
        )
        self.assertEqual(
            (callback.state, callback.claimed_by_id), ("claimed", self.agent)
        )
        # Another agent cannot take it; bad ids and numbers change nothing
        other = self.env["axivox.softphone"].with_user(self.agent2)
        for call, message in (
            (lambda: other.claim_callback(callback.id), "already claimed"),
            (lambda: softphone.claim_callback("1"), "no longer exists"),
            (lambda: softphone.claim_callback(10**9), "no longer exists"),
            (lambda: softphone.sip_call_answered(""), "Type a number"),
            (lambda: softphone.sip_call_answered(["x"]), "Type a number"),
        ):
            with self.assertRaisesRegex(UserError, message):
                call()
        self.assertEqual(callback.state, "claimed")
        self.assertTrue(softphone.sip_call_answered("02 555 01 00"))
        self.assertEqual(
            (callback.state, callback.result, callback.closed_by_id),
            ("done", "called_back", self.agent),
        )

    def test_dashboard_counts_and_age(self):
        self.ingest(
            self.call("g1", ALICE, "09:00:00", fate="ABANDON")
            + self.call("g2", "+3225552222", "09:30:00", fate="ABANDON")
        )
        queues = (self.queue_sales | self.queue_support).with_user(self.manager)
        queues.invalidate_recordset()
        self.assertEqual(queues.mapped("callback_open_count"), [2, 0])
        self.assertEqual(str(queues[0].callback_oldest_time), "2024-03-05 09:00:12")
        self.assertGreater(queues[0].callback_oldest_age, 0)
        # The age reads the way a manager reads it (here: days and hours).
        days, hours = divmod(queues[0].callback_oldest_age // 60, 24)
        self.assertEqual(queues[0].callback_oldest_wait, f"{days} d {hours} h")
        self.assertFalse(queues[1].callback_oldest_wait, "no callback, no age")
        Queue = self.env["axivox.queue"]
        self.assertEqual(
            [Queue._age_label(m) for m in (0, 3, 59, 60, 125, 1439, 1440, 28 * 60 + 7)],
            [
                "0 min",
                "3 min",
                "59 min",
                "1 h 00",
                "2 h 05",
                "23 h 59",
                "1 d 0 h",
                "1 d 4 h",
            ],
        )
        self.env["res.lang"]._activate_lang("fr_FR")
        self.env["res.lang"]._activate_lang("it_IT")
        self.env["ir.module.module"]._load_module_terms(
            ["voip_axivox_queue"], ["fr_FR", "it_IT"], overwrite=True
        )
        self.assertEqual(
            [
                Queue.with_context(lang=lang)._age_label(28 * 60 + 7)
                for lang in ("fr_FR", "it_IT")
            ],
            ["1 j 4 h", "1 g 4 h"],
        )
        self.assertEqual(
            self.queue_sales.action_open_callbacks()["domain"],
            [("queue_id", "in", self.queue_sales.ids)],
        )

    def test_bus_tells_the_queue_agents(self):
        self.env["bus.bus"].search([]).unlink()
        self.ingest(self.call("h1", ALICE, "09:00:00", fate="ABANDON"))
        self.env.cr.precommit.run()
        messages = self.env["bus.bus"].search([("message", "like", CALLBACKS)])
        channels = {
            json.loads(m.channel)[2] for m in messages if "res.partner" in m.channel
        }
        self.assertIn(self.agent.partner_id.id, channels)
        self.assertIn(self.agent2.partner_id.id, channels)


@tagged("post_install", "-at_install")
class TestCallbackClaimRace(ContactCentreCase):
    """Two agents claim the same callback in two transactions at the same time."""

    axivox_test_mode = False  # two real transactions

    def test_two_transactions_claim_once(self):
        registry = self.registry
        admin_id = self.env.ref("base.user_admin").id
        root_id = self.env.ref("base.user_root").id
        with registry.cursor() as cr:
            env = api.Environment(cr, admin_id, {})
            account = (
                env["axivox.account"]
                .sudo()
                .create(
                    {
                        "name": "Race PBX",
                        "api_url": "http://127.0.0.1:9",
                        "api_key": "k",
                        "webhook_secret": "race-secret",
                    }
                )
            )
            values = {
                "account_id": account.id,
                "company_id": account.company_id.id,
                "state": "open",
            }
            c1, c2 = (
                env["axivox.callback"]
                .sudo()
                .create(
                    [
                        dict(values, number="+3225550001"),
                        dict(values, number="+3225550002"),
                    ]
                )
                .ids
            )
        self.addCleanup(self._cleanup, account.id)
        cr_a, cr_b = registry.cursor(), registry.cursor()
        try:
            env_a = api.Environment(cr_a, admin_id, {})
            env_b = api.Environment(cr_b, root_id, {})
            # 1. At the same moment: A holds the row, B is told at once.
            env_a["axivox.callback"].browse(c1).action_claim()
            with self.assertRaisesRegex(UserError, "right now"):
                env_b["axivox.callback"].browse(c1).action_claim()
            cr_a.commit()
            cr_b.rollback()
            # After A's commit, B sees who has it.
            with self.assertRaisesRegex(UserError, "already claimed"):
                env_b["axivox.callback"].browse(c1).action_claim()
            cr_b.rollback()
            # 2. B's transaction started before A claimed and committed: refused too.
            env_b["axivox.callback"].browse(c2).read(["state"])
            env_a["axivox.callback"].browse(c2).action_claim()
            cr_a.commit()
            with self.assertRaisesRegex(UserError, "right now"):
                env_b["axivox.callback"].browse(c2).action_claim()
            cr_b.rollback()
            cr_a.execute(
                "SELECT id, state, claimed_by_id FROM axivox_callback "
                "WHERE id IN %s ORDER BY id",
                [(c1, c2)],
            )
            self.assertEqual(
                cr_a.fetchall(), [(c1, "claimed", admin_id), (c2, "claimed", admin_id)]
            )
        finally:
            cr_a.rollback()
            cr_b.rollback()
            cr_a.close()
            cr_b.close()

    def _cleanup(self, account_id):
        with self.registry.cursor() as cr:
            cr.execute(
                "DELETE FROM axivox_callback WHERE account_id = %s", [account_id]
            )
            cr.execute("DELETE FROM axivox_account WHERE id = %s", [account_id])


@tagged("post_install", "-at_install")
class TestCallbackCallBack(ContactCentreCase):
    """Calling back from the agent's extension through the PBX simulator."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        data = {
            "users": [{"extension": ext, "name": ext} for ext in ("201", "202", "203")],
            "queues": [],
            "connected_agents": [],
        }
        folder = tempfile.mkdtemp(prefix="axivox-callback-")
        path = os.path.join(folder, "pbx.json")
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        cls.sim = SimulatorProcess(announce_seconds=0, data=path).start()
        cls.addClassCleanup(cls.sim.stop)
        cls.account_a.write({"api_url": cls.sim.url, "api_key": cls.sim.api_key})

    def test_call_back_closes_when_answered(self):
        self.ingest(self.call("k1", ALICE, "09:00:00", fate="ABANDON"))
        callback = self.env["axivox.callback"].search([("number", "=", ALICE)])
        info = callback.with_user(self.agent).action_call_back()
        self.assertEqual(
            (info["from"], info["to"], info["state"]), ("201", ALICE, "answered")
        )
        self.assertEqual(
            (
                callback.state,
                callback.result,
                callback.closed_by_id,
                callback.claimed_by_id,
                callback.dial_call_id,
            ),
            ("done", "called_back", self.agent, self.agent, info["id"]),
        )
        self.assertTrue(
            any(
                r["path"].endswith("/calls") and r["method"] == "POST"
                for r in self.sim.requests_log()
            )
        )

    def test_call_placed_from_the_pad_closes(self):
        self.ingest(self.call("k2", "+3225553333", "09:00:00", fate="ABANDON"))
        callback = self.env["axivox.callback"].search([("number", "=", "+3225553333")])
        self.env["axivox.softphone"].with_user(self.agent2).dial("025553333")
        self.assertEqual(
            (callback.state, callback.result, callback.closed_by_id),
            ("done", "called_back", self.agent2),
        )

    def test_call_to_an_extension_that_rings_keeps_it_claimed(self):
        self.ingest(self.call("k3", "203", "09:00:00", fate="ABANDON"))
        callback = self.env["axivox.callback"].search([("number", "=", "203")])
        info = callback.with_user(self.agent).action_call_back()
        self.assertEqual(info["state"], "ringing")
        self.assertEqual(
            (callback.state, callback.claimed_by_id), ("claimed", self.agent)
        )
        callback.with_user(self.agent).action_check_call()
        self.assertEqual(callback.state, "claimed")

    def test_check_call_closes_once_the_callee_answers(self):
        self.ingest(self.call("k4", "203", "09:00:00", fate="ABANDON"))
        callback = self.env["axivox.callback"].search([("number", "=", "203")])
        info = callback.with_user(self.agent).action_call_back()
        self.assertEqual(info["state"], "ringing")
        # Still ringing: nothing changes.
        callback.with_user(self.agent).action_check_call()
        self.assertEqual(callback.state, "claimed")
        # The callee picks up; the next check reads it from the PBX and closes it.
        self.sim.set_call_state(info["id"], "answered")
        callback.with_user(self.agent).action_check_call()
        self.assertEqual(
            (callback.state, callback.result, callback.closed_by_id),
            ("done", "called_back", self.agent),
        )
        self.assertTrue(
            any(
                r["path"].endswith("/calls/" + info["id"]) and r["method"] == "GET"
                for r in self.sim.requests_log()
            ),
            "read from the PBX",
        )

    def test_check_call_needs_access_to_the_callback(self):
        self.ingest(self.call("k9", "203", "09:00:00", fate="ABANDON"))
        callback = self.env["axivox.callback"].search([("number", "=", "203")])
        callback.with_user(self.agent).action_call_back()
        portal = make_user(self.env, "ax_portal_pia", "base.group_portal")
        for user in (portal, self.employee, self.agent_b):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                callback.with_user(user).action_check_call()
        self.assertEqual(callback.state, "claimed")
