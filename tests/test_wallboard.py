"""The wallboard's data: exact live and today figures, at most 3 queries whatever the
number of queues, record rules, the bus."""
import json
from datetime import datetime, timedelta, timezone

from freezegun import freeze_time

from odoo.tests import HttpCase, tagged

from ..bus_notifications import WALLBOARD
from .contact_centre_common import ContactCentreCase

NOW = datetime(2024, 3, 5, 11, 0, 0)


def at(minutes_ago, seconds=0):
    return (NOW - timedelta(minutes=minutes_ago, seconds=seconds)).strftime(
        "%Y-%m-%dT%H:%M:%S"
    )


@tagged("post_install", "-at_install")
class TestWallboard(ContactCentreCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tz="UTC"))
        cls.manager.tz = "UTC"
        cls.agent2.tz = "UTC"

    def data(self, user=None, queue_ids=None):
        Queue = self.env["axivox.queue"].with_user(user or self.manager)
        with freeze_time(NOW):
            return {
                q["name"]: q for q in Queue.axivox_wallboard_data(queue_ids)["queues"]
            }

    def test_live_and_today_figures(self):
        def call(n, kind, when, **data):
            """An event of call w<n>."""
            return self.ev(kind, when, call_id=f"w{n}", **data)

        def enter(n, when):
            """Call w<n> of +322555000<n> enters the queue."""
            return call(n, "ENTERQUEUE", when, caller_number=f"+322555000{n}")

        def connect(n, minutes_ago, ext, wait):
            """Call w<n>, entered ``minutes_ago``, reaches ``ext`` after ``wait`` s."""
            return call(
                n,
                "CONNECT",
                at(minutes_ago, -wait),
                agent_extension=ext,
                wait_time=wait,
            )

        self.env["axivox.queue.member"].browse(self.m_anna_sales.id).with_context(
            axivox_no_pending_change=True
        ).connected = True
        events = [
            # Answered today within the service level (10 s) and after it (40 s); the
            # first is over, the second still going on with Bruno (202).
            enter(1, at(60)),
            connect(1, 60, "201", wait=10),
            call(1, "COMPLETECALLER", at(50), agent_extension="201", talk_time=590),
            enter(2, at(5)),
            connect(2, 5, "202", wait=40),
            # Abandoned today.
            enter(3, at(30)),
            call(3, "ABANDON", at(29), caller_number="+3225550003", wait_time=60),
            # Waiting now: for 3 minutes and for 1 minute.
            enter(4, at(3)),
            enter(5, at(1)),
            # Yesterday: not today, and no longer waiting.
            enter(6, "2024-03-04T15:00:00"),
        ]
        with freeze_time(NOW):
            self.ingest(events)
        sales = self.data()["Sales (tests)"]
        self.assertEqual(
            {
                k: sales[k]
                for k in (
                    "waiting",
                    "agents_connected",
                    "agents_on_call",
                    "agents_free",
                    "offered",
                    "answered",
                    "abandoned",
                    "callbacks",
                )
            },
            {
                "waiting": 2,
                "agents_connected": 2,
                "agents_on_call": 1,
                "agents_free": 1,
                "offered": 5,
                "answered": 2,
                "abandoned": 1,
                "callbacks": 1,
            },
        )
        self.assertEqual(
            sales["longest_wait_since"],
            (NOW - timedelta(minutes=3)).replace(tzinfo=timezone.utc).timestamp(),
        )
        self.assertEqual((sales["service_level"], sales["abandon_rate"]), (0.2, 0.2))
        support = self.data()["Support (tests)"]
        self.assertEqual(
            (support["waiting"], support["offered"], support["agents_connected"]),
            (0, 0, 0),
        )

    def test_at_most_three_queries_for_any_number_of_queues(self):
        Queue = self.env["axivox.queue"].with_context(axivox_no_pending_change=True)
        many = Queue.create(
            [
                {
                    "name": f"Q{i}",
                    "account_id": self.account_a.id,
                    "extension": str(8000 + i),
                    "login_code": f"*8{i:03d}",
                    "logout_code": f"#8{i:03d}",
                    "remote_id": f"q{i}",
                }
                for i in range(40)
            ]
        )
        self.data()  # warm the caches of the user
        costs = []
        for ids in (many[:1].ids, many.ids, None):
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            self.data(queue_ids=ids)
            costs.append(self.env.cr.sql_log_count - before)
        self.assertLessEqual(max(costs), 3, costs)

    def test_record_rules(self):
        # Anna is an agent of Sales only; Bea is in company B.
        self.assertEqual(set(self.data(self.agent)), {"Sales (tests)"})
        self.assertEqual(
            set(self.data(self.agent2)), {"Sales (tests)", "Support (tests)"}
        )
        self.assertEqual(set(self.data(self.manager_b)), {"Ventes B (tests)"})
        # Asking for a queue she cannot read gives nothing.
        self.assertEqual(self.data(self.agent, [self.queue_support.id]), {})
        with self.assertRaisesRegex(Exception, "list of queue ids"):
            self.data(self.agent, "all")

    def test_bus_at_ingestion(self):
        self.env["bus.bus"].search([]).unlink()
        self.ingest(
            [self.ev("ENTERQUEUE", at(1), call_id="b1", caller_number="+3225550009")]
        )
        self.env.cr.precommit.run()
        messages = self.env["bus.bus"].search([("message", "like", WALLBOARD)])
        partners = {json.loads(m.channel)[2] for m in messages}
        self.assertIn(self.manager.partner_id.id, partners)
        self.assertIn(self.agent.partner_id.id, partners)
        self.assertNotIn(self.manager_b.partner_id.id, partners)
        payload = json.loads(messages[0].message)["payload"]
        self.assertEqual(payload, {"queue_ids": [self.queue_sales.id]})


@tagged("post_install", "-at_install")
class TestWallboardClient(HttpCase):
    def test_menu_and_action(self):
        action = self.env.ref("voip_axivox_queue.axivox_wallboard_action")
        self.assertEqual(action.tag, "voip_axivox_queue.wallboard")
        menu = self.env.ref("voip_axivox_queue.menu_call_queues_wallboard")
        self.assertEqual(
            (menu.action, menu.parent_id),
            (action, self.env.ref("voip_axivox_queue.menu_call_queues_root")),
        )

    def test_opens_in_the_web_client(self):
        """The wallboard as a manager opens it: the real web client and its real
        services (the bus's among them), not the QUnit test's stand-ins."""
        self.browser_js(
            "/web#action=voip_axivox_queue.axivox_wallboard_action",
            "console.log('test successful')",
            "!!document.querySelector('.o_axivox_wallboard_title')",
            login="admin",
            timeout=120,
        )
