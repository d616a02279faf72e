"""The softphone in the systray: its server methods, its QUnit tests and a tour.

They use the demo data (the demo PBX account, sofia=102, luca=103, admin=100 and the
Sales / Support / Billing queues) and the reference PBX simulator, which loads the same
data from ``axivox_simulator/data/demo.json``.
"""
import threading
import time
import unittest
import xmlrpc.client
from unittest.mock import patch

import odoo
from odoo.exceptions import UserError, ValidationError
from odoo.tests import HttpCase, TransactionCase, tagged

from odoo.addons.bus.models.bus import dispatch
from odoo.addons.bus.websocket import WebsocketConnectionHandler

from ..axivox_simulator.testing import SimulatorProcess


def _connected(sim, queue_id, extension):
    return any(
        c["queue_id"] == queue_id and c["extension"] == extension
        for c in sim.state()["connections"]
    )


class SoftphoneDemoMixin:
    """The demo records, and the demo account pointed at a fresh simulator."""

    @classmethod
    def setup_demo(cls, **sim_options):
        ref = cls.env.ref
        cls.account = ref("voip_axivox_queue.demo_account", raise_if_not_found=False)
        if not cls.account:
            raise unittest.SkipTest("The softphone tests need the demo data.")
        cls.sofia = ref("voip_axivox_queue.demo_user_sofia")
        cls.luca = ref("voip_axivox_queue.demo_user_luca")
        cls.admin = ref("base.user_admin")
        cls.sales = ref("voip_axivox_queue.demo_queue_sales")
        cls.billing = ref("voip_axivox_queue.demo_queue_billing")
        cls.member_sales_sofia = ref("voip_axivox_queue.demo_member_sales_sofia")
        cls.member_billing_sofia = ref("voip_axivox_queue.demo_member_billing_sofia")
        cls.member_sales_luca = ref("voip_axivox_queue.demo_member_sales_luca")
        cls.member_sales_admin = ref("voip_axivox_queue.demo_member_sales_admin")
        cls.sim = SimulatorProcess(announce_seconds=0, **sim_options)
        cls.sim.start()
        cls.addClassCleanup(cls.sim.stop)
        cls.account.sudo().write({"api_url": cls.sim.url, "api_key": cls.sim.api_key})
        # The demo's report lines of today are dated from 08:00 to 17:30: before then they
        # are in the future, and a PBX event older than the last change is ignored.
        (cls.member_sales_sofia | cls.member_billing_sofia).sudo().with_context(
            axivox_no_pending_change=True
        ).write({"last_change_ts": 0})


