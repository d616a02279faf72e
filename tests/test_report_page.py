"""4. The queue report as a page: period presets, event types, call, caller, queues
turned into one domain; the page's results and its CSV export are the same lines."""
import csv
import io
import json
from datetime import datetime

from freezegun import freeze_time

from odoo.exceptions import UserError
from odoo.http import Request
from odoo.tests import HttpCase, TransactionCase, tagged
from odoo.tools import mute_logger

from ..axivox_api.events import EVENT_TYPES
from .test_report import ReportFixtures

NOW = datetime(2026, 3, 4, 10, 0, 0)  # a Wednesday; the fixtures' day is Monday 2 March
SALES_DAY = {"login", "enter1", "connect1", "end1", "first_second", "last_second"}
SUPPORT_DAY = {"enter2", "abandon2"}


class TestReportPage(ReportFixtures, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_report()
        cls.manager.tz = "UTC"

    def page(self, **filters):
        Report = self.env["axivox.queue.report"].with_user(self.manager)
        with freeze_time(NOW):
            return Report.search_page(filters, limit=500)

    def found(self, **filters):
        return self._keys(
            self.env["axivox.queue.event"].browse(
                [r["id"] for r in self.page(**filters)["records"]]
            )
        )

    def test_period_presets(self):
        day = SALES_DAY | SUPPORT_DAY
        cases = {
            "today": set(),
            "yesterday": {"day_after"},
            "this_week": day | {"day_after"},
            "last_7_days": day | {"day_before", "day_after"},
            "this_month": day | {"day_before", "day_after"},
        }
        for period, expected in cases.items():
            with self.subTest(period):
                self.assertEqual(self.found(period=period), expected)
        page = self.page(period="this_week")
        self.assertEqual(
            (page["from"], page["to"]), ("2026-03-02 00:00:00", "2026-03-04 23:59:59")
        )
        # From ... to, both seconds included.
        self.assertEqual(
            self.found(
                period="custom",
                date_from="2026-03-02 00:00:00",
                date_to="2026-03-02 23:59:59",
            ),
            day,
        )
        # In the user's time zone: Brussels' Tuesday starts at 23:00 UTC on Monday.
        self.manager.tz = "Europe/Brussels"
        self.assertEqual(self.found(period="yesterday"), {"day_after", "last_second"})
        # The page shows the period in that time zone, the one its days were counted
        # in (not the browser's): Brussels' week, from its Monday's midnight.
        page = self.page(period="this_week")
        self.assertEqual(page["tz"], "Europe/Brussels")
        self.assertEqual(
            (page["from"], page["to"]), ("2026-03-01 23:00:00", "2026-03-04 22:59:59")
        )

    def test_types_call_caller_queues(self):
        self.assertEqual(
            self.found(
                period="custom",
                date_from="2026-03-02 00:00:00",
                date_to="2026-03-02 23:59:59",
                event_types=["CONNECT", "ABANDON"],
            ),
            {"connect1", "abandon2"},
        )
        self.assertEqual(self.found(event_types=[]), set(), "Uncheck all shows nothing")
        self.assertEqual(self.found(event_types=list(EVENT_TYPES)), self.found())
        self.assertEqual(
            self.found(call_id=" 1772442000.11 "), {"enter1", "connect1", "end1"}
        )
        self.assertEqual(self.found(caller_number="470000002"), {"enter2", "abandon2"})
        self.assertEqual(
            self.found(period="this_week", queue_ids=self.queue_support.ids),
            SUPPORT_DAY,
        )
        self.assertNotIn(
            "other_company", self.found(), "the other company's PBX stays apart"
        )
        page = self.page(period="this_week", queue_ids=self.queue_sales.ids)
        self.assertEqual(page["length"], len(SALES_DAY) + 1)
        self.assertEqual(page["records"][0]["queue_id"][1], "Sales (tests)")

    def test_bad_filters_are_clear_errors(self):
        cases = [
            ({"period": "forever"}, "Choose a period"),
            ({"period": "custom"}, "Give the period's From and To."),
            (
                {
                    "period": "custom",
                    "date_from": "2026-03-03 00:00:00",
                    "date_to": "2026-03-02 00:00:00",
                },
                "must start before it ends",
            ),
            (
                {"period": "custom", "date_from": "yesterday", "date_to": "today"},
                "must be dates and times",
            ),
            ({"event_types": ["CONNECT", "HANGUP"]}, "Unknown event type"),
            ({"queue_ids": ["1 OR 1=1"]}, "queues are not valid"),
            ({"call_id": 12}, "filters are not valid"),
        ]
        for filters, message in cases:
            with self.subTest(filters=filters):
                with self.assertRaises(UserError) as caught:
                    self.page(**filters)
                self.assertIn(message, str(caught.exception))

    def test_filter_info(self):
        info = (
            self.env["axivox.queue.report"]
            .with_user(self.manager)
            .get_filter_info([self.queue_sales.id])
        )
        self.assertEqual(
            [code for code, _label in info["event_types"]], list(EVENT_TYPES)
        )
        self.assertEqual(
            dict(info["event_types"])["CONNECT"], "The caller is connected to an agent."
        )
        self.assertEqual(info["queues"], [[self.queue_sales.id, "Sales (tests)"]])


@tagged("post_install", "-at_install")
class TestReportPageCsv(ReportFixtures, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_report()

    def export(self, filters):
        return self.url_open(
            "/voip_axivox_queue/report/page.csv",
            data={"filters": json.dumps(filters), "csrf_token": self.csrf_token()},
        )

    def csrf_token(self):
        return Request.csrf_token(self)  # the session's token, as the page sends it

    def test_export_is_exactly_what_is_shown(self):
        filters = {
            "period": "custom",
            "date_from": "2026-03-02 00:00:00",
            "date_to": "2026-03-02 23:59:59",
            "event_types": ["ENTERQUEUE", "CONNECT"],
            "queue_ids": [],
            "call_id": "",
            "caller_number": "+3247",
        }
        shown = (
            self.env["axivox.queue.report"].with_user(self.manager).search_page(filters)
        )
        self.authenticate(self.manager.login, "ax_manager_mia-pass")
        response = self.export(filters)
        self.assertEqual(response.status_code, 200, response.text[:300])
        self.assertIn(
            "queue-report-20260302-20260302.csv",
            response.headers["Content-Disposition"],
        )
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8"))))
        column = rows[0].index("PBX Event ID")
        exported = {row[column] for row in rows[1:]}
        self.assertEqual(
            exported,
            {
                r["id"] and self.env["axivox.queue.event"].browse(r["id"]).pbx_event_id
                for r in shown["records"]
            },
        )
        self.assertEqual(exported, {"rep-enter1", "rep-connect1", "rep-enter2"})
        self.assertEqual(len(rows) - 1, shown["length"])

    def test_bad_filters_and_agents(self):
        self.authenticate(self.manager.login, "ax_manager_mia-pass")
        response = self.export({"period": "forever"})
        self.assertEqual(response.status_code, 400)
        self.assertIn("Choose a period", response.text)
        response = self.url_open(
            "/voip_axivox_queue/report/page.csv",
            data={"filters": "{not json", "csrf_token": self.csrf_token()},
        )
        self.assertEqual(response.status_code, 400)
        self.authenticate(self.agent.login, "ax_agent_anna-pass")
        with mute_logger("odoo.http"):
            response = self.export({"period": "last_7_days"})
        self.assertEqual(response.status_code, 403)
        self.assertNotIn("rep-", response.text)
