"""A PBX call happens once per user action, also when Odoo runs the action again after
a serialization failure (``odoo.service.model.retrying``, as for every RPC): the PBX
is slowed down, and while Odoo waits for it another transaction changes and commits
the record the action writes next. The simulator's request log counts the calls."""

import functools
import threading
import time

from werkzeug.test import EnvironBuilder

from odoo import SUPERUSER_ID, api
from odoo.exceptions import UserError
from odoo.http import HTTPRequest, Request, _request_stack
from odoo.service.model import retrying
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..transactions import EVENTS_LOCK
from .common import event, wait_for
from .test_concurrency import QUIET, RealTransactionsCase


class PbxCallsCase(RealTransactionsCase):
    """Runs an action as Odoo runs an RPC, and counts the PBX's requests."""

    def pbx_calls(self, method, path):
        return [
            r
            for r in self.sim.requests_log()
            if r["method"] == method and r["path"] == "/api/v1" + path
        ]

    def run_action(self, uid, action, method, path, concurrent_sql, params=()):
        """Run ``action(env)`` as Odoo runs an RPC (``retrying``, then commit) with the
        PBX slowed down; as soon as the PBX has received ``method path``, another
        transaction runs ``concurrent_sql`` and commits. Returns the action's result,
        or the error it raised."""
        self.sim.clear_requests()
        self.sim.faults(latency_ms=1500)
        self.addCleanup(self.sim.faults)
        done = threading.Event()

        def concurrent():
            if wait_for(lambda: done.is_set() or self.pbx_calls(method, path), 20):
                if not done.is_set():
                    self.sql_commit(concurrent_sql, params)

        thread = threading.Thread(target=concurrent, name="axivox-test-concurrent")
        thread.start()
        try:
            with self.registry.cursor() as cr:
                env = api.Environment(cr, uid, {})
                try:
                    return retrying(functools.partial(action, env), env)
                except UserError as exc:
                    return exc
        finally:
            done.set()
            thread.join(30)

    def sql_commit(self, query, params=()):
        with self.registry.cursor() as cr:
            cr.execute(query, params)


@tagged("post_install", "-at_install")
class TestPbxCallsOnce(PbxCallsCase):
    def setUp(self):
        super().setUp()
        self.assertIsNone(self.sync())
        self.sales_id = self.sql(
            "SELECT id FROM axivox_queue WHERE account_id = %s AND remote_id = 'sales'",
            [self.account_id],
        )[0][0]

    # ------------------------------------------------------------------ apply
    @mute_logger(*QUIET, "odoo.service.model")
    def test_apply_changes_updates_the_queue_once(self):
        with self.registry.cursor() as cr:
            self.real_env(cr)["axivox.queue"].browse(self.sales_id).max_wait_time = 121
        result = self.run_action(
            SUPERUSER_ID,
            lambda env: env["axivox.queue"]
            .browse(self.sales_id)
            .action_apply_changes(),
            "PUT",
            "/queues/sales",
            "UPDATE axivox_queue SET write_date = now() WHERE id = %s",
            [self.sales_id],
        )
        self.assertEqual(len(self.pbx_calls("PUT", "/queues/sales")), 1)
        self.assertEqual(len(self.pbx_calls("POST", "/apply")), 1)
        self.assertIs(result, True, "the manager is told it was applied")
        version = self.pbx.get_queue("sales")["version"]
        self.assertEqual(
            self.sql(
                "SELECT max_wait_time, pbx_version, pending_changes FROM axivox_queue"
                " WHERE id = %s",
                [self.sales_id],
            ),
            [(121, version, False)],
        )

    @mute_logger(*QUIET, "odoo.service.model")
    def test_apply_changes_creates_the_queue_once(self):
        with self.registry.cursor() as cr:
            queue = self.real_env(cr)["axivox.queue"].create(
                {
                    "name": f"Once {self.tag}",
                    "account_id": self.account_id,
                    "extension": "650",
                    "login_code": "*650",
                    "logout_code": "#650",
                }
            )
            queue_id = queue.id
        result = self.run_action(
            SUPERUSER_ID,
            lambda env: env["axivox.queue"].browse(queue_id).action_apply_changes(),
            "POST",
            "/queues",
            "UPDATE axivox_queue SET write_date = now() WHERE id = %s",
            [queue_id],
        )
        self.assertEqual(len(self.pbx_calls("POST", "/queues")), 1)
        self.assertIs(result, True)
        on_pbx = [q for q in self.pbx.list_queues() if q["extension"] == "650"]
        self.assertEqual(len(on_pbx), 1, "one queue on the PBX")
        self.assertEqual(
            self.sql("SELECT remote_id FROM axivox_queue WHERE id = %s", [queue_id]),
            [(on_pbx[0]["id"],)],
        )

    # ------------------------------------------------------------------ softphone
    def member_id(self, queue, ext):
        return self.sql(
            "SELECT m.id FROM axivox_queue_member m JOIN axivox_queue q"
            " ON q.id = m.queue_id WHERE q.account_id = %s AND q.remote_id = %s"
            " AND m.user_id = %s",
            [self.account_id, queue, self.users[ext]],
        )[0][0]

    @mute_logger(*QUIET, "odoo.service.model")
    def test_softphone_connect_dials_once(self):
        member_id = self.member_id("sales", "101")
        result = self.run_action(
            self.users["101"],
            lambda env: env["axivox.softphone"].connect(member_id),
            "POST",
            "/calls",
            "UPDATE axivox_queue_member SET write_date = now() WHERE id = %s",
            [member_id],
        )
        self.assertEqual(len(self.pbx_calls("POST", "/calls")), 1)
        self.assertEqual(result["outcome"], "logged_in")
        self.assertEqual(
            self.sql(
                "SELECT login_intent, login_intent_connect FROM axivox_queue_member"
                " WHERE id = %s",
                [member_id],
            ),
            [("widget", True)],
        )

    @mute_logger(*QUIET, "odoo.service.model")
    def test_softphone_disconnect_all_dials_once(self):
        # 102 is connected to Sales (the simulator's data), and to Billing now
        self.pbx.connect_agent("billing", "102")
        self.assertIsNone(self.sync())
        members = [self.member_id(q, "102") for q in ("sales", "billing")]
        result = self.run_action(
            self.users["102"],
            lambda env: env["axivox.softphone"].disconnect_all(),
            "POST",
            "/calls",
            "UPDATE axivox_queue_member SET write_date = now() WHERE id = ANY(%s)",
            [members],
        )
        self.assertEqual(len(self.pbx_calls("POST", "/calls")), 2, "one a queue")
        self.assertEqual([i["outcome"] for i in result], ["logged_out"] * 2)


