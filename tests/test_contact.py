"""Caller -> contact: E.164 matching (national and international numbers), one lookup
per batch, relinking when a contact is created or its number changes, the contact's
calls."""
from odoo.tests import tagged

from ..models.res_partner import e164
from .contact_centre_common import ContactCentreCase


@tagged("post_install", "-at_install")
class TestCallerContact(ContactCentreCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Partner = cls.env["res.partner"]
        cls.alice = Partner.create({"name": "Alice Dubois", "phone": "+32 2 555 01 00"})
        cls.marco = Partner.create(
            {
                "name": "Marco Rossi",
                "country_id": cls.italy.id,
                "mobile": "02 1234 5678",
            }
        )
        cls.nina = Partner.create(
            {
                "name": "Nina Peeters",
                "country_id": cls.belgium.id,
                "mobile": "0470 12 34 56",
            }
        )
        cls.other_company = Partner.create(
            {
                "name": "Somebody of B",
                "phone": "+3225559999",
                "company_id": cls.company_b.id,
            }
        )

    def test_e164(self):
        be, it = self.belgium, self.italy
        self.assertEqual(e164("+32 2 555 01 00", be), "+3225550100")
        self.assertEqual(e164("02 555 01 00", be), "+3225550100")
        self.assertEqual(e164("0032 2 555 01 00", be), "+3225550100")
        self.assertEqual(e164("02 1234 5678", it), "+390212345678")
        self.assertEqual(e164("+39 02 1234 5678", be), "+390212345678")
        self.assertFalse(e164("", be))
        self.assertFalse(e164("anonymous", be))

    def test_national_and_international_numbers_match(self):
        self.ingest(
            self.call("n1", "+3225550100", "09:00:00")
            + self.call("n2", "025550100", "09:10:00")  # national, company's country
            + self.call("n3", "0032 2 555 01 00", "09:20:00")
            + self.call("n4", "+390212345678", "09:30:00")  # the Italian contact
            + self.call("n5", "0470123456", "09:40:00", fate="ABANDON")
            + self.call("n6", "+3225557777", "09:50:00")  # nobody
            + self.call("n7", "+3225559999", "09:55:00")  # a contact of company B only
        )
        for call_id, partner in (
            ("n1", self.alice),
            ("n2", self.alice),
            ("n3", self.alice),
            ("n4", self.marco),
            ("n5", self.nina),
        ):
            events = self.events_of(call_id)
            self.assertEqual(events.partner_id, partner, call_id)
            self.assertEqual(len(set(events.mapped("caller_e164"))), 1)
        self.assertFalse(self.events_of("n6").partner_id)
        self.assertEqual(
            set(self.events_of("n6").mapped("caller_e164")), {"+3225557777"}
        )
        self.assertFalse(
            self.events_of("n7").partner_id, "a contact of another company"
        )
        self.assertEqual(self.alice.axivox_queue_call_count, 3)
        self.assertEqual(self.nina.axivox_queue_call_count, 1)

    def test_one_lookup_per_batch(self):
        """The queries of a batch do not grow with its number of callers."""

        def cost(n, prefix):
            events = []
            for i in range(n):
                events += self.call(f"{prefix}{i}", f"+32255{i:05d}", "10:00:00")
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            self.ingest(events)
            return self.env.cr.sql_log_count - before

        cost(2, "warm")
        self.assertEqual(cost(5, "small"), cost(8, "small2"))
        # From COPY_FROM_ROWS (32) events on, a batch is written with COPY (one query
        # more: the stored ids are read first). Three events a call.
        self.assertEqual(cost(15, "big"), cost(60, "bigger"))

    def test_contact_created_later_is_linked(self):
        self.ingest(
            self.call("late1", "+3225551234", "11:00:00")
            + self.call("late2", "025551234", "11:10:00", fate="EXITWITHTIMEOUT")
        )
        self.assertFalse(self.events_of("late1").partner_id)
        bob = self.env["res.partner"].create({"name": "Bob", "mobile": "02 555 12 34"})
        self.assertEqual(self.events_of("late1").partner_id, bob)
        self.assertEqual(self.events_of("late2").partner_id, bob)
        self.assertEqual(bob.axivox_queue_call_count, 2)

    def test_number_change_relinks(self):
        self.ingest(self.call("ch1", "+3225550100", "12:00:00"))
        self.assertEqual(self.events_of("ch1").partner_id, self.alice)
        carl = self.env["res.partner"].create({"name": "Carl"})
        # Alice's number moves to Carl: her past calls follow the number.
        self.alice.phone = "+32 2 555 00 00"
        self.assertFalse(self.events_of("ch1").partner_id)
        carl.phone = "02/555.01.00"
        self.assertEqual(self.events_of("ch1").partner_id, carl)
        carl.active = False
        self.assertFalse(self.events_of("ch1").partner_id)

    def test_contact_calls_and_smart_button(self):
        self.ingest(
            self.call("h1", "+3225550100", "13:00:00", wait=15, talk=120)
            + self.call("h2", "+3225550100", "13:30:00", fate="ABANDON", wait=40)
        )
        action = self.alice.action_open_axivox_queue_calls()
        calls = self.env["axivox.queue.call"].search(action["domain"])
        self.assertEqual(calls.mapped("call_id"), ["h2", "h1"])  # newest first
        answered = calls.filtered(lambda c: c.call_id == "h1")
        self.assertEqual(
            (
                answered.queue_id,
                answered.outcome,
                answered.agent_user_id,
                answered.wait_time,
                answered.talk_time,
            ),
            (self.queue_sales, "answered", self.agent2, 15, 120),
        )
        abandoned = calls.filtered(lambda c: c.call_id == "h2")
        self.assertEqual(
            (abandoned.outcome, abandoned.wait_time, abandoned.agent_user_id.id),
            ("abandoned", 40, False),
        )

    def test_agents_see_their_queues_calls_only(self):
        self.ingest(
            self.call("s1", "+3225550100", "14:00:00")
            + self.call("s2", "+3225550100", "14:10:00", queue="q-support")
        )
        # Anna is an agent of Sales only; Bruno of both.
        self.assertEqual(self.alice.with_user(self.agent).axivox_queue_call_count, 1)
        self.assertEqual(self.alice.with_user(self.agent2).axivox_queue_call_count, 2)
        self.assertEqual(self.alice.with_user(self.employee).axivox_queue_call_count, 0)
