"""Agent sessions: built at ingestion from the login events, order-safe (late,
duplicated and out-of-order events), how they started and ended, rebuilt from the stored
events; the report per agent and day."""
from datetime import datetime, timedelta, timezone

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import make_user
from .contact_centre_common import ContactCentreCase

DAY = "2024-03-05T"


@tagged("post_install", "-at_install")
class TestAgentSessions(ContactCentreCase):
    def login(self, kind, at, ext="201", queue="q-sales"):
        return self.ev(
            kind, DAY + at, queue=queue, agent_extension=ext, member_type="dynamic"
        )

    def ring_no_answer(self, call_id):
        """Bruno (202) lets call ``call_id`` of the support queue ring at 11:00."""
        return self.ev(
            "RINGNOANSWER",
            DAY + "11:00:00",
            queue="q-support",
            call_id=call_id,
            caller_number="+3225550003",
            agent_extension="202",
            ring_time=20,
        )

    def sessions(self, ext="201"):
        return self.env["axivox.agent.session"].search(
            [("agent_extension", "=", ext)], order="start_ts"
        )

    def periods(self, ext="201"):
        return [
            (str(s.start_time)[11:16], s.end_time and str(s.end_time)[11:16] or None)
            for s in self.sessions(ext)
        ]

    def test_login_logout_makes_a_session(self):
        self.ingest(
            [
                self.login("ADDMEMBER", "09:00:00"),
                self.login("REMOVEMEMBER", "12:30:00"),
            ]
        )
        session = self.sessions()
        self.assertEqual(len(session), 1)
        self.assertEqual(
            (
                session.user_id,
                session.queue_id,
                session.is_open,
                session.duration,
                session.start_source,
                session.end_source,
            ),
            (self.agent, self.queue_sales, False, 3.5, "phone", "phone"),
        )
        self.ingest([self.login("ADDMEMBER", "13:00:00")])
        self.assertEqual(self.periods(), [("09:00", "12:30"), ("13:00", None)])
        self.assertTrue(self.sessions()[-1].is_open)
        self.assertTrue(self.m_anna_sales.connected)

    def test_out_of_order_and_late_events(self):
        # The logout arrives before the login.
        self.ingest([self.login("REMOVEMEMBER", "12:00:00")])
        self.assertEqual(self.periods(), [])
        self.ingest([self.login("ADDMEMBER", "09:00:00")])
        self.assertEqual(self.periods(), [("09:00", "12:00")])
        self.assertFalse(
            self.m_anna_sales.connected, "the login state is order-safe too"
        )
        # A later day long session, then a late logout/login pair inside it.
        self.ingest(
            [
                self.login("ADDMEMBER", "13:00:00"),
                self.login("REMOVEMEMBER", "18:00:00"),
            ]
        )
        self.ingest([self.login("ADDMEMBER", "15:00:00")])
        self.ingest([self.login("REMOVEMEMBER", "14:00:00")])
        self.assertEqual(
            self.periods(), [("09:00", "12:00"), ("13:00", "14:00"), ("15:00", "18:00")]
        )
        # A duplicated login and a replayed batch change nothing.
        events = [
            self.login("ADDMEMBER", "19:00:00"),
            self.login("ADDMEMBER", "19:30:00"),
            self.login("REMOVEMEMBER", "20:00:00"),
        ]
        self.ingest(events)
        self.ingest(events)
        self.assertEqual(self.periods()[-1], ("19:00", "20:00"))
        self.assertEqual(len(self.sessions()), 4)
        # Another agent and another queue are apart.
        self.ingest([self.login("ADDMEMBER", "10:00:00", ext="202", queue="q-support")])
        self.assertEqual(self.periods("202"), [("10:00", None)])
        self.assertEqual(len(self.sessions()), 4)

    def test_rebuilt_from_the_stored_events(self):
        self.ingest(
            [
                self.login("ADDMEMBER", "09:00:00"),
                self.login("REMOVEMEMBER", "11:00:00"),
                self.login("ADDMEMBER", "12:00:00"),
                self.login("ADDMEMBER", "08:00:00", ext="202", queue="q-support"),
            ]
        )
        before = [self.periods(), self.periods("202")]
        self.env["axivox.agent.session"].search([]).unlink()
        self.env["axivox.agent.session"]._rebuild_all()
        self.assertEqual([self.periods(), self.periods("202")], before)

    def test_how_sessions_start_and_end(self):
        now = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
        at = (now - timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%S")
        # The manager connected Anna: Odoo asked first, the PBX's event follows.
        self.m_anna_sales._set_login_state_now(True, "manager")
        self.ingest(
            [self.ev("ADDMEMBER", at, agent_extension="201", member_type="dynamic")]
        )
        self.assertEqual(self.sessions()[-1].start_source, "manager")
        # The end-of-day logout: the PBX's event came first, Odoo notes it after.
        later = (now + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S")
        self.ingest(
            [
                self.ev(
                    "REMOVEMEMBER", later, agent_extension="201", member_type="dynamic"
                )
            ]
        )
        self.assertEqual(self.sessions()[-1].end_source, "phone")
        self.m_anna_sales._set_login_state_now(False, "auto")
        self.assertEqual(self.sessions()[-1].end_source, "auto")
        # Events the sync brought: "sync".
        self.ingest(
            [
                self.login("ADDMEMBER", "07:00:00", ext="202", queue="q-support"),
                self.login("REMOVEMEMBER", "07:30:00", ext="202", queue="q-support"),
            ],
            source="sync",
        )
        session = self.sessions("202")
        self.assertEqual((session.start_source, session.end_source), ("sync", "sync"))

    def test_a_code_dialed_over_sip_comes_from_the_softphone(self):
        """The phone in her browser dials the code itself; Odoo is told, and the
        PBX's event is recorded as coming from the softphone, as through the API."""
        now = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
        softphone = self.env["axivox.softphone"].with_user(self.agent)
        # Odoo is told first, the PBX's event follows
        self.assertTrue(softphone.note_sip_code(self.m_anna_sales.id, True))
        at = (now - timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%S")
        self.ingest(
            [self.ev("ADDMEMBER", at, agent_extension="201", member_type="dynamic")]
        )
        self.assertEqual(self.sessions()[-1].start_source, "widget")
        # The PBX's event came first, Odoo is told after
        later = (now + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S")
        self.ingest(
            [
                self.ev(
                    "REMOVEMEMBER", later, agent_extension="201", member_type="dynamic"
                )
            ]
        )
        self.assertEqual(self.sessions()[-1].end_source, "phone")
        # A request of its own, in a transaction of its own: what this test's
        # environment read before is read again after it.
        softphone.note_sip_code(self.m_anna_sales.id, False)
        self.env.invalidate_all()
        self.assertEqual(self.sessions()[-1].end_source, "widget")
        # Only her own dynamic memberships, a clear yes or no; nothing changes else
        bruno = self.env["axivox.softphone"].with_user(self.agent2)
        for who, member_id, connect, message in (
            (softphone, self.m_bruno_support.id, True, "only log yourself"),
            (softphone, "13", True, "only log yourself"),
            (bruno, self.m_bruno_sales.id, True, "static agent"),
            (softphone, self.m_anna_sales.id, "yes", "connect or disconnect"),
        ):
            with self.assertRaisesRegex(UserError, message):
                who.note_sip_code(member_id, connect)
        self.assertEqual(self.sessions()[-1].end_source, "widget")
        self.assertFalse(self.m_bruno_support.login_intent)

    def test_connecting_again_soon_is_the_softphones_again(self):
        """An agent who connects, disconnects and connects again within two minutes:
        each connection told to Odoo before the PBX's event is the softphone's, and
        an event of another source in between stays its own."""
        now = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)

        def at(seconds):
            return (now + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")

        def login(kind, seconds):
            self.ingest(
                [
                    self.ev(
                        kind, at(seconds), agent_extension="201", member_type="dynamic"
                    )
                ]
            )

        softphone = self.env["axivox.softphone"].with_user(self.agent)
        softphone.note_sip_code(self.m_anna_sales.id, True)
        login("ADDMEMBER", -30)
        login("REMOVEMEMBER", -20)  # from her desk phone
        softphone.note_sip_code(self.m_anna_sales.id, True)
        login("ADDMEMBER", -2)
        self.assertEqual(
            [(s.start_source, s.end_source) for s in self.sessions()],
            [("widget", "phone"), ("widget", False)],
        )

    def test_report_per_agent_and_day(self):
        self.ingest(
            [
                self.login("ADDMEMBER", "08:00:00", ext="202", queue="q-support"),
                self.login("REMOVEMEMBER", "12:00:00", ext="202", queue="q-support"),
                self.login("ADDMEMBER", "13:00:00", ext="202", queue="q-support"),
                self.login("REMOVEMEMBER", "14:30:00", ext="202", queue="q-support"),
            ]
            + self.call("r1", "+3225550001", "09:00:00", queue="q-support", talk=120)
            + self.call("r2", "+3225550002", "10:00:00", queue="q-support", talk=60)
            + [self.ring_no_answer("r3")]
        )
        Report = self.env["axivox.agent.day.report"].with_user(self.manager)
        row = Report.search(
            [("user_id", "=", self.agent2.id), ("day", "=", "2024-03-05")]
        )
        self.assertEqual(len(row), 1)
        self.assertEqual(
            (
                row.logged_hours,
                row.answered,
                row.talk_minutes,
                row.missed,
                str(row.first_login),
                str(row.last_logout),
            ),
            # 5.5 h in Support, and Bruno is a static agent of Sales: always
            # connected there, the whole day counts.
            (29.5, 2, 3.0, 1, "2024-03-05 08:00:00", "2024-03-05 14:30:00"),
        )
        # Pivot / graph read it grouped.
        groups = Report.read_group(
            [("user_id", "=", self.agent2.id)],
            ["logged_hours:sum", "answered:sum"],
            ["user_id"],
        )
        self.assertEqual((groups[0]["logged_hours"], groups[0]["answered"]), (29.5, 2))
        # A session over midnight is split between the days.
        self.ingest(
            [
                self.ev(
                    "ADDMEMBER",
                    "2024-03-06T22:00:00",
                    agent_extension="202",
                    queue="q-support",
                    member_type="dynamic",
                ),
                self.ev(
                    "REMOVEMEMBER",
                    "2024-03-07T02:00:00",
                    agent_extension="202",
                    queue="q-support",
                    member_type="dynamic",
                ),
            ]
        )
        days = Report.search(
            [("user_id", "=", self.agent2.id), ("day", ">", "2024-03-05")], order="day"
        )
        self.assertEqual(
            [(str(d.day), d.logged_hours) for d in days],
            [("2024-03-06", 26.0), ("2024-03-07", 26.0)],
        )
        self.assertFalse(
            self.env["axivox.agent.day.report"]
            .with_user(self.agent)
            .check_access_rights("read", raise_exception=False)
        )
        # The whole report again from the stored history: the same rows.
        fields_ = [
            "day",
            "user_id",
            "logged_hours",
            "answered",
            "missed",
            "talk_minutes",
            "first_login",
            "last_logout",
        ]

        def rows():
            return sorted(
                tuple(str(r[f]) for f in fields_)
                for r in Report.search_read([("user_id", "=", self.agent2.id)], fields_)
            )

        before = rows()
        self.env["axivox.agent.day.report"]._refresh_all()
        self.assertEqual(rows(), before)

    def test_report_static_agent_is_always_connected(self):
        """A static agent never logs in: she is always connected, so her logged-in time
        is the whole day (each queue she is a static agent of counts), not 00:00 next
        to her answered calls; the list and the pivot read the same number. A dynamic
        agent's day is her logged-in time."""
        self.ingest(
            [
                self.login("ADDMEMBER", "08:00:00"),
                self.login("REMOVEMEMBER", "09:45:00"),
            ]
            + self.call("s1", "+3225550001", "09:00:00", agent="202", talk=120)
        )
        Report = self.env["axivox.agent.day.report"].with_user(self.manager)
        bruno = Report.search(
            [("user_id", "=", self.agent2.id), ("day", "=", "2024-03-05")]
        )
        self.assertEqual(bruno.answered, 1)
        self.assertTrue(bruno.always_connected, "Bruno is a static agent of Sales")
        self.assertEqual(bruno.logged_hours, 24.0, "static in Sales the whole day")
        groups = Report.read_group(
            [("user_id", "=", self.agent2.id)], ["logged_hours:sum"], ["user_id"]
        )
        self.assertEqual(groups[0]["logged_hours"], 24.0, "the pivot agrees")
        anna = Report.search(
            [("user_id", "=", self.agent.id), ("day", "=", "2024-03-05")]
        )
        self.assertFalse(anna.always_connected)
        self.assertEqual(anna.logged_hours, 1.75)
        # Today a static agent is connected since midnight (UTC) up to now, and the
        # report opened later brings her day up to then.
        self.env.cr.execute("SELECT now() AT TIME ZONE 'UTC'")
        [[now]] = self.env.cr.fetchall()
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        self.ingest(
            [
                self.ev(
                    "RINGNOANSWER",
                    now.strftime("%Y-%m-%dT%H:%M:%S"),
                    call_id="s2",
                    caller_number="+3225550002",
                    agent_extension="202",
                    ring_time=20,
                )
            ]
        )
        today = Report.search(
            [("user_id", "=", self.agent2.id), ("day", "=", now.date())]
        )
        self.assertEqual(today.missed, 1)
        self.assertAlmostEqual(
            today.logged_hours, (now - midnight).total_seconds() / 3600, delta=0.01
        )
        self.env.cr.execute(
            "UPDATE axivox_agent_day_report SET logged_hours = 0, "
            "write_date = %s WHERE id = %s",
            [midnight, today.id],
        )
        Report.action_open_report()
        today = Report.search(
            [("user_id", "=", self.agent2.id), ("day", "=", now.date())]
        )
        self.assertAlmostEqual(
            today.logged_hours, (now - midnight).total_seconds() / 3600, delta=0.01
        )
        # A static agent of two queues: both count.
        self.m_bruno_support.sudo().with_context(
            axivox_no_pending_change=True
        ).member_type = "static"
        Report._refresh([(self.agent2.id, bruno.day)])
        bruno = Report.search(
            [("user_id", "=", self.agent2.id), ("day", "=", "2024-03-05")]
        )
        self.assertEqual(bruno.logged_hours, 48.0)

    def test_report_adds_the_calls_of_later_batches(self):
        """Calls that come batch after batch, no session changing, are added to their
        agent's day once each (a delivery sent again adds nothing), and the day equals
        the report computed again from the stored history."""
        Report = self.env["axivox.agent.day.report"]

        def figures():
            return [
                (r.logged_hours, r.answered, r.talk_minutes, r.missed)
                for r in Report.search(
                    [("user_id", "=", self.agent2.id), ("day", "=", "2024-03-05")]
                )
            ]

        self.ingest(
            self.call("a1", "+3225550001", "09:00:00", queue="q-support", talk=120)
        )
        # Bruno is a static agent of Sales: the whole day counts.
        self.assertEqual(figures(), [(24.0, 1, 2.0, 0)])
        later = self.call(
            "a2", "+3225550002", "10:00:00", queue="q-support", talk=60
        ) + [self.ring_no_answer("a3")]
        self.ingest(later)
        self.ingest(later)
        self.assertEqual(figures(), [(24.0, 2, 3.0, 1)])
        Report._refresh_all()
        self.assertEqual(figures(), [(24.0, 2, 3.0, 1)])

    def test_report_open_session_counts_until_opened(self):
        now = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
        start = now - timedelta(minutes=90)
        self.ingest(
            [
                self.ev(
                    "ADDMEMBER",
                    start.strftime("%Y-%m-%dT%H:%M:%S"),
                    agent_extension="202",
                    queue="q-support",
                    member_type="dynamic",
                )
            ]
        )
        action = (
            self.env["axivox.agent.day.report"]
            .with_user(self.manager)
            .action_open_report()
        )
        self.assertEqual(action["res_model"], "axivox.agent.day.report")
        rows = self.env["axivox.agent.day.report"].search(
            [("user_id", "=", self.agent2.id)]
        )
        hours = sum(rows.mapped("logged_hours"))
        # 1.5 h of session, and Bruno is a static agent of Sales: connected there since
        # the first day's midnight.
        self.env.cr.execute("SELECT now() AT TIME ZONE 'UTC'")
        [[now]] = self.env.cr.fetchall()
        static = now - datetime.combine(start.date(), datetime.min.time())
        self.assertAlmostEqual(hours, 1.5 + static.total_seconds() / 3600, delta=0.05)


@tagged("post_install", "-at_install")
class TestContactCentreBackfill(ContactCentreCase):
    """Events stored before the contact-centre layer (an upgrade): backfilled."""

    def test_backfill_and_rebuild(self):
        self.ingest(
            self.call("old1", "025550100", "09:00:00")
            + [
                self.ev(
                    "ADDMEMBER",
                    DAY + "08:00:00",
                    agent_extension="201",
                    member_type="dynamic",
                )
            ]
        )
        self.env["axivox.queue.event"].flush_model()
        self.env.cr.execute(
            "UPDATE axivox_queue_event SET caller_e164 = NULL, partner_id = NULL"
        )
        self.env.cr.execute("DELETE FROM axivox_agent_session")
        self.env.invalidate_all()
        alice = self.env["res.partner"].create(
            {"name": "Alice", "phone": "+32 2 555 01 00"}
        )
        self.env["axivox.queue.event"]._backfill_callers()
        self.env["axivox.agent.session"]._rebuild_all()
        events = self.events_of("old1")
        self.assertEqual(set(events.mapped("caller_e164")), {"+3225550100"})
        self.assertEqual(events.partner_id, alice)
        self.assertEqual(
            len(
                self.env["axivox.agent.session"].search(
                    [("agent_extension", "=", "201")]
                )
            ),
            1,
        )


@tagged("post_install", "-at_install")
class TestAgentDayReportAccess(ContactCentreCase):
    def open_session(self, account, queue, ext):
        start = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(hours=1)
        self.ingest(
            [
                self.ev(
                    "ADDMEMBER",
                    start.strftime("%Y-%m-%dT%H:%M:%S"),
                    agent_extension=ext,
                    queue=queue,
                    member_type="dynamic",
                )
            ],
            account=account,
        )

    def test_only_managers_open_the_report(self):
        portal = make_user(self.env, "ax_portal_pia", "base.group_portal")
        for user in (portal, self.employee, self.agent):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                self.env["axivox.agent.day.report"].with_user(user).action_open_report()

    def test_a_manager_rebuilds_the_days_of_her_companies_only(self):
        self.open_session(self.account_a, "q-support", "202")
        self.open_session(self.account_b, "q-b", "201")
        Report = self.env["axivox.agent.day.report"]
        Report.with_user(self.manager_b).with_company(
            self.company_b
        ).action_open_report()
        rows_b = Report.search([("user_id", "=", self.agent_b.id)])
        self.assertTrue(rows_b)
        ids_b = rows_b.ids
        Report.with_user(self.manager).action_open_report()
        self.assertEqual(
            Report.search([("user_id", "=", self.agent_b.id)]).ids,
            ids_b,
            "the days of company B are left as they are",
        )
        self.assertTrue(Report.search([("user_id", "=", self.agent2.id)]))