@tagged("post_install", "-at_install")
class TestSoftphoneServer(SoftphoneDemoMixin, TransactionCase):
    """The server methods the softphone calls, as the agent calls them."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_demo()

    def setUp(self):
        super().setUp()
        self.sim.reset()

    def test_state_in_one_call(self):
        state = self.env["axivox.softphone"].with_user(self.sofia).get_state()
        self.assertEqual(state["extension"], "102")
        by_name = {q["name"]: q for q in state["queues"]}
        self.assertEqual(set(by_name), {"Sales", "Billing"})
        sales = by_name["Sales"]
        self.assertEqual(sales["member_id"], self.member_sales_sofia.id)
        self.assertEqual(
            (sales["extension"], sales["login_code"], sales["logout_code"]),
            ("600", "*600", "#600"),
        )
        self.assertEqual(sales["member_type"], "dynamic")
        self.assertTrue(sales["connected"])
        self.assertTrue(sales["connected_since"])
        self.assertEqual(sales["connected_count"], self.sales.connected_count)
        self.assertFalse(by_name["Billing"]["connected"])
        self.assertFalse(by_name["Billing"]["connected_since"])
        self.assertEqual(state["connected_queue_count"], 1)

    def test_connect_dials_the_login_code_from_her_extension(self):
        member = self.member_billing_sofia
        info = self.env["axivox.softphone"].with_user(self.sofia).connect(member.id)
        self.assertEqual((info["from"], info["to"]), ("102", "*620"))
        self.assertEqual(info["outcome"], "logged_in")
        self.assertEqual(
            (info["member_id"], info["queue_id"]), (member.id, self.billing.id)
        )
        self.assertTrue(_connected(self.sim, "billing", "102"))
        # Odoo changes the state when the PBX event arrives, not before.
        self.assertFalse(self.member_billing_sofia.connected)

    def test_disconnect_dials_the_logout_code(self):
        info = (
            self.env["axivox.softphone"]
            .with_user(self.sofia)
            .disconnect(self.member_sales_sofia.id)
        )
        self.assertEqual(
            (info["from"], info["to"], info["outcome"]), ("102", "#600", "logged_out")
        )
        self.assertFalse(_connected(self.sim, "sales", "102"))

    def test_only_her_own_memberships(self):
        with self.assertRaisesRegex(UserError, "only log yourself"):
            self.env["axivox.softphone"].with_user(self.sofia).connect(
                self.member_sales_luca.id
            )
        with self.assertRaisesRegex(UserError, "only log yourself"):
            self.env["axivox.softphone"].with_user(self.sofia).disconnect(
                self.member_sales_luca.id
            )
        self.assertFalse(_connected(self.sim, "sales", "103"))
        self.assertFalse(self.sim.state()["calls"], "nothing was dialed")

    def test_static_agent(self):
        with self.assertRaisesRegex(UserError, "static agent"):
            self.env["axivox.softphone"].with_user(self.admin).disconnect(
                self.member_sales_admin.id
            )
        with self.assertRaisesRegex(UserError, "static agent"):
            self.env["axivox.softphone"].with_user(self.admin).connect(
                self.member_sales_admin.id
            )
        # Dialed by hand, the PBX refuses the code with a clear outcome.
        info = self.env["axivox.softphone"].with_user(self.admin).dial("#600")
        self.assertEqual(info["outcome"], "static_agent")

    def test_code_of_a_queue_she_is_not_in(self):
        info = self.env["axivox.softphone"].with_user(self.sofia).dial("*610")
        self.assertEqual(info["outcome"], "not_a_member")
        info = (
            self.env["axivox.softphone"]
            .with_user(self.sofia)
            .connect(self.member_sales_sofia.id)
        )
        self.assertEqual(info["outcome"], "already_logged_in")

    def test_no_extension(self):
        nobody = self.env["res.users"].create(
            {
                "name": "No Phone",
                "login": "no_phone_softphone",
                "groups_id": [
                    (
                        6,
                        0,
                        [
                            self.env.ref("base.group_user").id,
                            self.env.ref("voip_axivox_queue.group_axivox_agent").id,
                        ],
                    )
                ],
            }
        )
        Softphone = self.env["axivox.softphone"].with_user(nobody)
        state = Softphone.get_state()
        self.assertEqual(
            state, {"extension": False, "queues": [], "connected_queue_count": 0}
        )
        with self.assertRaisesRegex(UserError, "no PBX extension"):
            Softphone.dial("103")
        with self.assertRaisesRegex(UserError, "no PBX extension"):
            Softphone.disconnect_all()
        with self.assertRaisesRegex(UserError, "no PBX extension"):
            Softphone.hang_up("call-1")

    def test_dial_from_her_own_extension_only(self):
        Softphone = self.env["axivox.softphone"].with_user(self.sofia)
        info = Softphone.dial(" 103 ")
        self.assertEqual(
            (info["from"], info["to"], info["state"]), ("102", "103", "ringing")
        )
        info = Softphone.dial("+3225550100")
        self.assertEqual((info["from"], info["to"]), ("102", "+3225550100"))
        calls = self.sim.state()["calls"]
        self.assertEqual({c["from"] for c in calls}, {"102"})

    def test_dial_refuses_what_is_not_a_number(self):
        Softphone = self.env["axivox.softphone"].with_user(self.sofia)
        with self.assertRaisesRegex(UserError, "Type a number"):
            Softphone.dial("")
        with self.assertRaisesRegex(UserError, "Type a number"):
            Softphone.dial("+")
        with self.assertRaises(ValidationError):
            Softphone.dial("call me")
        with self.assertRaises(ValidationError):
            Softphone.dial("1" * 21)
        self.assertFalse(self.sim.state()["calls"])

    def test_hangup_only_her_own_calls(self):
        call = self.env["axivox.softphone"].with_user(self.sofia).dial("103")
        with self.assertRaisesRegex(UserError, "your own calls"):
            self.env["axivox.softphone"].with_user(self.luca).hang_up(call["id"])
        ended = self.env["axivox.softphone"].with_user(self.sofia).hang_up(call["id"])
        self.assertEqual((ended["id"], ended["state"]), (call["id"], "ended"))

    def test_disconnect_all(self):
        self.member_billing_sofia.sudo().write({"connected": True})
        self.sim.client().connect_agent("billing", "102")
        infos = self.env["axivox.softphone"].with_user(self.sofia).disconnect_all()
        self.assertEqual(
            sorted((i["to"], i["outcome"], i["member_id"]) for i in infos),
            [
                ("#600", "logged_out", self.member_sales_sofia.id),
                ("#620", "logged_out", self.member_billing_sofia.id),
            ],
        )
        self.assertFalse(_connected(self.sim, "sales", "102"))
        self.assertFalse(_connected(self.sim, "billing", "102"))

    def test_disconnect_all_tries_every_queue(self):
        self.member_billing_sofia.sudo().write({"connected": True})
        self.sim.faults(error_rate=1.0)
        infos = self.env["axivox.softphone"].with_user(self.sofia).disconnect_all()
        self.assertEqual(len(infos), 2)
        for info in infos:
            self.assertEqual((info["state"], info["outcome"]), ("error", "error"))
            self.assertIn("PBX", info["message"])

    def test_pbx_unreachable(self):
        self.account.sudo().api_url = "http://127.0.0.1:9"
        Softphone = self.env["axivox.softphone"].with_user(self.sofia)
        with self.assertRaisesRegex(UserError, "PBX"):
            Softphone.connect(self.member_billing_sofia.id)
        self.assertFalse(self.member_billing_sofia.connected)


@tagged("post_install", "-at_install")
class TestSoftphoneQUnit(HttpCase):
    """The QUnit tests of the softphone (static/tests/softphone_tests.js)."""

    def test_qunit(self):
        self.browser_js(
            "/web/tests?filter=voip_axivox_queue", "", "", login="admin", timeout=300
        )


@tagged("post_install", "-at_install")
class TestSoftphoneTour(SoftphoneDemoMixin, HttpCase):
    """The softphone end to end: Odoo, the simulator, its webhooks, the bus, Chromium."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        account = cls.env.ref(
            "voip_axivox_queue.demo_account", raise_if_not_found=False
        )
        if not account:
            raise unittest.SkipTest("The softphone tour needs the demo data.")
        account = account.sudo()
        webhook_url = "http://127.0.0.1:%s/voip_axivox_queue/webhook/%s" % (
            odoo.tools.config["http_port"],
            account.webhook_token,
        )
        cls.setup_demo(
            webhook_url=webhook_url,
            webhook_secret=account.webhook_secret,
            webhook_backoff=0.2,
        )
        # Browsers may not open the bus's websocket in test mode: allow it here.
        cls.startClassPatcher(
            patch.object(
                WebsocketConnectionHandler, "websocket_allowed", return_value=True
            )
        )

    def test_session_info(self):
        self.authenticate("sofia", "sofia")
        info = self.make_jsonrpc_request("/web/session/get_session_info", {})
        self.assertEqual(info["axivox_extension"], "102")
        self.env["res.users"].create(
            {
                "name": "No Phone",
                "login": "no_phone_info",
                "password": "no_phone_info",
                "groups_id": [(6, 0, [self.env.ref("base.group_user").id])],
            }
        )
        self.authenticate("no_phone_info", "no_phone_info")
        info = self.make_jsonrpc_request("/web/session/get_session_info", {})
        self.assertIs(info["axivox_extension"], False)

    def test_tour(self):
        stop = threading.Event()
        errors = []

        def pump_bus():
            """The test cursor never commits, so the bus is never told: tell it."""
            while not stop.wait(0.2):
                try:
                    websockets = {
                        ws
                        for wss in list(dispatch._channels_to_ws.values())
                        for ws in list(wss)
                    }
                    for websocket in websockets:
                        websocket.trigger_notification_dispatching()
                except RuntimeError:  # the channels changed while we read them
                    continue

        def manager():
            """When Sofia, connected to Billing, dials 0470, a manager disconnects her."""
            try:
                deadline = time.time() + 120
                while not stop.is_set() and time.time() < deadline:
                    state = self.sim.state()
                    dialed = any(c["to"] == "0470" for c in state["calls"])
                    if dialed and _connected(self.sim, "billing", "102"):
                        break
                    stop.wait(0.2)
                else:
                    return
                models = xmlrpc.client.ServerProxy(
                    "http://127.0.0.1:%s/xmlrpc/2/object"
                    % odoo.tools.config["http_port"]
                )
                models.execute_kw(
                    self.env.cr.dbname,
                    self.admin.id,
                    "admin",
                    "axivox.queue.member",
                    "action_disconnect",
                    [[self.member_billing_sofia.id]],
                )
            except Exception as exc:  # reported by the test below
                errors.append(exc)

        threads = [
            threading.Thread(target=pump_bus, name="axivox-test-bus-pump"),
            threading.Thread(target=manager, name="axivox-test-manager"),
        ]
        for thread in threads:
            thread.start()
        try:
            self.start_tour(
                "/web", "voip_axivox_queue_softphone_tour", login="sofia", timeout=180
            )
        finally:
            stop.set()
            for thread in threads:
                thread.join(10)
        self.assertFalse(errors, errors)
        self.sim.flush()
        state = self.sim.state()
        self.assertFalse(
            [c for c in state["connections"] if c["extension"] == "102"],
            "Sofia is logged out of every queue on the PBX",
        )
        members = (self.member_sales_sofia | self.member_billing_sofia).sudo()
        members.invalidate_recordset()
        self.assertEqual(members.mapped("connected"), [False, False])
