"""The queue report: the wizard's filters, Apply, and the CSV export over HTTP."""
import csv
import io
from datetime import datetime
from functools import partial

from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, TransactionCase, tagged
from odoo.tools import mute_logger

from ..axivox_api.events import EVENT_LABELS, EVENT_TYPES
from .common import AxivoxFixtures

DAY_FROM = datetime(2026, 3, 2, 0, 0, 0)
DAY_TO = datetime(2026, 3, 2, 23, 59, 59)
DAY_BEFORE = datetime(2026, 3, 1, 23, 59, 59)
DAY_AFTER = datetime(2026, 3, 3, 0, 0, 0)


class ReportFixtures(AxivoxFixtures):
    @classmethod
    def _setup_report(cls):
        cls._setup_axivox()
        Event = cls.env["axivox.queue.event"]
        cls.events = {}

        def add(key, when, kind, queue, **values):
            cls.events[key] = Event.create(
                dict(
                    {
                        "account_id": queue.account_id.id,
                        "queue_id": queue.id,
                        "queue_remote_id": f"q{queue.id}",
                        "event_time": when,
                        "event_ts": when.timestamp(),
                        "event_type": kind,
                        "pbx_event_id": f"rep-{key}",
                    },
                    **values,
                )
            )

        sales, support = cls.queue_sales, cls.queue_support
        anna = {"agent_extension": "201", "agent_user_id": cls.agent.id}
        call1 = {"call_id": "1772442000.11", "caller_number": "+32470000001"}
        call2 = {"call_id": "1772445600.12", "caller_number": "+32470000002"}
        at = partial(datetime, 2026, 3, 2)
        answered1 = dict(call1, **anna)  # call 1, answered by Anna
        add("login", at(8), "ADDMEMBER", sales, member_type="dynamic", **anna)
        add("enter1", at(9), "ENTERQUEUE", sales, position=1, **call1)
        add(
            "connect1",
            at(9, 0, 30),
            "CONNECT",
            sales,
            wait_time=30,
            ring_time=4,
            **answered1,
        )
        add(
            "end1",
            at(9, 5),
            "COMPLETECALLER",
            sales,
            wait_time=30,
            talk_time=270,
            **answered1,
        )
        add("enter2", at(10), "ENTERQUEUE", support, position=1, **call2)
        add(
            "abandon2",
            at(10, 2),
            "ABANDON",
            support,
            position=1,
            original_position=1,
            wait_time=120,
            **call2,
        )
        # the edges of the day, and the days around it
        for key, when, kind, call_id, number in (
            ("first_second", DAY_FROM, "ENTERQUEUE", "1772409600.13", "+33600000003"),
            ("last_second", DAY_TO, "EXITEMPTY", "1772495999.14", "+33600000004"),
            ("day_before", DAY_BEFORE, "ENTERQUEUE", "1772409599.15", "+32470000001"),
            ("day_after", DAY_AFTER, "ENTERQUEUE", "1772496000.16", "+32470000001"),
        ):
            # the EXITEMPTY leaves the queue after 1 s
            values = {"wait_time": 1} if kind == "EXITEMPTY" else {}
            add(key, when, kind, sales, call_id=call_id, caller_number=number, **values)
        # the same call id on the other company's PBX
        add("other_company", at(9), "ENTERQUEUE", cls.queue_b, **call1)

    def _keys(self, records):
        names = {event: key for key, event in self.events.items()}
        return {names[event] for event in records if event in names}


