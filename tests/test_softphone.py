"""The softphone in the systray: its server methods, its QUnit tests and a tour.

They use the simulator's world (``PbxQueuesWorld``: Sofia=102, Luca=103, Mitchell=100
and the Sales / Support / Billing queues of ``axivox_simulator/data/demo.json``), built
through the ORM, on the reference PBX simulator.
"""
import threading
import time
import xmlrpc.client

import odoo
from odoo.exceptions import UserError, ValidationError
from odoo.tests import HttpCase, TransactionCase, tagged

from .common import PbxQueuesWorld, PbxTourWorld


def _connected(sim, queue_id, extension):
    return any(
        c["queue_id"] == queue_id and c["extension"] == extension
        for c in sim.state()["connections"]
    )


@tagged("post_install", "-at_install")
class TestSoftphoneServer(PbxQueuesWorld, TransactionCase):
    """The server methods the softphone calls, as the agent calls them."""

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

    def _both_refused(self, user, member, message):
        """``user`` can neither connect nor disconnect ``member``: ``message`` says
        why."""
        Softphone = self.env["axivox.softphone"].with_user(user)
        for method in (Softphone.connect, Softphone.disconnect):
            with self.subTest(method.__name__), self.assertRaisesRegex(
                UserError, message
            ):
                method(member.id)

    def test_only_her_own_memberships(self):
        self._both_refused(self.sofia, self.member_sales_luca, "only log yourself")
        self.assertFalse(_connected(self.sim, "sales", "103"))
        self.assertFalse(self.sim.state()["calls"], "nothing was dialed")

    def test_static_agent(self):
        self._both_refused(self.admin, self.member_sales_admin, "static agent")
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
            state,
            {
                "extension": False,
                "queues": [],
                "connected_queue_count": 0,
                "sip": False,
            },
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
        with self.assertRaisesRegex(ValidationError, "“call me” is not a dial string"):
            Softphone.dial("call me")
        with self.assertRaisesRegex(ValidationError, "“1{21}” is not a dial string"):
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
class TestSoftphoneTour(PbxTourWorld, HttpCase):
    """The softphone end to end: Odoo, the simulator, its webhooks, the bus,
    Chromium."""

    sim_options = {"webhook_backoff": 0.2}

    def setUp(self):
        super().setUp()
        self.deliver_webhooks_here()

    def test_session_info(self):
        self.authenticate(self.sofia.login, self.sofia.login)
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
        self.assertIs(info["axivox_phone_widget"], False)

    def test_session_info_names_odoos_own_voip_widget(self):
        """Where Odoo's own VoIP module is installed, the web client is told (the
        softphone then shows no second phone icon); one not installed does not
        count."""
        Module = self.env["ir.module.module"].sudo()
        voip_oca = Module.search([("name", "=", "voip_oca")]) or Module.create(
            {"name": "voip_oca", "state": "uninstalled"}
        )
        self.authenticate(self.sofia.login, self.sofia.login)
        info = self.make_jsonrpc_request("/web/session/get_session_info", {})
        self.assertIs(info["axivox_phone_widget"], False)
        voip_oca.state = "installed"
        info = self.make_jsonrpc_request("/web/session/get_session_info", {})
        self.assertEqual(info["axivox_phone_widget"], "voip_oca")

    def test_tour(self):
        stop = threading.Event()
        errors = []
        # Read here: the manager's thread must not touch the test's cursor.
        db, member_id = self.env.cr.dbname, self.member_billing_sofia.id
        manager_id, password = self.manager.id, self.manager.login

        def manager():
            """When Sofia, connected to Billing, dials 0470, a manager disconnects
            her."""
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
                    db,
                    manager_id,
                    password,
                    "axivox.queue.member",
                    "action_disconnect",
                    [[member_id]],
                )
            except Exception as exc:  # reported by the test below
                errors.append(exc)

        self.run_tour(
            "voip_axivox_queue_softphone_tour", self.sofia.login, stop, manager
        )
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
