"""End to end on a real PBX: a private Asterisk 22 and the gateway in front of it
(axivox_gateway), the addon unchanged. An agent logs in from the softphone, a real
caller is answered by her device, the report and the KPIs hold Asterisk's call, she
logs out, a manager deletes a queue: each step seen on both sides (Odoo, and Asterisk's
own CLI and queue_log).

The Asterisk build is the one ``ASTERISK_PREFIX`` names (scripts/setup_asterisk.sh;
scripts/test.sh sets it). Without one the class is skipped, except under CI, where it
fails.
"""
import os
import time
import unittest

from odoo.tests import HttpCase, tagged

from ..axivox_gateway.testing import AsteriskGateway, asterisk_prefix
from .common import WEBHOOK_SECRET, WEBHOOK_URL, AxivoxWorld

UNDER_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@tagged("post_install", "-at_install")
class TestAsterisk(AxivoxWorld, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not asterisk_prefix():
            if UNDER_CI:
                raise RuntimeError(
                    "No Asterisk build (ASTERISK_PREFIX): under CI the tests on a "
                    "real Asterisk must run."
                )
            raise unittest.SkipTest("no Asterisk build: ASTERISK_PREFIX is not set")
        # The gateway's webhooks are served by this process with the test's cursor:
        # they wait while the test works, and run while it waits (``wait``).
        cls.registry.test_lock.acquire()
        cls.addClassCleanup(cls.registry.test_lock.release)
        cls.setup_world()
        cls.env["axivox.account"].search([("id", "!=", cls.account.id)]).active = False
        cls.pbx = AsteriskGateway(
            webhook_url=cls.base_url() + WEBHOOK_URL % cls.token,
            webhook_secret=WEBHOOK_SECRET,
            webhook_backoff=0.1,
            webhook_timeout=60,
            talk="2",
        ).start()
        cls.addClassCleanup(cls.pbx.stop)
        cls.account.write({"api_url": cls.pbx.url, "api_key": cls.pbx.api_key})
        cls.client = cls.pbx.client()
        cls.addClassCleanup(cls.client.close)

    def setUp(self):
        super().setUp()
        self.pbx.reset()
        self.assertIsNone(self.account._sync_safely())
        self.sales = self.env["axivox.queue"].search(
            [("account_id", "=", self.account.id), ("remote_id", "=", "sales")]
        )
        self.assertTrue(self.sales, "the sync mirrors Asterisk's queues")

    def wait(self, condition, timeout=15.0):
        """``condition()``'s first true value within ``timeout`` seconds (else its
        last): between two looks, the webhooks waiting for the cursor run."""
        lock = self.registry.test_lock
        deadline = time.monotonic() + timeout
        while True:
            self.env.invalidate_all()
            value = condition()
            if value or time.monotonic() > deadline:
                return value
            lock.release()
            try:
                time.sleep(0.05)
            finally:
                lock.acquire()

    def member(self, queue, ext):
        return self.env["axivox.queue.member"].search(
            [("queue_id", "=", queue.id), ("user_id", "=", self.users[ext].id)]
        )

    def asterisk_members(self, queue_id):
        """The members Asterisk's own CLI lists for ``queue_id``."""
        output = self.pbx.cli("queue show %s" % queue_id)
        return {
            line.split()[0]
            for line in output.splitlines()
            if "(Local/" in line or "(PJSIP/" in line
        }

    def odoo_events(self, **domain):
        self.env.invalidate_all()
        return self.env["axivox.queue.event"].search(
            [("account_id", "=", self.account.id)]
            + [(k, "=", v) for k, v in domain.items()],
            order="id",
        )

    def test_agent_logs_in_takes_a_real_call_and_logs_out(self):
        luca = self.users["103"]
        member = self.member(self.sales, "103")
        self.assertFalse(member.connected)
        self.assertNotIn("103", self.asterisk_members("sales"))

        # She connects from the softphone: the code is dialed from her device.
        info = self.env["axivox.softphone"].with_user(luca).connect(member.id)
        self.assertEqual(info["outcome"], "logged_in", info)
        self.assertIn("103", self.asterisk_members("sales"))
        self.assertTrue(
            self.wait(lambda: self.member(self.sales, "103").connected),
            "Odoo shows her connected from Asterisk's ADDMEMBER",
        )
        added = self.odoo_events(event_type="ADDMEMBER", agent_extension="103")
        self.assertEqual(len(added), 1)
        self.assertEqual(added.source, "webhook")

        # Only she may take the call: the others of Sales leave, Mitchell (static)
        # stops being a member.
        self.client.disconnect_agent("sales", "102")
        queue = self.client.get_queue("sales")
        self.client.update_queue(
            "sales", {"static_agents": []}, version=queue["version"]
        )
        self.assertEqual(self.asterisk_members("sales"), {"103"})

        # A real caller dials the queue's extension; her device answers.
        self.assertEqual(
            self.pbx.place_callers("600", patience=(30, 30), talk=(1, 1)), 1
        )
        ended = self.wait(
            lambda: self.odoo_events(event_type="COMPLETECALLER")
            or self.odoo_events(event_type="COMPLETEAGENT"),
            timeout=30,
        )
        self.assertTrue(ended, "the call's end reached Odoo")
        call_id = ended.call_id
        lines = [
            line.split("|")
            for line in self.pbx.queue_log_lines()
            if line.split("|")[1:2] == [call_id]
        ]
        self.assertTrue(call_id and "." in call_id, "Asterisk's uniqueid")
        self.assertEqual(
            [x[4] for x in lines], ["ENTERQUEUE", "CONNECT", ended.event_type]
        )
        events = self.odoo_events(call_id=call_id)
        self.assertEqual(
            events.mapped("event_type"), ["ENTERQUEUE", "CONNECT", ended.event_type]
        )
        connect = events.filtered(lambda e: e.event_type == "CONNECT")
        self.assertEqual(connect.agent_extension, "103")
        self.assertEqual(connect.agent_user_id, luca)
        self.assertTrue(events[0].caller_number.startswith("+3225"))
        self.env.invalidate_all()
        self.assertEqual(self.sales.kpi_today_offered, 1)
        self.assertEqual(self.sales.kpi_today_answered, 1)

        # She disconnects from the softphone: Asterisk no longer lists her.
        info = self.env["axivox.softphone"].with_user(luca).disconnect(member.id)
        self.assertEqual(info["outcome"], "logged_out", info)
        self.assertNotIn("103", self.asterisk_members("sales"))
        self.assertTrue(
            self.wait(lambda: not self.member(self.sales, "103").connected),
            "Odoo shows her disconnected from Asterisk's REMOVEMEMBER",
        )

    def test_manager_deletes_a_queue(self):
        billing = self.env["axivox.queue"].search(
            [("account_id", "=", self.account.id), ("remote_id", "=", "billing")]
        )
        self.pbx.place_callers("620", patience=(2, 2), talk=(1, 1))
        self.assertTrue(
            self.wait(lambda: self.odoo_events(queue_id=billing.id), timeout=20),
            "a call of Billing reached the report",
        )
        self.assertIn("billing has", self.pbx.cli("queue show billing"))
        billing.with_user(self.manager).unlink()
        self.assertNotIn("billing has", self.pbx.cli("queue show billing"))
        self.assertNotIn("billing", {q["id"] for q in self.client.list_queues()})
        history = self.odoo_events(queue_name="Billing")
        self.assertTrue(history, "the report keeps the deleted queue's calls")
        self.assertFalse(history.queue_id)