class TestReportWizard(ReportFixtures, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_report()

    def _wizard(self, **vals):
        return (
            self.env["axivox.queue.report.wizard"]
            .with_user(self.manager)
            .create(dict({"date_from": DAY_FROM, "date_to": DAY_TO}, **vals))
        )

    def _found(self, wizard):
        return self._keys(
            self.env["axivox.queue.event"]
            .with_user(self.manager)
            .search(wizard._domain())
        )

    def _types(self, *codes):
        return [
            (
                6,
                0,
                self.env["axivox.queue.event.type"].search([("code", "in", codes)]).ids,
            )
        ]

    def test_event_types(self):
        types = self.env["axivox.queue.event.type"].search([])
        self.assertEqual(types.mapped("code"), list(EVENT_TYPES))
        self.assertEqual(
            types.mapped("name"), [EVENT_LABELS[code] for code in EVENT_TYPES]
        )

    def test_defaults(self):
        wizard = (
            self.env["axivox.queue.report.wizard"].with_user(self.manager).create({})
        )
        self.assertEqual(
            len(wizard.event_type_ids), 13, "every type checked by default"
        )
        self.assertEqual((wizard.date_to - wizard.date_from).days, 7, "the last week")
        self.assertFalse(wizard.queue_ids)

    def test_period(self):
        self.assertEqual(
            self._found(self._wizard()),
            {
                "login",
                "enter1",
                "connect1",
                "end1",
                "enter2",
                "abandon2",
                "first_second",
                "last_second",
            },
        )
        wizard = self._wizard(
            date_from=datetime(2026, 3, 2, 9, 0, 30),
            date_to=datetime(2026, 3, 2, 10, 0),
        )
        self.assertEqual(self._found(wizard), {"connect1", "end1", "enter2"})
        with self.assertRaises(UserError) as caught:
            self._wizard(date_from=DAY_TO, date_to=DAY_FROM)
        self.assertIn(
            "The report period must start before it ends.", str(caught.exception)
        )

    def test_event_types_filter_check_all_uncheck_all(self):
        wizard = self._wizard(event_type_ids=self._types("ENTERQUEUE", "ABANDON"))
        self.assertEqual(
            self._found(wizard), {"enter1", "enter2", "abandon2", "first_second"}
        )

        action = wizard.action_uncheck_all()
        self.assertFalse(wizard.event_type_ids)
        self.assertEqual(self._found(wizard), set(), "no type checked: nothing to show")
        self.assertEqual(
            (action["res_model"], action["res_id"], action["target"]),
            (wizard._name, wizard.id, "new"),
            "the wizard stays open",
        )

        wizard.action_check_all()
        self.assertEqual(len(wizard.event_type_ids), 13)
        self.assertEqual(len(self._found(wizard)), 8)

        wizard.event_type_ids = self._types("ADDMEMBER", "REMOVEMEMBER")
        self.assertEqual(self._found(wizard), {"login"})

    def test_call_and_caller(self):
        wizard = self._wizard(call_id=" 1772442000.11 ")
        self.assertEqual(
            self._found(wizard),
            {"enter1", "connect1", "end1"},
            "one call, whitespace ignored, only the manager's company",
        )
        self.assertEqual(
            self._found(self._wizard(call_id="1772442000")),
            set(),
            "a call id is matched exactly",
        )
        self.assertEqual(
            self._found(self._wizard(caller_number="+32470000002")),
            {"enter2", "abandon2"},
        )
        self.assertEqual(
            self._found(self._wizard(caller_number="0000001")),
            {"enter1", "connect1", "end1"},
            "part of the number",
        )
        wizard = self._wizard(
            caller_number="+32470000001", event_type_ids=self._types("CONNECT")
        )
        self.assertEqual(self._found(wizard), {"connect1"}, "filters combine")

    def test_queues(self):
        wizard = self._wizard(queue_ids=[(6, 0, self.queue_support.ids)])
        self.assertEqual(self._found(wizard), {"enter2", "abandon2"})

    def test_apply(self):
        wizard = self._wizard(
            call_id="1772445600.12", queue_ids=[(6, 0, self.queue_support.ids)]
        )
        action = wizard.action_apply()
        self.assertEqual(action["type"], "ir.actions.act_window")
        self.assertEqual(action["res_model"], "axivox.queue.event")
        self.assertEqual(action["domain"], wizard._domain())
        self.assertEqual(action["name"], "Queue Report: Support (tests)")
        shown = (
            self.env["axivox.queue.event"]
            .with_user(self.manager)
            .search(action["domain"])
        )
        self.assertEqual(self._keys(shown), {"enter2", "abandon2"})

    def test_open_report_from_queue(self):
        action = self.queue_sales.with_user(self.manager).action_open_report()
        self.assertEqual(
            (action["type"], action["tag"]),
            ("ir.actions.client", "voip_axivox_queue.report_page"),
        )
        self.assertEqual(action["context"], {"default_queue_ids": self.queue_sales.ids})
        self.assertEqual(action["name"], "Queue Report: Sales (tests)")
        wizard = (
            self.env["axivox.queue.report.wizard"]
            .with_user(self.manager)
            .with_context(**action["context"])
            .create({"date_from": DAY_FROM, "date_to": DAY_TO})
        )
        self.assertEqual(wizard.queue_ids, self.queue_sales)

    def test_export_action_and_content(self):
        wizard = self._wizard(event_type_ids=self._types("CONNECT", "COMPLETECALLER"))
        action = wizard.action_export_csv()
        self.assertEqual(
            action,
            {
                "type": "ir.actions.act_url",
                "target": "download",
                "url": f"/voip_axivox_queue/report/{wizard.id}/csv",
            },
        )
        name, content = wizard._export_csv()
        self.assertEqual(name, "queue-report-20260302-20260302.csv")
        rows = list(csv.reader(io.StringIO(content.decode("utf-8"))))
        Event = self.env["axivox.queue.event"]
        self.assertEqual(
            rows[0], [Event._fields[c].string for c in Event._report_columns()]
        )
        self.assertEqual(
            [row[rows[0].index("PBX Event ID")] for row in rows[1:]],
            ["rep-connect1", "rep-end1"],
            "oldest first",
        )

    def test_other_users_wizard(self):
        """Report filters are personal: another manager cannot use (or download)
        them."""
        wizard = self._wizard(call_id="1772442000.11")
        with self.assertRaises(AccessError):
            wizard.with_user(self.manager_b)._export_csv()
        with self.assertRaises(AccessError):
            wizard.with_user(self.manager_b).read(["call_id"])


@tagged("post_install", "-at_install")
class TestReportCsv(ReportFixtures, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_report()

    def _url(self, wizard):
        return f"/voip_axivox_queue/report/{wizard.id}/csv"

    def test_manager_downloads_the_filtered_report(self):
        wizard = (
            self.env["axivox.queue.report.wizard"]
            .with_user(self.manager)
            .create(
                {
                    "date_from": DAY_FROM,
                    "date_to": DAY_TO,
                    "queue_ids": [(6, 0, self.queue_sales.ids)],
                    "caller_number": "+32470000001",
                }
            )
        )
        self.authenticate(self.manager.login, "ax_manager_mia-pass")
        response = self.url_open(self._url(wizard))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.headers["Content-Type"], "text/csv; charset=utf-8")
        self.assertIn("attachment", response.headers["Content-Disposition"])
        self.assertIn(
            "queue-report-Sales--tests--20260302-20260302.csv",
            response.headers["Content-Disposition"],
        )
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8"))))
        self.assertEqual(
            rows[0],
            [
                "Time",
                "Queue",
                "Event Type",
                "Asterisk Event",
                "Call ID",
                "Caller Number",
                "Agent",
                "Agent Extension",
                "Position",
                "Original Position",
                "Waiting Time (s)",
                "Ringing Time (s)",
                "Talk Time (s)",
                "Hold Time (s)",
                "Transfer Target",
                "PBX Event ID",
            ],
        )
        Event = self.env["axivox.queue.event"]
        self.assertEqual(
            rows[0], [Event._fields[c].string for c in Event._report_columns()]
        )
        column = {name: i for i, name in enumerate(rows[0])}
        self.assertEqual(
            [row[column["PBX Event ID"]] for row in rows[1:]],
            ["rep-enter1", "rep-connect1", "rep-end1"],
            "the filtered rows, exactly: not the other day, queue or company",
        )
        connect = rows[2]
        self.assertEqual(connect[column["Time"]], "2026-03-02 09:00:30")
        self.assertEqual(connect[column["Queue"]], "Sales (tests)")
        self.assertEqual(
            connect[column["Event Type"]], "The caller is connected to an agent."
        )
        self.assertEqual(connect[column["Asterisk Event"]], "CONNECT")
        self.assertEqual(connect[column["Agent"]], "Ax Agent Anna")
        self.assertEqual(connect[column["Agent Extension"]], "201")
        self.assertEqual(connect[column["Waiting Time (s)"]], "30")
        self.assertEqual(connect[column["Ringing Time (s)"]], "4")

    def _manager_wizard(self):
        return (
            self.env["axivox.queue.report.wizard"]
            .with_user(self.manager)
            .create({"date_from": DAY_FROM, "date_to": DAY_TO})
        )

    def _refused_download(self, login, password):
        """The manager's report asked for by ``login``: refused, nothing shown."""
        wizard = self._manager_wizard()
        self.authenticate(login, password)
        with mute_logger("odoo.http"):
            response = self.url_open(self._url(wizard))
        self.assertEqual(response.status_code, 403)
        self.assertNotIn("rep-", response.text)
        return response

    def test_agent_is_refused(self):
        response = self._refused_download(self.agent.login, "ax_agent_anna-pass")
        self.assertNotIn("+3247", response.text)

    def test_other_manager_is_refused(self):
        self._refused_download(self.manager_b.login, "ax_manager_ben-pass")

    def test_anonymous_and_missing(self):
        wizard = self._manager_wizard()
        response = self.url_open(self._url(wizard), allow_redirects=False)
        self.assertIn(response.status_code, (302, 303))
        self.assertIn("/web/login", response.headers["Location"])
        self.authenticate(self.manager.login, "ax_manager_mia-pass")
        response = self.url_open("/voip_axivox_queue/report/999999999/csv")
        self.assertEqual(response.status_code, 404)
