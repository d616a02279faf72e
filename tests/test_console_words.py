"""The console's words and live call state, and a manager's tour: errors say
what happened and what to do, the call state follows the PBX, the console in Chromium.
Against the simulator on 127.0.0.1."""


from odoo.exceptions import UserError
from odoo.tests import HttpCase, TransactionCase, tagged
from odoo.tools import mute_logger

from ..demo.traffic import generate_week
from .common import PbxQueuesWorld, SimulatedWorld
from .test_console import QUIET, UNREACHABLE


@tagged("post_install", "-at_install")
class TestErrorWords(SimulatedWorld, TransactionCase):
    """10. Errors say what happened and what to do: no URL, no chain, no status code."""

    @mute_logger(*QUIET)
    def test_messages(self):
        member = self.env["axivox.queue.member"]
        self.assertIsNone(self.account._sync_safely())
        sales = self.env["axivox.queue"].search(
            [("remote_id", "=", "sales"), ("account_id", "=", self.account.id)]
        )
        member = sales.member_ids.filtered(
            lambda m: m.user_id.axivox_extension == "103"
        )
        cases = [
            ("unreachable", {"api_url": "http://127.0.0.1:9"}, {}, UNREACHABLE),
            (
                "refused key",
                {"api_key": "wrong"},
                {},
                "The PBX refused Odoo's API key. Ask your administrator to check the"
                " PBX account.",
            ),
            (
                "down",
                {},
                {"error_paths": ["/agents/"]},
                "The PBX is not working right now. Try again in a few minutes; if it"
                " lasts, ask your administrator to check the PBX account.",
            ),
            (
                "busy",
                {},
                {"rate_limit": 10, "retry_after": 120},
                "The PBX is busy. Try again in a minute.",
            ),
        ]
        saved = {"api_url": self.account.api_url, "api_key": self.account.api_key}
        for why, account_vals, faults, expected in cases:
            with self.subTest(why):
                self.account.write(dict(saved, **account_vals))
                self.sim.faults(**faults)
                with self.assertRaises(UserError) as caught:
                    member.with_user(self.manager).action_connect()
                message = str(caught.exception)
                self.assertEqual(message, expected)
                for bad in (
                    "http",
                    "127.0.0.1",
                    "answered:",
                    "HTTP",
                    "503",
                    "429",
                    "wrong",
                ):
                    self.assertNotIn(bad, message)
                self.assertFalse(member.connected)
        self.sim.faults()
        self.account.write(saved)
        # The sync records the same words on the account (the log keeps the details).
        self.account.api_url = "http://127.0.0.1:9"
        error = self.account._sync_safely()
        self.assertEqual(self.account.last_error, UNREACHABLE)
        self.assertIn(UNREACHABLE, error)


@tagged("post_install", "-at_install")
class TestCallState(SimulatedWorld, TransactionCase):
    """8. The panel follows a call's real state: the server reads it from the PBX."""

    def test_call_state_follows_the_pbx(self):
        Softphone = self.env["axivox.softphone"]
        sofia = Softphone.with_user(self.users["102"])
        call = sofia.dial("103")
        self.assertEqual(call["state"], "ringing")
        self.assertEqual(sofia.call_state(call["id"])["state"], "ringing")
        self.sim.set_call_state(call["id"], "answered")
        self.assertEqual(sofia.call_state(call["id"])["state"], "answered")
        self.sim.set_call_state(call["id"], "ended")
        info = sofia.call_state(call["id"])
        self.assertEqual(
            (info["id"], info["to"], info["state"]), (call["id"], "103", "ended")
        )
        # A code call: the PBX plays its message and hangs up by itself.
        code = sofia.dial("*610")
        self.assertEqual(code["outcome"], "not_a_member")
        self.assertEqual(sofia.call_state(code["id"])["state"], "ended")
        # Only one's own calls.
        with self.assertRaises(UserError) as caught:
            Softphone.with_user(self.users["103"]).call_state(call["id"])
        self.assertEqual(str(caught.exception), "You can only follow your own calls.")
        with self.assertRaisesRegex(UserError, "^There is no call to follow.$"):
            sofia.call_state(False)


@tagged("post_install", "-at_install")
class TestConsoleTour(PbxQueuesWorld, HttpCase):
    """The manager's tour: disconnect from the dashboard, the report page with a preset
    and an export, delete (on the PBX too), against the simulator."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The report page shows the lines of the last 7 days: a day of traffic.
        generate_week(cls.env, cls.account, days=1)

    def test_tour(self):
        billing_events = self.env["axivox.queue.event"].search_count(
            [("queue_id", "=", self.billing.id)]
        )
        self.start_tour(
            "/web",
            "voip_axivox_queue_console_tour",
            login=self.manager.login,
            timeout=180,
        )
        state = self.sim.state()
        self.assertNotIn(
            "billing", [q["id"] for q in state["queues"]], "deleted on the PBX"
        )
        self.assertFalse(
            [
                c
                for c in state["connections"]
                if c["queue_id"] == "support" and c["extension"] == "105"
            ],
            "Hugo is disconnected from Support on the PBX",
        )
        self.assertFalse(self.billing.exists())
        self.assertEqual(
            self.env["axivox.queue.event"].search_count(
                [("queue_name", "=", "Billing"), ("queue_id", "=", False)]
            ),
            billing_events,
            "Billing's report history stays",
        )
        self.assertFalse(self.hugo_support.connected)
