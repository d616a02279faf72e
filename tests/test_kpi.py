"""Queue KPIs: exact values from known events, periods, timezone, threshold, cost,
access."""
from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo.exceptions import ValidationError
from odoo.tests import tagged

from ..axivox_api.events import validate_batch
from .common import AxivoxCase

# "Now" of the tests: Tuesday 5 March 2024, 11:00 UTC (12:00 in Brussels, UTC+1).
NOW = "2024-03-05 11:00:00"
BRUSSELS = "Europe/Brussels"
MANAGER_KPIS = "voip_axivox_queue.group_axivox_manager"


@tagged("post_install", "-at_install")
class TestKpi(AxivoxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tz=BRUSSELS))
        # The fixtures' records read the timezone of their user (with or without demo
        # data, which gives one to it): Brussels.
        cls.env.user.tz = BRUSSELS
        Queue = cls.env["axivox.queue"].with_context(axivox_no_pending_change=True)
        Queue.browse(cls.queue_sales.id).write({"remote_id": "q-sales"})
        Queue.browse(cls.queue_support.id).write({"remote_id": "q-support"})
        cls.manager.tz = BRUSSELS
        cls.agent.tz = BRUSSELS
        cls.seq = 0
        ev = cls._event
        events = []
        # Calls of today (Brussels): from 2024-03-04 23:00 UTC.
        events += cls._answered(
            "c1", "2024-03-05T09:00:00", wait=10, talk=300, end="COMPLETEAGENT"
        )
        events += cls._answered(
            "c2", "2024-03-05T09:10:00", wait=20, talk=100, end="COMPLETECALLER"
        )
        events += cls._answered(
            "c3", "2024-03-05T09:20:00", wait=45, talk=500, end="BLINDTRANSFER"
        )
        events += cls._unanswered("c4", "2024-03-05T09:30:00", wait=30, end="ABANDON")
        events += cls._unanswered(
            "c5", "2024-03-05T09:40:00", wait=300, end="EXITWITHTIMEOUT"
        )
        events += cls._unanswered("c6", "2024-03-05T09:50:00", wait=1, end="EXITEMPTY")
        # 00:30 in Brussels: today; 23:30 the day before in Brussels: not today.
        events += cls._answered(
            "c7", "2024-03-04T23:30:00", wait=5, talk=60, end="COMPLETEAGENT"
        )
        events += cls._unanswered("c8", "2024-03-04T22:30:00", wait=8, end="ABANDON")
        # Within the last 7 days (from 2024-02-27 23:00 UTC), and before them.
        events += [
            ev("ENTERQUEUE", "2024-02-28T10:00:00", call_id="c9"),
            ev(
                "CONNECT",
                "2024-02-28T10:01:00",
                call_id="c9",
                wait_time=60,
                ring_time=2,
                agent_extension="202",
            ),
        ]
        events += cls._unanswered("c10", "2024-02-27T22:59:59", wait=0, end="ABANDON")
        # Anna (dynamic in Sales) logs in the evening before, out at 03:00, in at 09:00
        # (Brussels) and stays; Bruno is a static agent of Sales.
        events += [
            ev(kind, at, agent_extension="201", member_type="dynamic")
            for kind, at in (
                ("ADDMEMBER", "2024-03-04T20:00:00"),
                ("REMOVEMEMBER", "2024-03-05T02:00:00"),
                ("ADDMEMBER", "2024-03-05T08:00:00"),
            )
        ]
        # Support: one call today, nobody connected.
        events += [
            ev("ENTERQUEUE", "2024-03-05T10:00:00", call_id="s1", queue="q-support")
        ]
        with freeze_time(NOW):
            cls.env["axivox.event.intake"]._apply(
                cls.account_a, validate_batch({"events": events}), "sync"
            )

    @classmethod
    def _event(cls, kind, when, queue="q-sales", **data):
        cls.seq += 1
        return dict(
            {
                "id": f"kpi-{cls.seq:04d}",
                "type": kind,
                "queue_id": queue,
                "timestamp": when + ".000Z",
            },
            **data,
        )

    @classmethod
    def _answered(cls, call, enter, wait, talk, end):
        start = datetime.fromisoformat(enter)

        def at(seconds):
            return (start + timedelta(seconds=seconds)).isoformat()

        return [
            cls._event("ENTERQUEUE", enter, call_id=call, position=1),
            cls._event(
                "CONNECT",
                at(wait),
                call_id=call,
                wait_time=wait,
                ring_time=3,
                agent_extension="202",
            ),
            cls._event(
                end,
                at(wait + talk),
                call_id=call,
                wait_time=wait,
                talk_time=talk,
                agent_extension="202",
            ),
        ]

    @classmethod
    def _unanswered(cls, call, enter, wait, end):
        """Call ``call`` enters at ``enter`` and leaves unanswered (``end``) after
        ``wait`` seconds."""
        left = datetime.fromisoformat(enter) + timedelta(seconds=wait)
        return [
            cls._event("ENTERQUEUE", enter, call_id=call),
            cls._event(end, left.isoformat(), call_id=call, wait_time=wait),
        ]

    def _kpis(self, queue, period):
        return {
            name: queue[f"kpi_{period}_{name}"]
            for name in (
                "offered",
                "answered",
                "abandoned",
                "timeout",
                "no_agent",
                "answer_rate",
                "abandon_rate",
                "service_level",
                "avg_wait",
                "max_wait",
                "avg_talk",
                "avg_agents",
            )
        }

    def assertKpis(self, actual, expected):
        self.assertEqual(set(actual), set(expected))
        for name, value in expected.items():
            with self.subTest(kpi=name):
                self.assertAlmostEqual(actual[name], value, places=6)

    # ------------------------------------------------------------------
    @freeze_time(NOW)
    def test_today(self):
        sales = self.queue_sales.with_user(self.manager)
        self.assertKpis(
            self._kpis(sales, "today"),
            {
                "offered": 7,
                "answered": 4,
                "abandoned": 1,
                "timeout": 1,
                "no_agent": 1,
                "answer_rate": 4 / 7,
                "abandon_rate": 1 / 7,
                # waits 10, 20, 45, 5: three within 20 s (20 included)
                "service_level": 3 / 7,
                "avg_wait": 20.0,
                "max_wait": 45,
                # COMPLETEAGENT / COMPLETECALLER only: 300, 100, 60
                "avg_talk": 460 / 3,
                # Bruno static (1) + Anna 3 h (23:00-02:00) + 3 h (08:00-11:00) of 12 h
                "avg_agents": 1.5,
            },
        )

    @freeze_time(NOW)
    def test_last_7_days(self):
        sales = self.queue_sales.with_user(self.manager)
        self.assertKpis(
            self._kpis(sales, "week"),
            {
                "offered": 9,
                "answered": 5,
                "abandoned": 2,
                "timeout": 1,
                "no_agent": 1,
                "answer_rate": 5 / 9,
                "abandon_rate": 2 / 9,
                "service_level": 3 / 9,
                "avg_wait": 140 / 5,
                "max_wait": 60,
                "avg_talk": 460 / 3,
                # 2024-02-27 23:00 to 2024-03-05 11:00 UTC: 156 h; Anna connected 6 h +
                # 3 h
                "avg_agents": 1 + 9 / 156,
            },
        )

    @freeze_time(NOW)
    def test_other_queue_and_empty(self):
        support = self.queue_support.with_user(self.manager)
        expected = dict.fromkeys(self._kpis(support, "today"), 0)
        self.assertKpis(self._kpis(support, "today"), dict(expected, offered=1))
        # A queue without any event or agent: zeros everywhere, no division by zero.
        empty = (
            self.env["axivox.queue"]
            .create(
                {
                    "name": "Empty",
                    "account_id": self.account_a.id,
                    "extension": "900",
                    "login_code": "*91",
                    "logout_code": "*92",
                }
            )
            .with_user(self.manager)
        )
        self.assertKpis(self._kpis(empty, "today"), expected)
        self.assertKpis(self._kpis(empty, "week"), expected)
        # A past period without events: zeros, except the static agent (always
        # connected).
        kpis = self.queue_sales._get_kpis(
            {"old": (datetime(2020, 1, 1), datetime(2020, 1, 2))}
        )[self.queue_sales.id]["old"]
        self.assertKpis(kpis, dict(expected, avg_agents=1.0))
        # A period that has not started: nothing elapsed, zeros.
        kpis = self.queue_sales._get_kpis(
            {"next": (datetime(2030, 1, 1), datetime(2030, 1, 2))}
        )[self.queue_sales.id]["next"]
        self.assertKpis(kpis, expected)

    @freeze_time(NOW)
    def test_fixed_period(self):
        # 09:00-09:35 UTC: c1, c2, c3 answered (waits 10, 20, 45), c4 abandoned; c1 and
        # c2 ended (talks 300, 100), c3 was transferred. Anna connected throughout.
        kpis = self.queue_sales._get_kpis(
            {"p": (datetime(2024, 3, 5, 9, 0), datetime(2024, 3, 5, 9, 35))}
        )[self.queue_sales.id]["p"]
        self.assertKpis(
            kpis,
            {
                "offered": 4,
                "answered": 3,
                "abandoned": 1,
                "timeout": 0,
                "no_agent": 0,
                "answer_rate": 3 / 4,
                "abandon_rate": 1 / 4,
                "service_level": 2 / 4,
                "avg_wait": 25.0,
                "max_wait": 45,
                "avg_talk": 200.0,
                "avg_agents": 2.0,
            },
        )

    @freeze_time(NOW)
    def test_service_level_threshold(self):
        sales = self.queue_sales
        for threshold, within in ((4, 0), (5, 1), (19, 2), (20, 3), (45, 4), (3600, 4)):
            with self.subTest(threshold=threshold):
                sales.service_level_seconds = threshold
                sales.invalidate_recordset()
                self.assertAlmostEqual(sales.kpi_today_service_level, within / 7)

    def test_service_level_threshold_validation(self):
        sales = self.queue_sales.with_context(axivox_no_pending_change=True)
        sales.pending_changes = False
        self.assertEqual(self.env["axivox.queue"].new({}).service_level_seconds, 20)
        for value in (0, -5, 3601):
            with self.subTest(value=value), self.assertRaises(
                ValidationError
            ) as caught:
                sales.write({"service_level_seconds": value})
            self.assertIn(
                "The service level threshold of queue Sales (tests) must be between "
                "1 and 3600 seconds.",
                str(caught.exception),
            )
        self.queue_sales.with_user(self.manager).service_level_seconds = 30
        # An Odoo-side setting: nothing to apply to the PBX.
        self.assertFalse(self.queue_sales.pending_changes)
        self.assertNotIn("service_level_seconds", self.queue_sales._pbx_payload())

    def test_today_timezone_boundary(self):
        sales = self.queue_sales.with_user(self.manager).with_context(tz=BRUSSELS)
        with freeze_time(NOW):
            # Brussels: today starts 2024-03-04 23:00 UTC, c7 (23:30 UTC) is in, c8 is
            # not.
            self.assertEqual(sales.kpi_today_offered, 7)
            sales.invalidate_recordset()
            self.assertEqual(sales.with_context(tz="UTC").kpi_today_offered, 6)
            sales.invalidate_recordset()
            # Without a timezone in the context, the user's own.
            self.manager.tz = "UTC"
            self.assertEqual(sales.with_context(tz=False).kpi_today_offered, 6)
            sales.invalidate_recordset()
            self.manager.tz = (
                "Pacific/Kiritimati"
            )  # UTC+14: already the 6th, nothing yet
            self.assertEqual(sales.with_context(tz=False).kpi_today_offered, 0)
            sales.invalidate_recordset()
        # 2024-03-04 22:59:59 UTC is still the 4th in Brussels: c8 (22:30 UTC) is today.
        with freeze_time("2024-03-04 22:59:59"):
            self.assertEqual(sales.kpi_today_offered, 1)
            self.assertEqual(sales.kpi_today_abandoned, 1)

    @freeze_time(NOW)
    def test_constant_query_count(self):
        Queue = self.env["axivox.queue"]
        more = Queue.create(
            [
                {
                    "name": f"Queue {n}",
                    "account_id": self.account_a.id,
                    "extension": f"91{n}",
                    "login_code": f"*91{n}",
                    "logout_code": f"*92{n}",
                }
                for n in range(6)
            ]
        )
        kpi_fields = [name for name in Queue._fields if name.startswith("kpi_")]
        self.assertEqual(len(kpi_fields), 24)

        def cost(queues):
            queues = queues.with_user(self.manager)
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            queues.read(kpi_fields)
            return self.env.cr.sql_log_count - before

        cost(self.queue_sales)  # warm the caches (access rules)
        one = cost(self.queue_sales)
        eight = cost(self.queue_sales | self.queue_support | more)
        self.assertEqual(one, eight)
        self.assertLessEqual(eight, 5)
        # ... and so does any number of periods.
        queues = (self.queue_sales | self.queue_support | more).with_user(self.manager)
        periods = {
            f"day{n}": (datetime(2024, 3, n, 0, 0), datetime(2024, 3, n + 1, 0, 0))
            for n in range(1, 6)
        }
        costs = []
        for count in (1, len(periods)):
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            queues._get_kpis(dict(list(periods.items())[:count]))
            costs.append(self.env.cr.sql_log_count - before)
        # the access rules, the queues' thresholds, the KPIs
        self.assertEqual(costs, [3, 3])

    @freeze_time(NOW)
    def test_agent_reads_her_queue(self):
        # Agents cannot read the queue report, but they read their queues without error.
        Queue = self.env["axivox.queue"].with_user(self.agent)
        sales = Queue.browse(self.queue_sales.id)
        self.assertEqual(sales.kpi_today_offered, 7)
        for view_type in ("kanban", "form", "tree"):
            with self.subTest(view_type=view_type):
                views = Queue.get_views([(False, view_type)])
                arch = views["views"][view_type]["arch"]
                self.assertNotIn("kpi_", arch, "KPIs are for managers")
                names = list(views["models"]["axivox.queue"])
                sales.invalidate_recordset()
                sales.web_read(
                    {
                        name: {}
                        for name in names
                        if name in Queue._fields
                        and Queue._fields[name].type not in ("one2many", "many2many")
                    }
                )
        # Not a member of Support: no KPIs of it, even when asked directly.
        support = Queue.browse(self.queue_support.id)
        kpis = support._get_kpis(support._kpi_periods())
        self.assertEqual(kpis[self.queue_support.id]["today"]["offered"], 0)

    @freeze_time(NOW)
    def test_manager_views(self):
        Queue = self.env["axivox.queue"].with_user(self.manager)
        for view_type in ("kanban", "form", "tree"):
            with self.subTest(view_type=view_type):
                arch = Queue.get_views([(False, view_type)])["views"][view_type]["arch"]
                self.assertIn("kpi_today_service_level", arch)
                self.assertIn("kpi_today_abandon_rate", arch)
                self.assertIn('js_class="axivox_queue_', arch)
        data = Queue.browse(self.queue_sales.id).web_read(
            {"kpi_today_service_level": {}, "kpi_week_avg_agents": {}}
        )
        self.assertAlmostEqual(data[0]["kpi_today_service_level"], 3 / 7)