@tagged("post_install", "-at_install")
class TestAutoLogoutLock(RealTransactionsCase):
    @mute_logger(*QUIET)
    def test_end_of_day_logout_holds_no_lock_while_the_pbx_answers(self):
        self.pbx.connect_agent("sales", "101")
        self.assertIsNone(self.sync())
        self.sql_commit(
            "UPDATE axivox_account SET auto_logout = true, auto_logout_time = 0,"
            " auto_logout_tz = 'UTC' WHERE id = %s",
            [self.account_id],
        )
        self.sim.faults(latency_ms=1500)
        self.addCleanup(self.sim.faults)

        def logout():
            with self.registry.cursor() as cr:
                self.real_env(cr)["axivox.account"]._cron_auto_logout()

        thread = threading.Thread(target=logout, name="axivox-test-logout")
        thread.start()
        try:
            self.assertTrue(
                wait_for(lambda: len(self.disconnects()) >= 2, 20),
                "the PBX is asked to disconnect the second agent",
            )
            with self.registry.cursor() as cr:
                cr.execute(
                    "SELECT pg_try_advisory_xact_lock(%s, %s)",
                    [EVENTS_LOCK, self.account_id],
                )
                free = cr.fetchone()[0]
        finally:
            thread.join(60)
        self.assertTrue(free, "webhooks of the account are not kept waiting")
        self.assertEqual(len(self.disconnects()), 3)
        connected = self.sql(
            "SELECT count(*) FROM axivox_queue_member m JOIN axivox_queue q"
            " ON q.id = m.queue_id WHERE q.account_id = %s AND m.connected"
            " AND m.member_type = 'dynamic'",
            [self.account_id],
        )
        self.assertEqual(connected, [(0,)], "the states are applied")
        self.assertTrue(
            self.sql(
                "SELECT auto_logout_last_date FROM axivox_account WHERE id = %s",
                [self.account_id],
            )[0][0]
        )

    def disconnects(self):
        return [
            r
            for r in self.sim.requests_log()
            if r["method"] == "POST" and r["path"].endswith("/disconnect")
        ]

    def sql_commit(self, query, params=()):
        with self.registry.cursor() as cr:
            cr.execute(query, params)


@tagged("post_install", "-at_install")
class TestPadCallOnce(PbxCallsCase):
    @mute_logger(*QUIET, "odoo.service.model", "odoo.sql_db")
    def test_a_call_from_the_pad_is_placed_once(self):
        """The caller has an open callback, closed when the agent's call is answered:
        the callback changed meanwhile, Odoo serves the RPC again, and the PBX is not
        asked to call her a second time."""
        self.assertIsNone(self.sync())
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        common = {"call_id": f"cb-{self.tag}", "caller_number": "+3225553333"}
        self.deliver(
            [
                event(f"cb-e-{self.tag}", "ENTERQUEUE", at=now, **common),
                event(f"cb-a-{self.tag}", "ABANDON", at=now, wait_time=30, **common),
            ]
        )()
        self.assertEqual(self.open_callbacks(), 1)
        environ = EnvironBuilder(
            path="/web/dataset/call_kw", method="POST"
        ).get_environ()
        _request_stack.push(Request(HTTPRequest(environ)))
        self.addCleanup(_request_stack.pop)
        result = self.run_action(
            self.users["101"],
            lambda env: env["axivox.softphone"].dial("+3225553333"),
            "POST",
            "/calls",
            "UPDATE axivox_callback SET write_date = now() WHERE number = %s",
            ["+3225553333"],
        )
        self.assertEqual(len(self.pbx_calls("POST", "/calls")), 1)
        self.assertEqual(result["to"], "+3225553333")
        self.assertEqual(self.open_callbacks(), 0, "her callback is closed")

    def open_callbacks(self):
        return self.sql(
            "SELECT count(*) FROM axivox_callback WHERE account_id = %s"
            " AND state IN ('open', 'claimed')",
            [self.account_id],
        )[0][0]
