"""Who sees and may do what: agents, managers, other companies (secrets and
administrators: test_security_secrets.py)."""
from datetime import datetime

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tools import mute_logger

from .common import AxivoxCase


class TestSecurity(AxivoxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Event = cls.env["axivox.queue.event"]
        values = {
            "event_time": datetime(2026, 3, 2, 9),
            "event_ts": 1772442000.0,
            "event_type": "ENTERQUEUE",
            "call_id": "c1",
            "caller_number": "+3247000",
        }
        cls.event_a, cls.event_b = Event.create(
            [
                dict(values, account_id=account.id, queue_id=queue.id, pbx_event_id=key)
                for account, queue, key in (
                    (cls.account_a, cls.queue_sales, "sec-a"),
                    (cls.account_b, cls.queue_b, "sec-b"),
                )
            ]
        )
        # A manager of both companies
        cls.manager_ab = (
            cls.env["res.users"]
            .with_context(no_reset_password=True)
            .create(
                {
                    "name": "Ax Manager Both",
                    "login": "ax_manager_both",
                    "password": "ax_manager_both",
                    "company_id": cls.company_a.id,
                    "company_ids": [Command.set((cls.company_a | cls.company_b).ids)],
                    "groups_id": [
                        Command.set(
                            [
                                cls.env.ref("base.group_user").id,
                                cls.env.ref(
                                    "voip_axivox_queue.group_axivox_manager"
                                ).id,
                            ]
                        )
                    ],
                }
            )
        )

    def assertNoAccess(self, operation, *args, **kwargs):
        with self.assertRaises(AccessError, msg=f"{operation} should be refused"):
            operation(*args, **kwargs)

    def _ours(self, records):
        """Only the records of these tests (the database may hold demo data)."""
        mine = (self.queue_sales | self.queue_support | self.queue_b).ids
        if records._name == "axivox.queue":
            return records.filtered(lambda q: q.id in mine)
        return records.filtered(lambda r: r.sudo().queue_id.id in mine)

    # ------------------------------------------------------------------
    # Agents
    # ------------------------------------------------------------------
    def test_agent_sees_only_her_queues_and_memberships(self):
        Queue = self.env["axivox.queue"].with_user(self.agent)
        Member = self.env["axivox.queue.member"].with_user(self.agent)
        self.assertEqual(self._ours(Queue.search([])), self.queue_sales)
        self.assertEqual(
            Member.search([]),
            self.m_anna_sales,
            "her own membership only, not her colleagues'",
        )
        sales = self.queue_sales.with_user(self.agent)
        values = sales.read(
            [
                "name",
                "extension",
                "login_code",
                "logout_code",
                "connected_agents",
                "connected_count",
                "account_id",
            ]
        )[0]
        self.assertEqual(values["login_code"], "*61")
        self.assertEqual(values["connected_agents"], "Ax Agent Bruno")
        self.assertEqual(values["account_id"], (self.account_a.id, "PBX A (tests)"))
        # what the web client reads to open the queue form (with a fresh cache, as a
        # request has)
        self.env.invalidate_all()
        view = sales.get_views([(False, "form")])["views"]["form"]
        self.assertIn("dynamic_member_ids", view["arch"])
        sub = {
            "fields": {
                "user_id": {"fields": {"display_name": {}}},
                "connected": {},
                "member_type": {},
                "extension": {},
            }
        }
        self.env.invalidate_all()
        values = sales.web_read(
            {
                "name": {},
                "extension": {},
                "connected_count": {},
                "connected_agents": {},
                "static_member_ids": sub,
                "dynamic_member_ids": sub,
                "connected_member_ids": sub,
                "member_ids": {},
            }
        )[0]
        self.assertEqual(
            [m["id"] for m in values["dynamic_member_ids"]],
            self.m_anna_sales.ids,
            "her own row only",
        )
        self.assertEqual(
            values["static_member_ids"],
            [],
            "she does not see her colleagues' memberships",
        )
        self.assertEqual(values["member_ids"], self.m_anna_sales.ids)
        self.assertNoAccess(self.queue_support.with_user(self.agent).read, ["name"])
        self.assertNoAccess(
            self.m_bruno_sales.with_user(self.agent).read, ["connected"]
        )

        bruno = self.env["axivox.queue"].with_user(self.agent2)
        self.assertEqual(
            self._ours(bruno.search([])), self.queue_sales | self.queue_support
        )

    def test_agent_cannot_write_queues_or_memberships(self):
        sales = self.queue_sales.with_user(self.agent)
        mine = self.m_anna_sales.with_user(self.agent)
        self.assertNoAccess(sales.write, {"max_wait_time": 30})
        self.assertNoAccess(sales.unlink)
        self.assertNoAccess(
            self.env["axivox.queue"].with_user(self.agent).create,
            {
                "name": "Mine",
                "account_id": self.account_a.id,
                "extension": "901",
                "login_code": "*91",
                "logout_code": "*92",
            },
        )
        self.assertNoAccess(mine.write, {"connected": True})
        self.assertNoAccess(mine.write, {"member_type": "static"})
        self.assertNoAccess(mine.unlink)
        self.assertNoAccess(
            self.env["axivox.queue.member"].with_user(self.agent).create,
            {"queue_id": self.queue_support.id, "user_id": self.agent.id},
        )
        # the manager's buttons are refused before the PBX is called
        self.assertNoAccess(mine.action_connect)
        self.assertNoAccess(mine.action_disconnect)
        self.assertNoAccess(sales.action_apply_changes)
        self.assertNoAccess(
            self.env["axivox.queue.connect.wizard"].with_user(self.agent).create,
            {"queue_id": self.queue_sales.id, "member_id": self.m_anna_sales.id},
        )
        self.assertFalse(self.m_anna_sales.connected)

    def test_agent_no_events_no_accounts(self):
        self.assertNoAccess(
            self.env["axivox.queue.event"].with_user(self.agent).search, []
        )
        self.assertNoAccess(self.event_a.with_user(self.agent).read, ["call_id"])
        self.assertNoAccess(self.env["axivox.account"].with_user(self.agent).search, [])
        self.assertNoAccess(self.account_a.with_user(self.agent).read, ["name"])
        self.assertNoAccess(self.account_a.with_user(self.agent).read, ["api_key"])
        self.assertNoAccess(
            self.env["axivox.queue.report.wizard"].with_user(self.agent).create, {}
        )
        # the report's event types are readable by every employee (the wizard's
        # choices), changed by administrators only
        types = self.env["axivox.queue.event.type"].with_user(self.agent).search([])
        self.assertEqual(len(types), 13)
        for user in (self.agent, self.manager):
            self.assertNoAccess(types[:1].with_user(user).write, {"name": "Renamed"})
            self.assertNoAccess(types[:1].with_user(user).unlink)
        types[:1].with_user(self.admin).write({"sequence": 11})

    def test_employee_without_queue_group(self):
        Queue = self.env["axivox.queue"].with_user(self.employee)
        self.assertNoAccess(Queue.search, [])
        self.assertNoAccess(
            self.env["axivox.queue.member"].with_user(self.employee).search, []
        )

    # ------------------------------------------------------------------
    # Managers
    # ------------------------------------------------------------------
    def test_manager_runs_every_queue_of_her_company(self):
        Queue = self.env["axivox.queue"].with_user(self.manager)
        Member = self.env["axivox.queue.member"].with_user(self.manager)
        self.assertEqual(
            self._ours(Queue.search([])), self.queue_sales | self.queue_support
        )
        self.assertEqual(
            self._ours(Member.search([])),
            self.m_anna_sales | self.m_bruno_sales | self.m_bruno_support,
        )
        queue = Queue.create(
            {
                "name": "Billing",
                "extension": "901",
                "login_code": "*91",
                "logout_code": "*92",
                "account_id": self.account_a.id,
            }
        )
        self.assertTrue(queue.pending_changes)
        queue.write({"strategy": "linear", "max_ring_time": 30})
        member = Member.create({"queue_id": queue.id, "user_id": self.agent.id})
        member.write({"member_type": "static"})
        self.assertTrue(member.connected)
        member.unlink()
        queue.unlink()
        self.queue_sales.with_user(self.manager).write({"max_wait_time": 120})
        self.assertEqual(self.queue_sales.max_wait_time, 120)
        # default account: the one of her company
        self.assertTrue(Queue.default_get(["account_id"]).get("account_id"))

    def test_manager_cannot_disconnect_static_agent(self):
        static = self.m_bruno_sales.with_user(self.manager)
        with self.assertRaises(UserError) as caught:
            static.action_disconnect()
        self.assertEqual(
            str(caught.exception),
            "Ax Agent Bruno is a static agent of Sales (tests): static agents are"
            " always connected and cannot be disconnected.",
        )
        self.assertTrue(self.m_bruno_sales.connected)

    def test_manager_reads_events_and_the_report(self):
        Event = self.env["axivox.queue.event"].with_user(self.manager)
        self.assertIn(self.event_a, Event.search([]))
        self.assertNotIn(self.event_b, Event.search([]))
        event = self.event_a.with_user(self.manager)
        self.assertEqual(event.call_id, "c1")
        self.assertNoAccess(event.write, {"call_id": "forged"})
        self.assertNoAccess(event.unlink)
        self.assertNoAccess(
            Event.create,
            {
                "account_id": self.account_a.id,
                "event_time": datetime(2026, 3, 2),
                "event_ts": 1.0,
                "event_type": "ABANDON",
                "pbx_event_id": "forged",
            },
        )
        wizard = (
            self.env["axivox.queue.report.wizard"].with_user(self.manager).create({})
        )
        self.assertEqual(len(wizard.event_type_ids), 13)
        connect = (
            self.env["axivox.queue.connect.wizard"]
            .with_user(self.manager)
            .create(
                {"queue_id": self.queue_sales.id, "member_id": self.m_anna_sales.id}
            )
        )
        self.assertEqual(connect.member_id, self.m_anna_sales)

    def test_wizards_are_personal(self):
        colleague = (
            self.env["res.users"]
            .with_context(no_reset_password=True)
            .create(
                {
                    "name": "Ax Manager Two",
                    "login": "ax_manager_two",
                    "groups_id": [
                        Command.set(
                            [
                                self.env.ref("base.group_user").id,
                                self.env.ref(
                                    "voip_axivox_queue.group_axivox_manager"
                                ).id,
                            ]
                        )
                    ],
                }
            )
        )
        report = (
            self.env["axivox.queue.report.wizard"].with_user(self.manager).create({})
        )
        connect = (
            self.env["axivox.queue.connect.wizard"]
            .with_user(self.manager)
            .create(
                {"queue_id": self.queue_sales.id, "member_id": self.m_anna_sales.id}
            )
        )
        self.assertEqual(report.read(["call_id"])[0]["id"], report.id)
        self.assertNoAccess(report.with_user(colleague).read, ["call_id"])
        self.assertNoAccess(report.with_user(colleague).write, {"call_id": "x"})
        self.assertNoAccess(connect.with_user(colleague).read, ["member_id"])
        self.assertNoAccess(connect.with_user(colleague).action_connect)

    # ------------------------------------------------------------------
    # Multi-company
    # ------------------------------------------------------------------
    def test_other_company_is_invisible(self):
        for user, own_queue, other_queue in (
            (self.manager, self.queue_sales, self.queue_b),
            (self.manager_b, self.queue_b, self.queue_sales),
        ):
            with self.subTest(user=user.login):
                Queue = self.env["axivox.queue"].with_user(user)
                queues = Queue.search([])
                self.assertIn(own_queue, queues)
                self.assertNotIn(other_queue, queues)
                self.assertNoAccess(other_queue.with_user(user).read, ["name"])
                self.assertNoAccess(
                    other_queue.with_user(user).write, {"max_wait_time": 9}
                )
                self.assertNoAccess(other_queue.with_user(user).unlink)
                Member = self.env["axivox.queue.member"].with_user(user)
                self.assertFalse(Member.search([("queue_id", "=", other_queue.id)]))
                other_member = other_queue.member_ids[:1]
                self.assertNoAccess(other_member.with_user(user).read, ["connected"])
                Account = self.env["axivox.account"].with_user(user)
                self.assertEqual(
                    Account.search(
                        [("id", "in", (self.account_a | self.account_b).ids)]
                    ),
                    own_queue.account_id,
                )
                self.assertNoAccess(
                    other_queue.account_id.with_user(user).read, ["name"]
                )
                Event = self.env["axivox.queue.event"].with_user(user)
                self.assertEqual(
                    Event.search([("pbx_event_id", "like", "sec-")]),
                    self.event_a if own_queue == self.queue_sales else self.event_b,
                )
        # nor can a manager put a queue on the other company's account
        with self.assertRaises(AccessError):
            self.env["axivox.queue"].with_user(self.manager).create(
                {
                    "name": "Smuggled",
                    "account_id": self.account_b.id,
                    "extension": "909",
                    "login_code": "*991",
                    "logout_code": "*992",
                }
            )

    def test_agent_of_other_company(self):
        Queue = self.env["axivox.queue"].with_user(self.agent_b)
        self.assertEqual(self._ours(Queue.search([])), self.queue_b)
        self.assertEqual(
            self.env["axivox.queue.member"].with_user(self.agent_b).search([]),
            self.m_bea_b,
        )

    def test_user_of_both_companies_sees_both(self):
        Queue = self.env["axivox.queue"].with_user(self.manager_ab)
        self.assertEqual(
            self._ours(Queue.search([])),
            self.queue_sales | self.queue_support | self.queue_b,
        )
        Event = self.env["axivox.queue.event"].with_user(self.manager_ab)
        self.assertEqual(
            Event.search([("pbx_event_id", "like", "sec-")]),
            self.event_a | self.event_b,
        )
        # ... unless the web client narrows the allowed companies to one
        Queue = Queue.with_context(allowed_company_ids=self.company_b.ids)
        self.assertEqual(self._ours(Queue.search([])), self.queue_b)

    @mute_logger("odoo.models")
    def test_member_company_follows_queue(self):
        self.assertEqual(self.m_bea_b.company_id, self.company_b)
        self.assertEqual(self.m_anna_sales.company_id, self.company_a)
        self.assertEqual(self.event_b.company_id, self.company_b)
