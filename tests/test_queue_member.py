"""Queue memberships: connected agents, static members, one row per queue and user, the
extension of the queue's account, and the login state applied newest-first."""
from datetime import datetime

from psycopg2 import IntegrityError

from odoo.exceptions import UserError, ValidationError
from odoo.tools import mute_logger

from .common import AxivoxCase


class TestQueueMember(AxivoxCase):
    # ------------------------------------------------------------------
    # Connected agents
    # ------------------------------------------------------------------
    def test_connected_computes(self):
        sales = self.queue_sales
        # Bruno is static: connected; Anna is dynamic, logged out.
        self.assertEqual(sales.connected_count, 1)
        self.assertEqual(sales.connected_agents, "Ax Agent Bruno")
        self.assertEqual(sales.member_count, 2)
        self.assertEqual(sales.connected_member_ids, self.m_bruno_sales)
        self.assertEqual(sales.static_member_ids, self.m_bruno_sales)
        self.assertEqual(sales.dynamic_member_ids, self.m_anna_sales)

        self.m_anna_sales._set_login_state_if_newer(
            True, datetime(2026, 1, 1, 9), "pbx", ts=10.0
        )
        self.assertEqual(sales.connected_count, 2)
        self.assertEqual(
            set(sales.connected_agents.split(", ")), {"Ax Agent Anna", "Ax Agent Bruno"}
        )
        # stored: a search on it works (the dashboard's filters)
        self.assertIn(
            sales, self.env["axivox.queue"].search([("connected_count", "=", 2)])
        )

        self.m_anna_sales._set_login_state_if_newer(
            False, datetime(2026, 1, 1, 17), "pbx", ts=20.0
        )
        self.assertEqual(sales.connected_count, 1)
        self.assertEqual(sales.connected_agents, "Ax Agent Bruno")
        self.assertEqual(self.queue_support.connected_count, 0)
        self.assertFalse(self.queue_support.connected_agents)

    def test_connected_agents_follow_user_name(self):
        self.agent2.name = "Bruno Renamed"
        self.assertEqual(self.queue_sales.connected_agents, "Bruno Renamed")

    # ------------------------------------------------------------------
    # Members
    # ------------------------------------------------------------------
    def test_static_member_always_connected(self):
        Member = self.env["axivox.queue.member"]
        member = Member.create(
            {
                "queue_id": self.queue_support.id,
                "user_id": self.agent.id,
                "member_type": "static",
            }
        )
        self.assertTrue(member.connected)
        self.assertTrue(member.connected_since)
        # the PBX saying "disconnected" changes nothing for a static agent
        self.assertFalse(
            member._set_login_state_if_newer(False, datetime(2026, 1, 1), "pbx", ts=5.0)
        )
        self.assertTrue(member.connected)
        # nor can anyone write it
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError) as caught:
            member.write({"connected": False})
            member.flush_recordset()
        self.assertIn("axivox_queue_member_static_connected", str(caught.exception))
        # a manager's Disconnect says why, before any PBX call
        with self.assertRaises(UserError) as caught:
            member.action_disconnect()
        self.assertIn(
            "static agents are always connected and cannot be disconnected",
            str(caught.exception),
        )
        # a dynamic agent made static is connected
        self.m_anna_sales.member_type = "static"
        self.assertTrue(self.m_anna_sales.connected)

    def test_one_member_row_per_queue_and_user(self):
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError) as caught:
            self.env["axivox.queue.member"].create(
                {
                    "queue_id": self.queue_sales.id,
                    "user_id": self.agent.id,
                    "member_type": "static",
                }
            )
        self.assertIn("axivox_queue_member_queue_user_unique", str(caught.exception))

    def test_member_needs_extension_of_the_queue_account(self):
        Member = self.env["axivox.queue.member"]
        with self.assertRaises(ValidationError) as caught:
            Member.create(
                {"queue_id": self.queue_sales.id, "user_id": self.employee.id}
            )
        self.assertIn("has no PBX extension", str(caught.exception))
        with self.assertRaises(ValidationError) as caught:
            Member.create({"queue_id": self.queue_sales.id, "user_id": self.agent_b.id})
        self.assertIn("belongs to another PBX account", str(caught.exception))

    def test_set_login_state_if_newer_ordering(self):
        member = self.m_anna_sales
        t9, t10, t11 = (datetime(2026, 3, 2, h) for h in (9, 10, 11))
        self.assertEqual(
            member._set_login_state_if_newer(True, t10, "pbx", ts=1000.5), member
        )
        self.assertTrue(member.connected)
        self.assertEqual(member.connected_since, t10)
        self.assertEqual(member.last_change_ts, 1000.5)
        self.assertEqual(member.last_source, "pbx")
        # an older "disconnecting" arrives late: ignored
        self.assertFalse(member._set_login_state_if_newer(False, t9, "pbx", ts=999.0))
        self.assertTrue(member.connected)
        self.assertEqual(member.last_change_ts, 1000.5)
        # the same timestamp again: ignored (idempotent)
        self.assertFalse(member._set_login_state_if_newer(False, t10, "pbx", ts=1000.5))
        self.assertTrue(member.connected)
        # a newer one applies
        self.assertEqual(
            member._set_login_state_if_newer(False, t11, "sync", ts=1001.0), member
        )
        self.assertFalse(member.connected)
        self.assertFalse(member.connected_since)
        self.assertEqual(member.last_change, t11)
        self.assertEqual(member.last_source, "sync")
        # a newer event with the state it already has: recorded, not a change
        self.assertFalse(member._set_login_state_if_newer(False, t11, "pbx", ts=1002.0))
        self.assertEqual(member.last_change_ts, 1002.0)
        # the PBX's own connection time wins over the event time
        member._set_login_state_if_newer(
            True, t11, "pbx", ts=1003.0, since="2026-03-02T10:30:00Z"
        )
        self.assertEqual(member.connected_since, datetime(2026, 3, 2, 10, 30))

    def test_ingest_login_events_newest_wins(self):
        Member = self.env["axivox.queue.member"]
        self.queue_support.with_context(axivox_no_pending_change=True).write(
            {"remote_id": "support-t", "pending_changes": False}
        )
        queues = {"support-t": self.queue_support}
        users = {"202": self.agent2, "201": self.agent}
        events = [
            {
                "id": "e2",
                "type": "REMOVEMEMBER",
                "queue_id": "support-t",
                "timestamp": "2026-03-02T10:00:05.000Z",
                "agent_extension": "202",
            },
            {
                "id": "e1",
                "type": "ADDMEMBER",
                "queue_id": "support-t",
                "timestamp": "2026-03-02T10:00:00.000Z",
                "agent_extension": "202",
            },
            {
                "id": "e3",
                "type": "ADDMEMBER",
                "queue_id": "support-t",
                "timestamp": "2026-03-02T10:00:01.000Z",
                "agent_extension": "201",
            },
        ]
        Member._ingest_login_events(self.account_a, events, queues, users)
        self.assertFalse(self.m_bruno_support.connected, "the newest (logout) wins")
        anna = self.queue_support.member_ids.filtered(lambda m: m.user_id == self.agent)
        self.assertTrue(
            anna.connected, "a dynamic agent logged in on the PBX is mirrored"
        )
        self.assertEqual(anna.member_type, "dynamic")
        self.assertFalse(self.queue_support.pending_changes, "the PBX's own state")
