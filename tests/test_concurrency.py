"""Two transactions at once, for real: these tests commit their own data (and remove
it), and run webhooks, syncs and the cron in independent transactions, in threads."""
import json
import logging
import select
import socket
import subprocess
import threading
import time
import uuid

import psycopg2
import requests

from odoo import SUPERUSER_ID, api, sql_db
from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger

from ..models.bus_messages import send_many
from ..transactions import own_transaction
from .common import (
    DEMO_DATA,
    WEBHOOK_SECRET,
    WEBHOOK_URL,
    event,
    signed,
    start_simulator,
)
from .test_robustness import serve_webhook

_logger = logging.getLogger(__name__)
QUIET = (
    "odoo.addons.voip_axivox_queue.models.axivox_account",
    "odoo.addons.voip_axivox_queue.models.axivox_account_sync",
    "odoo.addons.voip_axivox_queue.models.axivox_account_auto_logout",
    "odoo.addons.voip_axivox_queue.axivox_api.client",
)


class RealTransactionsCase(TransactionCase):
    """The fixtures of the tests that commit: an account of their own on the
    simulator, its users, helpers to run transactions at once and processes."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sim = start_simulator(cls)
        cls.pbx = cls.sim.client()

    def setUp(self):
        super().setUp()
        self.sim.reset()
        self.tag = uuid.uuid4().hex[:8]
        self.accounts = []
        self.user_ids = []
        self.bus_start = self.sql("SELECT coalesce(max(id), 0) FROM bus_bus")[0][0]
        self.addCleanup(self.drop_world)
        self.account_id = self.commit_account(self.sim.url, with_users=True)

    # ------------------------------------------------------------------ fixtures
    def real_env(self, cr):
        return api.Environment(cr, SUPERUSER_ID, {})

    def add_sales_member(self, env, ext):
        """``ext`` made a dynamic member of the account's Sales in ``env``'s
        transaction, written but not committed."""
        queue = env["axivox.queue"].search(
            [("account_id", "=", self.account_id), ("remote_id", "=", "sales")]
        )
        env["axivox.queue.member"].with_context(axivox_no_pending_change=True).create(
            {"queue_id": queue.id, "user_id": self.users[ext], "member_type": "dynamic"}
        )
        env.flush_all()

    def commit_account(self, url, with_users=False):
        with self.registry.cursor() as cr:
            env = self.real_env(cr)
            account = env["axivox.account"].create(
                {
                    "name": f"Concurrency PBX {self.tag} {len(self.accounts)}",
                    "api_url": url,
                    "api_key": self.sim.api_key,
                    # one secret an account
                    "webhook_secret": WEBHOOK_SECRET
                    + (f"-{len(self.accounts)}" if self.accounts else ""),
                }
            )
            self.accounts.append(account.id)
            if with_users:
                with open(DEMO_DATA, encoding="utf-8") as fh:
                    demo = json.load(fh)
                group = env.ref("voip_axivox_queue.group_axivox_agent")
                self.users = {}
                for pbx_user in demo["users"]:
                    user = (
                        env["res.users"]
                        .with_context(no_reset_password=True)
                        .create(
                            {
                                "name": pbx_user["name"],
                                "login": f"conc_{self.tag}_{pbx_user['extension']}",
                                "groups_id": [
                                    (6, 0, [env.ref("base.group_user").id, group.id])
                                ],
                                "axivox_account_id": account.id,
                                "axivox_extension": pbx_user["extension"],
                            }
                        )
                    )
                    self.users[pbx_user["extension"]] = user.id
                    self.user_ids.append(user.id)
            return account.id

    def drop_world(self):
        with self.registry.cursor() as cr:
            # the notifications these tests committed would be read by the other tests
            cr.execute("DELETE FROM bus_bus WHERE id > %s", [self.bus_start])
            cr.execute(
                "DELETE FROM axivox_queue WHERE account_id IN %s",
                [tuple(self.accounts)],
            )
            cr.execute(
                "DELETE FROM axivox_account WHERE id IN %s", [tuple(self.accounts)]
            )
            env = self.real_env(cr)
            users = env["res.users"].browse(self.user_ids).exists()
            users.write(
                {"active": False, "axivox_account_id": False, "axivox_extension": False}
            )

    def sql(self, query, params=()):
        with self.registry.cursor() as cr:
            cr.execute(query, params)
            return cr.fetchall()

    def stored(self, account_id=None):
        """{pbx event id: rows} of the account, committed."""
        return dict(
            self.sql(
                "SELECT pbx_event_id, count(*) FROM axivox_queue_event"
                " WHERE account_id = %s GROUP BY 1",
                [account_id or self.account_id],
            )
        )

    def feed(self):
        ids, cursor, more = [], None, True
        while more:
            events, cursor, more = self.pbx.events_since(cursor, limit=1000)
            ids += events
        return ids, cursor

    def sync(self, account_id=None):
        with self.registry.cursor() as cr:
            account = self.real_env(cr)["axivox.account"].browse(
                account_id or self.account_id
            )
            return account._sync_committed()

    def run_at_once(self, *functions):
        """Run ``functions`` in threads started together; returns their results (or the
        exceptions they raised)."""
        barrier = threading.Barrier(len(functions))
        results = [None] * len(functions)

        def run(index, function):
            barrier.wait()
            try:
                results[index] = function()
            except Exception as exc:  # reported by the assertions of the test
                results[index] = exc

        threads = [
            threading.Thread(target=run, args=(i, f)) for i, f in enumerate(functions)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        return results

    def deliver(self, items, defer=False):
        """A webhook delivery, ingested in its own transaction (as the controller
        does; it passes ``defer``)."""

        def go():
            with self.registry.cursor() as cr:
                env = self.real_env(cr)
                account = env["axivox.account"].browse(self.account_id)
                return env["axivox.event.intake"]._take_in_committed(
                    account, items, "webhook", defer=defer
                )

        return go

    def abandons(self, prefix, numbers):
        """ABANDON events of calls ``prefix`` + each number, dated now."""
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        return [
            event(f"{prefix}-{self.tag}-{n}", "ABANDON", call_id=f"{prefix}{n}", at=now)
            for n in numbers
        ]

    def store_together(self, *batches):
        """Store ``batches`` for an applier (which holds its lock, or waits for it) in
        one committed transaction."""
        with self.registry.cursor() as cr:
            env = self.real_env(cr)
            account = env["axivox.account"].browse(self.account_id)
            for batch in batches:
                self.assertTrue(
                    env["axivox.queue.event.inbox"]._store_if_applier(account, batch)
                )

    def start_command(self, name, *args):
        """Start ``odoo-bin *args`` on this database in a process of its own (stopped
        at the end of the test); its log is in ``process.logfile``."""
        import os
        import sys
        import tempfile

        import odoo
        from odoo.tools import config

        odoo_bin = os.path.join(os.path.dirname(odoo.__path__[0]), "odoo-bin")
        logfile = os.path.join(tempfile.mkdtemp(prefix="axivox-cmd-"), f"{name}.log")
        # --addons-path first: Odoo finds the addons' commands with it
        args = [
            sys.executable,
            odoo_bin,
            f"--addons-path={config['addons_path']}",
            *args,
            "-d",
            self.env.cr.dbname,
            "--logfile",
            logfile,
            "--log-level",
            "info",
        ]
        for option in ("db_host", "db_port", "db_user", "db_password"):
            if config.get(option):
                args += [f"--{option}", str(config[option])]
        process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

        def stop():
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)

        self.addCleanup(stop)
        process.logfile = logfile
        return process

    def signal_module_update(self):
        """Tell the other processes that the registry changed, as a module update does
        (Odoo's registry signaling). This process changed nothing: it is not told."""
        sequence = self.sql("SELECT nextval('base_registry_signaling')")[0][0]
        self.registry.registry_sequence = sequence

    def stop_cleanly(self, process):
        """SIGTERM ``process``; its exit code (None when it did not exit in time)."""
        process.terminate()
        try:
            return process.wait(30)
        except subprocess.TimeoutExpired:
            return None

    def wait(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.1)
        return predicate()

    def log(self, process):
        try:
            with open(process.logfile, encoding="utf-8") as fh:
                return fh.read()
        except FileNotFoundError:
            return ""


@tagged("post_install", "-at_install")
class TestRealTransactions(RealTransactionsCase):
    def test_deliveries_at_once_create_the_member_once(self):
        self.assertIsNone(self.sync())
        members = {(a["queue_id"], a["extension"]) for a in self.pbx.list_agents()}
        ext = next(e for e in sorted(self.users) if ("sales", e) not in members)
        now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        login = event(
            f"c-login-{self.tag}", "ADDMEMBER", agent_extension=ext, at=now + ".100Z"
        )
        batches = [
            [
                login,
                event(
                    f"c-{self.tag}-{n}",
                    "ENTERQUEUE",
                    call_id=f"call{n}",
                    at=now + ".200Z",
                ),
            ]
            for n in range(4)
        ]
        results = self.run_at_once(*(self.deliver(batch) for batch in batches))
        self.assertFalse([r for r in results if isinstance(r, Exception)], results)
        # The login is applied by one delivery and acknowledged by the three others
        self.assertEqual(sorted(r["applied"] for r in results), [1, 1, 1, 2])
        self.assertEqual(sum(r["duplicates"] for r in results), 3)
        rows = self.sql(
            "SELECT connected, last_source FROM axivox_queue_member m "
            "JOIN axivox_queue q ON q.id = m.queue_id WHERE q.account_id = %s "
            "AND q.remote_id = 'sales' AND m.user_id = %s",
            [self.account_id, self.users[ext]],
        )
        self.assertEqual(rows, [(True, "pbx")], "a dynamic member, connected")
        self.assertLessEqual(
            {login["id"]} | {f"c-{self.tag}-{n}" for n in range(4)}, set(self.stored())
        )

    @mute_logger("odoo.sql_db")
    def test_conflict_is_answered_503_then_the_retry_succeeds(self):
        """Another transaction creates the same member at the same moment: the delivery
        is answered 503 with Retry-After (the PBX retries 5xx, never 4xx); the retry
        passes."""
        self.assertIsNone(self.sync())
        members = {(a["queue_id"], a["extension"]) for a in self.pbx.list_agents()}
        ext = next(e for e in sorted(self.users) if ("sales", e) not in members)
        body = json.dumps(
            event(
                f"k-{self.tag}",
                "ADDMEMBER",
                agent_extension=ext,
                at=time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            )
        )
        body = body.encode()
        with self.registry.cursor() as other:
            self.add_sales_member(self.real_env(other), ext)
            with self.registry.cursor() as cr:
                token = (
                    self.real_env(cr)["axivox.account"]
                    .browse(self.account_id)
                    .webhook_token
                )
                serve = serve_webhook(self.real_env(cr), token, body, signed(body))
                answers = []
                thread = threading.Thread(target=lambda: answers.append(serve()))
                thread.start()
                # the delivery waits for the other transaction's row
                self.assertTrue(
                    self.wait(
                        lambda: self.sql(
                            "SELECT count(*) FROM pg_stat_activity"
                            " WHERE datname = current_database()"
                            " AND wait_event_type = 'Lock'"
                        )[0][0],
                        10,
                    ),
                    "the delivery waits for the other transaction",
                )
                other.commit()
                thread.join(30)
                self.assertEqual(answers[0].status_code, 503, answers[0].get_data())
                self.assertEqual(answers[0].headers.get("Retry-After"), "2")
                self.assertFalse(
                    self.stored(), "nothing stored by the refused delivery"
                )
                retry = serve()
                self.assertEqual(retry.status_code, 200, retry.get_data())
                self.assertEqual(json.loads(retry.get_data())["applied"], 1)

    def test_sync_under_live_webhooks(self):
        """Webhooks commit the events the sync is backfilling, while it runs: no
        serialization failure, the sync is in sync, the cursor is the PBX's, every event
        once."""
        self.sim.traffic(seed=11, calls=60)
        events, last_cursor = self.feed()
        self.sim.faults(latency_ms=150)
        chunks = [events[i::3] for i in range(3)]

        def webhooks(chunk):
            def go():
                for start in range(0, len(chunk), 20):
                    self.deliver(chunk[start : start + 20])()
                    time.sleep(0.02)
                return True

            return go

        results = self.run_at_once(self.sync, *(webhooks(c) for c in chunks))
        self.sim.faults()
        self.assertEqual(results, [None, True, True, True])
        state = self.sql(
            "SELECT sync_state, event_cursor FROM axivox_account WHERE id = %s",
            [self.account_id],
        )
        self.assertEqual(state, [("ok", last_cursor)])
        stored = self.stored()
        self.assertEqual(
            set(stored), {e["id"] for e in events}, "none missing, none extra"
        )
        self.assertEqual(set(stored.values()), {1}, "none twice")

    def test_sync_finding_another_running_says_so(self):
        with self.registry.cursor() as other:
            other.execute(
                "SELECT id FROM axivox_account WHERE id = %s FOR UPDATE",
                [self.account_id],
            )
            with self.registry.cursor() as cr:
                account = self.real_env(cr)["axivox.account"].browse(self.account_id)
                result = account.action_sync_now()
            message = result["params"]["message"]
            self.assertIn("already running", message)
            self.assertNotIn("in sync", message)

    def test_delivery_stored_while_a_sync_locks_and_writes_the_account(self):
        """While an applier runs, a delivery is stored in the request's own transaction
        (REPEATABLE READ, as Odoo's): its row's foreign key locks the account row (KEY
        SHARE). A sync that locks the account and writes it after that transaction began
        must not make the delivery fail: the sync's lock is FOR NO KEY UPDATE."""
        from ..transactions import APPLY_LOCK

        with self.registry.cursor() as lock_cr:
            lock_cr.execute("SELECT pg_advisory_lock(%s, 0)", [APPLY_LOCK])
            try:
                with self.registry.cursor() as request_cr:
                    env = self.real_env(request_cr)
                    account = env["axivox.account"].browse(self.account_id)
                    request_cr.execute("SELECT 1")  # its snapshot is taken here
                    self.assertIsNone(self.sync())  # locks, writes and commits
                    result = env["axivox.event.intake"]._take_in_committed(
                        account, [event(f"s-{self.tag}", "ABANDON")], "webhook", True
                    )
                self.assertEqual(result, {"queued": 1})
            finally:
                lock_cr.execute("SELECT pg_advisory_unlock(%s, 0)", [APPLY_LOCK])
        self.assertEqual(
            self.sql(
                "SELECT count(*) FROM axivox_queue_event_inbox WHERE account_id = %s",
                [self.account_id],
            ),
            [(1,)],
        )

    def test_same_bad_event_in_deliveries_at_once_while_an_applier_runs(self):
        """The PBX sends a delivery twice at once, with a bad event in it, while an
        applier runs: both are answered, the good events stored twice for the applier
        (applied once), the bad one quarantined once."""
        from ..transactions import APPLY_LOCK

        now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        items = [
            event(f"b-{self.tag}", "ABANDON", at=now),
            event(f"x-{self.tag}", "ENTERQUEUE", position=-1, at=now),
        ]
        with self.registry.cursor() as lock_cr:
            lock_cr.execute("SELECT pg_advisory_lock(%s, 0)", [APPLY_LOCK])
            try:
                results = self.run_at_once(
                    *(self.deliver(items, defer=True) for _ in range(4))
                )
            finally:
                lock_cr.execute("SELECT pg_advisory_unlock(%s, 0)", [APPLY_LOCK])
        self.assertEqual(results, [{"queued": 1, "quarantined": 1}] * 4)
        kept = self.sql(
            "SELECT pbx_event_id, source, reason FROM axivox_queue_event_quarantine"
            " WHERE account_id = %s",
            [self.account_id],
        )
        self.assertEqual([row[:2] for row in kept], [(f"x-{self.tag}", "webhook")])
        self.assertIn("position", kept[0][2])

    def test_own_transaction_commits_apart_and_reads_what_others_commit(self):
        """A transaction of its own: committed whatever its caller does after, and
        reading at each statement what other transactions committed."""
        with self.registry.cursor() as cr:
            account = self.real_env(cr)["axivox.account"].browse(self.account_id)
            account.read(["name"])  # the caller's snapshot is taken
            with own_transaction(account.env) as env:
                self.assertIsNot(env.cr, cr)
                env.cr.execute("SHOW transaction_isolation")
                self.assertEqual(env.cr.fetchone()[0], "read committed")
                env.cr.execute(
                    "SELECT last_error FROM axivox_account WHERE id = %s",
                    [self.account_id],
                )
                with self.registry.cursor() as other:
                    other.execute(
                        "UPDATE axivox_account SET last_error = 'other' WHERE id = %s",
                        [self.account_id],
                    )
                env.cr.execute(
                    "SELECT last_error FROM axivox_account WHERE id = %s",
                    [self.account_id],
                )
                self.assertEqual(env.cr.fetchone()[0], "other")
                account.with_env(env).write({"last_error": "kept"})
            cr.rollback()
        self.assertEqual(
            self.sql(
                "SELECT last_error FROM axivox_account WHERE id = %s",
                [self.account_id],
            ),
            [("kept",)],
        )
        # an exception in the block rolls back its work
        with self.registry.cursor() as cr:
            account = self.real_env(cr)["axivox.account"].browse(self.account_id)
            with self.assertRaises(ZeroDivisionError):
                with own_transaction(account.env) as env:
                    account.with_env(env).write({"last_error": "undone"})
                    env.flush_all()
                    _ = 1 / 0
        self.assertEqual(
            self.sql(
                "SELECT last_error FROM axivox_account WHERE id = %s",
                [self.account_id],
            ),
            [("kept",)],
        )

    @mute_logger(*QUIET)
    def test_cron_commits_each_account(self):
        """The cron syncs each account in its own committed transaction: one failing
        (unreachable PBX) leaves its error recorded and the next one synced, even when
        the cron's own transaction is rolled back."""
        broken = self.commit_account("http://127.0.0.1:9")
        with self.registry.cursor() as cr:
            env = self.real_env(cr)
            # Only the accounts of this test are due (this change is never committed).
            env["axivox.account"].search([("id", "not in", self.accounts)]).write(
                {"last_sync": "2999-01-01 00:00:00"}
            )
            env["axivox.account"]._cron_sync()
            cr.rollback()
        state = dict(
            (i, s)
            for i, s in self.sql(
                "SELECT id, sync_state FROM axivox_account WHERE id IN %s",
                [tuple(self.accounts)],
            )
        )
        self.assertEqual(state, {broken: "error", self.account_id: "ok"})


@tagged("post_install", "-at_install")
class TestWebhookConflictOverHttp(RealTransactionsCase):
    """The webhook over real HTTP: an Odoo server of its own (``odoo-bin``, real
    transactions) on this database."""

    def start_server(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = self.start_command(
            "server",
            "--http-interface",
            "127.0.0.1",
            "--http-port",
            str(port),
            "--max-cron-threads",
            "0",
        )
        url = f"http://127.0.0.1:{port}"

        def healthy():
            try:
                return requests.get(url + "/web/health", timeout=2).status_code == 200
            except requests.RequestException:
                return server.poll() is not None  # stopped: said below

        self.assertTrue(self.wait(healthy, 60), "the server started")
        self.assertIsNone(server.poll(), self.log(server)[-2000:])
        return url

    def test_a_conflict_is_answered_503_then_the_retry_is_applied(self):
        self.assertIsNone(self.sync())
        base_url = self.start_server()
        members = {(a["queue_id"], a["extension"]) for a in self.pbx.list_agents()}
        ext = next(e for e in sorted(self.users) if ("sales", e) not in members)
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        body = json.dumps(
            event(f"h-{self.tag}", "ADDMEMBER", agent_extension=ext, at=now)
        ).encode()
        token = self.sql(
            "SELECT webhook_token FROM axivox_account WHERE id = %s",
            [self.account_id],
        )[0][0]
        url = base_url + WEBHOOK_URL % token
        headers = signed(body, delivery_id=f"d-{self.tag}")
        answers = []
        with self.registry.cursor() as other:
            self.add_sales_member(self.real_env(other), ext)
            thread = threading.Thread(
                target=lambda: answers.append(
                    requests.post(url, data=body, headers=headers, timeout=30)
                )
            )
            thread.start()
            self.assertTrue(
                self.wait(
                    lambda: self.sql(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE datname = current_database()"
                        " AND wait_event_type = 'Lock'"
                    )[0][0],
                    10,
                ),
                "the delivery waits for the other transaction",
            )
            other.commit()
            thread.join(30)
        self.assertEqual(answers[0].status_code, 503, answers[0].text)
        self.assertEqual(answers[0].json()["error"]["code"], "conflict")
        self.assertEqual(answers[0].headers.get("Retry-After"), "2")
        self.assertFalse(self.stored(), "nothing stored by the refused delivery")
        # The PBX sends the same delivery again: not taken for a replay, applied.
        headers = signed(body, delivery_id=f"d-{self.tag}")
        retry = requests.post(url, data=body, headers=headers, timeout=30)
        self.assertEqual(retry.status_code, 200, retry.text)
        self.assertEqual(retry.json(), {"applied": 1, "duplicates": 0})
        self.assertEqual(set(self.stored()), {f"h-{self.tag}"})
        self.assertEqual(
            self.sql(
                "SELECT connected FROM axivox_queue_member m JOIN axivox_queue q "
                "ON q.id = m.queue_id WHERE q.account_id = %s AND m.user_id = %s "
                "AND q.remote_id = 'sales'",
                [self.account_id, self.users[ext]],
            ),
            [(True,)],
        )


@tagged("post_install", "-at_install")
class TestBusMessages(RealTransactionsCase):
    """The addon's bus messages (``send_many``), committed for real: the rows the web
    client reads, and the NOTIFY that tells it, also after PostgreSQL dropped the
    connections to the ``postgres`` database."""

    def setUp(self):
        super().setUp()
        _dbname, info = sql_db.connection_info_for("postgres")
        self.listen = psycopg2.connect(**info)
        self.listen.autocommit = True
        self.addCleanup(self.listen.close)
        with self.listen.cursor() as cr:
            cr.execute("LISTEN imbus")

    def notified(self, channel, timeout=10):
        """The channels of the NOTIFYs received until one names ``channel``."""
        seen = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if select.select([self.listen], [], [], 0.2)[0]:
                self.listen.poll()
                while self.listen.notifies:
                    payload = json.loads(self.listen.notifies.pop(0).payload)
                    seen += [tuple(c) for c in payload]
                if channel in seen:
                    break
        return seen

    def send(self, partner_id, payload):
        with self.registry.cursor() as cr:
            env = self.real_env(cr)
            partner = env["res.partner"].browse(partner_id)
            send_many(env, [(partner, "voip_axivox_queue/test", payload)])
        return (cr.dbname, "res.partner", partner_id)

    def test_a_message_reaches_the_bus_and_is_announced(self):
        partner_id = self.sql(
            "SELECT partner_id FROM res_users WHERE id = %s", [self.user_ids[0]]
        )[0][0]
        channel = self.send(partner_id, {"n": 1})
        self.assertIn(channel, self.notified(channel), "announced after the commit")
        with self.registry.cursor() as cr:
            messages = self.real_env(cr)["bus.bus"]._poll(
                [self.real_env(cr)["res.partner"].browse(partner_id)],
                self.bus_start,
            )
        self.assertEqual(
            [m["message"] for m in messages],
            [{"type": "voip_axivox_queue/test", "payload": {"n": 1}}],
        )
        # A message of a transaction rolled back is neither stored nor announced.
        with self.registry.cursor() as cr:
            env = self.real_env(cr)
            send_many(
                env, [(env["res.partner"].browse(partner_id), "x", {"n": "undone"})]
            )
            cr.rollback()
        self.assertEqual(
            self.sql(
                "SELECT count(*) FROM bus_bus WHERE id > %s AND message LIKE %s",
                [self.bus_start, "%undone%"],
            ),
            [(0,)],
        )

    def test_announced_after_the_notifying_connections_were_dropped(self):
        partner_id = self.sql(
            "SELECT partner_id FROM res_users WHERE id = %s", [self.user_ids[0]]
        )[0][0]
        channel = self.send(partner_id, {"n": 1})
        self.assertIn(channel, self.notified(channel))
        # PostgreSQL drops the connections to the ``postgres`` database (a restart,
        # an idle timeout) but those that listen (this test's, the bus's dispatcher):
        # the next message is announced all the same.
        with self.listen.cursor() as cr:
            cr.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = 'postgres' AND pid != pg_backend_pid() "
                "AND backend_type = 'client backend' AND query NOT ILIKE 'listen%'"
            )
        channel = self.send(partner_id, {"n": 2})
        self.assertIn(channel, self.notified(channel), "announced all the same")


@tagged("post_install", "-at_install")
class TestListenerFailover(RealTransactionsCase):
    """Two ``odoo-bin axivox-listen`` processes on one account: one reads the stream,
    the other stands by; killed, the first is replaced within seconds, nothing lost or
    doubled."""

    def start_listener(self, name):
        return self.start_command(
            name,
            "axivox-listen",
            "--account",
            str(self.account_id),
            "--heartbeat",
            "1",
            "--standby-poll",
            "0.3",
        )

    def lock_holder(self):
        from ..transactions import LISTEN_LOCK

        rows = self.sql(
            """SELECT a.application_name
                 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s
                  AND l.objid = %s AND l.objsubid = 2""",
            [LISTEN_LOCK, self.account_id],
        )
        return rows[0][0] if rows else None

    def test_standby_takes_over_after_a_kill(self):
        self.assertIsNone(self.sync())
        first = self.start_listener("first")
        self.assertEqual(
            self.wait(self.lock_holder, 60),
            f"odoo-{first.pid}",
            "the first listener holds the account",
        )
        second = self.start_listener("second")
        self.assertTrue(
            self.wait(lambda: "standing by" in self.log(second), 60),
            "the second one stands by",
        )
        self.sim.traffic(seed=21, calls=10)
        events, _cursor = self.feed()
        self.assertTrue(
            self.wait(lambda: set(self.stored()) >= {e["id"] for e in events}, 30)
        )
        first.kill()  # SIGKILL: no clean-up at all
        killed = time.monotonic()
        self.sim.traffic(seed=22, calls=10)  # while nobody holds the stream
        holder = self.wait(lambda: self.lock_holder() == f"odoo-{second.pid}" and 1, 30)
        takeover = time.monotonic() - killed
        self.assertTrue(holder, "the standby took over")
        self.assertLess(takeover, 10, f"took over in {takeover:.1f} s")
        self.sim.traffic(seed=23, calls=10)
        events, last_cursor = self.feed()
        expected = {e["id"] for e in events}
        self.assertTrue(
            self.wait(lambda: set(self.stored()) >= expected, 30),
            "the events sent before, during and after the take-over arrived",
        )
        self.assertTrue(
            self.wait(
                lambda: self.sql(
                    "SELECT event_cursor FROM axivox_account WHERE id = %s",
                    [self.account_id],
                )[0][0]
                == last_cursor,
                10,
            )
        )
        stored = self.stored()
        self.assertEqual(set(stored), expected, "none missing, none extra")
        self.assertEqual(set(stored.values()), {1}, "none twice")
        log = self.log(second)
        self.assertIn("Took over the event stream", log)
        self.assertNotIn(" ERROR ", log)
        _logger.info("Listener take-over after a kill: %.2f s", takeover)

    def test_a_module_update_reloads_its_registry_and_sigterm_stops_it(self):
        self.assertIsNone(self.sync())
        listener = self.start_listener("listener")
        self.assertEqual(self.wait(self.lock_holder, 60), f"odoo-{listener.pid}")
        self.signal_module_update()
        self.sim.traffic(seed=31, calls=5)
        events, _cursor = self.feed()
        self.assertTrue(
            self.wait(lambda: set(self.stored()) >= {e["id"] for e in events}, 30),
            "applied with the new registry",
        )
        self.assertIn(
            "Reloading the model registry after database signaling", self.log(listener)
        )
        # Stopped in the middle of the stream: it exits at once, with 0; what it
        # stored is exactly the stream up to the cursor it saved.
        self.sim.traffic(seed=32, calls=10)
        self.assertEqual(self.stop_cleanly(listener), 0, self.log(listener)[-2000:])
        saved = self.sql(
            "SELECT event_cursor FROM axivox_account WHERE id = %s", [self.account_id]
        )[0][0]
        upto, more = [], True
        cursor = None
        while more and cursor != saved:
            page, cursor, more = self.pbx.events_since(cursor, limit=1)
            upto += page
        self.assertEqual(cursor, saved)
        stored = self.stored()
        synced = {
            row[0]
            for row in self.sql(
                "SELECT pbx_event_id FROM axivox_queue_event"
                " WHERE account_id = %s AND source <> 'stream'",
                [self.account_id],
            )
        }
        self.assertEqual(
            {e["id"] for e in upto} - synced, set(stored) - synced, "nothing lost"
        )
        self.assertNotIn(" ERROR ", self.log(listener))
        self.assertIsNone(self.lock_holder(), "its lock released")


@tagged("post_install", "-at_install")
class TestApplierFailover(RealTransactionsCase):
    """Two ``odoo-bin axivox-apply`` processes: webhook deliveries sent at once are
    stored and answered, the active applier applies them; killed, it is replaced within
    seconds; nothing lost, nothing doubled, nothing left waiting."""

    def start_applier(self, name):
        return self.start_command(name, "axivox-apply", "--gather", "0.01")

    def applier(self):
        from ..transactions import APPLY_LOCK

        rows = self.sql(
            """SELECT a.application_name
                 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s
                  AND l.objid = 0 AND l.objsubid = 2
                  AND l.database = (SELECT oid FROM pg_database
                                     WHERE datname = current_database())""",
            [APPLY_LOCK],
        )
        return rows[0][0] if rows else None

    def deliver_all(self, events, threads=4, size=10):
        """Deliver ``events`` in batches of ``size`` from ``threads`` threads at once,
        each batch twice (the PBX may send one again); returns the answers."""
        chunks = [events[i::threads] for i in range(threads)]

        def webhooks(chunk):
            def go():
                answers = []
                for start in range(0, len(chunk), size):
                    batch = chunk[start : start + size]
                    answers.append(self.deliver(batch, defer=True)())
                    answers.append(self.deliver(batch[:1], defer=True)())
                return answers

            return go

        results = self.run_at_once(*(webhooks(c) for c in chunks))
        errors = [r for r in results if isinstance(r, Exception)]
        self.assertFalse(errors, errors)
        return [answer for answers in results for answer in answers]

    def waiting(self):
        return self.sql(
            "SELECT count(*) FROM axivox_queue_event_inbox WHERE account_id = %s",
            [self.account_id],
        )[0][0]

    @mute_logger("odoo.addons.voip_axivox_queue.models.axivox_queue_event_inbox")
    def test_a_delivery_that_cannot_be_applied_is_quarantined_for_real(self):
        """In real transactions: the batch fails, each delivery is applied apart, the
        broken one is quarantined and the others applied, all committed together."""
        from ..transactions import APPLY_LOCK

        self.assertIsNone(self.sync())
        with self.registry.cursor() as lock_cr:
            lock_cr.execute("SELECT pg_advisory_lock(%s, 0)", [APPLY_LOCK])
            good = self.abandons("r", range(3))
            broken = {"id": f"r-{self.tag}-x", "type": "ABANDON", "queue_id": "sales"}
            self.store_together([good[0]], [broken], good[1:])
            lock_cr.execute("SELECT pg_advisory_unlock(%s, 0)", [APPLY_LOCK])
        self.assertEqual(self.waiting(), 3)
        with self.registry.cursor() as cr:
            self.assertEqual(
                self.real_env(cr)["axivox.queue.event.inbox"]._apply_waiting(), 3
            )
            cr.rollback()  # what was applied was committed by its own transaction
        self.assertEqual(set(self.stored()), {e["id"] for e in good})
        self.assertEqual(self.waiting(), 0)
        self.assertEqual(
            self.sql(
                "SELECT pbx_event_id FROM axivox_queue_event_quarantine"
                " WHERE account_id = %s",
                [self.account_id],
            ),
            [(broken["id"],)],
        )

    def test_a_module_update_reloads_its_registry_and_sigterm_stops_it(self):
        self.assertIsNone(self.sync())
        applier = self.start_applier("applier")
        self.assertEqual(self.wait(self.applier, 60), f"odoo-{applier.pid}")
        self.signal_module_update()
        first = self.abandons("m", range(5))
        self.assertEqual(self.deliver(first, defer=True)(), {"queued": 5})
        self.assertTrue(
            self.wait(lambda: set(self.stored()) >= {e["id"] for e in first}, 30),
            "applied with the new registry",
        )
        self.assertIn(
            "Reloading the model registry after database signaling", self.log(applier)
        )
        # Stopped while deliveries come: exits with 0; each delivery is applied or
        # still waits for the next applier, none lost, none half applied.
        later = self.abandons("t", range(40))
        answers = [self.deliver(later[i : i + 4], defer=True)() for i in (0, 4, 8)]
        self.assertEqual(answers, [{"queued": 4}] * 3)
        self.assertEqual(self.stop_cleanly(applier), 0, self.log(applier)[-2000:])
        self.assertIsNone(self.applier(), "its lock released")
        stored = self.stored()
        waiting = {
            item["id"]
            for (events,) in self.sql(
                "SELECT events FROM axivox_queue_event_inbox WHERE account_id = %s",
                [self.account_id],
            )
            for item in events
        }
        sent = {e["id"] for e in later[:12]}
        self.assertEqual((set(stored) & sent) | waiting, sent, "nothing lost")
        self.assertFalse(set(stored) & waiting, "a delivery is applied whole or not")
        self.assertNotIn(" ERROR ", self.log(applier))

    def test_standby_applier_takes_over_after_a_kill(self):
        self.assertIsNone(self.sync())
        first = self.start_applier("first")
        self.assertEqual(self.wait(self.applier, 60), f"odoo-{first.pid}")
        second = self.start_applier("second")
        self.assertTrue(
            self.wait(lambda: "Waiting to apply" in self.log(second), 60),
            "the second one started",
        )
        self.sim.traffic(seed=31, calls=15)
        events, cursor = self.feed()
        answers = self.deliver_all(events)
        self.assertEqual({tuple(a) for a in answers}, {("queued",)}, "all queued")
        self.assertTrue(
            self.wait(lambda: set(self.stored()) >= {e["id"] for e in events}, 30),
            "the applier applied them",
        )
        self.assertEqual(self.applier(), f"odoo-{first.pid}", "one applier at a time")

        first.kill()  # SIGKILL: no clean-up at all
        killed = time.monotonic()
        self.sim.traffic(seed=32, calls=15)
        more, _cursor = self.pbx.events_since(cursor, limit=1000)[:2]
        # while nobody applies (answered "applied"), then once the standby took over
        answers = self.deliver_all(more)
        holder = self.wait(lambda: self.applier() == f"odoo-{second.pid}" and 1, 30)
        takeover = time.monotonic() - killed
        self.assertTrue(holder, "the standby took over")
        self.assertLess(takeover, 10, f"took over in {takeover:.1f} s")
        self.sim.traffic(seed=33, calls=10)
        last, _cursor = self.pbx.events_since(_cursor, limit=1000)[:2]
        answers += self.deliver_all(last)
        self.assertTrue(
            {tuple(a) for a in answers} <= {("queued",), ("applied", "duplicates")}
        )
        self.assertIn(("queued",), {tuple(a) for a in answers})
        expected = {e["id"] for e in events + more + last}
        self.assertTrue(
            self.wait(lambda: set(self.stored()) >= expected, 30),
            "the events sent before, during and after the take-over were applied",
        )
        stored = self.stored()
        self.assertEqual(set(stored), expected, "none missing, none extra")
        self.assertEqual(set(stored.values()), {1}, "none twice")
        self.assertTrue(self.wait(lambda: self.waiting() == 0, 10), "none waiting")
        log = self.log(second)
        self.assertIn("Applying the webhook deliveries", log)
        self.assertNotIn(" ERROR ", log)
        _logger.info("Applier take-over after a kill: %.2f s", takeover)

    def test_an_applier_waits_for_the_deliveries_that_apply_their_own_events(self):
        """A delivery that finds no applier applies its events and holds the applier's
        lock, shared, until it commits. An applier that starts meanwhile waits in
        PostgreSQL's queue (not a poll): the deliveries that come then are stored for
        it, and it holds the lock, and applies them, the moment the first commits."""
        from ..cli.axivox_apply import InboxApplier
        from ..transactions import APPLY_LOCK

        self.assertIsNone(self.sync())
        own, later = (self.abandons("o", [n]) for n in (1, 2))
        applier = InboxApplier(self.registry, gather=0, idle_check=0.1)
        with self.registry.cursor() as first:
            env = self.real_env(first)
            account = env["axivox.account"].browse(self.account_id)
            self.assertFalse(
                env["axivox.queue.event.inbox"]._store_if_applier(account, own),
                "no applier: the delivery applies its own events",
            )
            applier.start()
            self.addCleanup(applier.stop)
            self.assertTrue(
                self.wait(
                    lambda: self.sql(
                        "SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
                        " AND NOT granted AND classid = %s AND objid = 0",
                        [APPLY_LOCK],
                    ),
                    10,
                ),
                "the applier waits for the lock",
            )
            self.store_together(later)  # stored for the applier that waits
            self.assertFalse(applier.active)
            self.assertEqual(self.waiting(), 1)
            env["axivox.event.intake"]._apply(account, own, "webhook")
        committed = time.monotonic()
        self.assertTrue(self.wait(lambda: applier.active, 10), "took the lock")
        self.assertLess(time.monotonic() - committed, 5, "at once")
        self.assertTrue(
            self.wait(lambda: self.waiting() == 0, 10), "applied what was stored"
        )
        self.assertEqual(self.stored(), {own[0]["id"]: 1, later[0]["id"]: 1})
        self.assertEqual(applier.applied, 1)

    def test_the_applier_gathers_deliveries_under_load(self):
        """Quiet, a delivery is applied at once. Under load (the last apply found more
        than one delivery), the applier waits ``gather`` seconds from one apply to the
        next, for deliveries to gather into a batch; but as soon as ``gather_events``
        events wait (each delivery's NOTIFY tells how many it stored), it applies
        them."""
        from ..cli.axivox_apply import InboxApplier

        self.assertIsNone(self.sync())
        alone, first, second, one, two = (
            self.abandons("g", numbers) for numbers in ((0,), (1,), (2,), (3,), (4, 5))
        )
        applier = InboxApplier(
            self.registry, gather=600, gather_events=3, idle_check=600
        ).start()
        self.addCleanup(applier.stop)
        self.assertTrue(self.wait(lambda: applier._applied_at, 10), "applied once")
        self.assertEqual(self.deliver(alone, defer=True)(), {"queued": 1})
        self.assertTrue(self.wait(lambda: self.waiting() == 0, 5), "quiet: at once")
        self.store_together(first, second)  # two deliveries that wait together
        self.assertTrue(self.wait(lambda: self.waiting() == 0, 5), "still at once")
        self.assertEqual(self.deliver(one, defer=True)(), {"queued": 1})
        time.sleep(1)
        self.assertEqual(self.waiting(), 1, "under load: gathering")
        self.assertEqual(self.deliver(two, defer=True)(), {"queued": 2})
        self.assertTrue(
            self.wait(lambda: self.waiting() == 0, 10), "applied once 3 events wait"
        )
        self.assertEqual(
            set(self.stored()), {e["id"] for e in alone + first + second + one + two}
        )
        self.assertEqual(applier.applied, 5)
        stopping = time.monotonic()
        applier.stop()
        self.assertLess(time.monotonic() - stopping, 2, "stops while it waits")
