"""The caller card: sent through the bus to the agent a queue caller connects to
(CONNECT for her extension), removed when the call ends; the card of a number the agent
calls."""
import json
from datetime import datetime, timedelta, timezone

from odoo.tests import tagged

from ..bus_notifications import CALLER_CARD
from .contact_centre_common import ContactCentreCase

CARD = CALLER_CARD


def stamp(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


@tagged("post_install", "-at_install")
class TestCallerCard(ContactCentreCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.acme = cls.env["res.partner"].create({"name": "Acme", "is_company": True})
        cls.alice = cls.env["res.partner"].create(
            {"name": "Alice", "phone": "02 555 01 00", "parent_id": cls.acme.id}
        )

    def cards(self, user):
        self.env.cr.precommit.run()
        messages = self.env["bus.bus"].search([("message", "like", CARD)], order="id")
        result = []
        for message in messages:
            channel = json.loads(message.channel)
            if channel[1:] == ["res.partner", user.partner_id.id] or channel == [
                self.env.cr.dbname,
                "res.partner",
                user.partner_id.id,
            ]:
                result.append(json.loads(message.message)["payload"])
        return result

    def test_card_on_connect_then_gone_when_the_call_ends(self):
        self.ingest(
            self.call("old1", "+3225550100", "09:00:00", fate="ABANDON", wait=30)
        )
        self.env["bus.bus"].search([]).unlink()
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        common = {"call_id": "live1", "caller_number": "+32 2 555 01 00"}
        self.ingest(
            [
                self.ev("ENTERQUEUE", stamp(now - timedelta(seconds=20)), **common),
                self.ev(
                    "CONNECT", stamp(now), agent_extension="202", wait_time=20, **common
                ),
            ]
        )
        messages = self.cards(self.agent2)
        self.assertEqual(len(messages), 1, "one message per agent and batch")
        self.assertEqual(messages[0]["ended"], [])
        card = messages[0]["cards"][0]
        self.assertEqual(
            (card["call_id"], card["number"], card["queue_name"]),
            ("live1", "+32 2 555 01 00", "Sales (tests)"),
        )
        self.assertEqual(
            card["partner"],
            {
                "id": self.alice.id,
                "name": "Alice",
                "company_id": self.acme.id,
                "company_name": "Acme",
            },
        )
        self.assertEqual(
            [(h["call_id"], h["outcome"], h["wait_time"]) for h in card["history"]],
            [("old1", "abandoned", 30)],
        )
        self.assertFalse(self.cards(self.agent), "only the agent on the call")
        self.env["bus.bus"].search([]).unlink()
        self.ingest(
            [
                self.ev(
                    "COMPLETEAGENT",
                    stamp(now + timedelta(seconds=60)),
                    agent_extension="202",
                    talk_time=60,
                    **common,
                )
            ]
        )
        self.assertEqual(self.cards(self.agent2), [{"cards": [], "ended": ["live1"]}])

    def test_card_on_connect_shows_only_what_the_agent_may_read(self):
        """Anna is in Sales only: the card pushed to her shows the caller's calls in
        Sales, not those in Support (a queue she is not in), as the card of a number
        she calls does; Bruno, in both, sees both."""
        self.ingest(
            self.call("s1", "+3225550100", "09:00:00", queue="q-sales")
            + self.call("p1", "+3225550100", "09:10:00", queue="q-support")
        )
        self.env["bus.bus"].search([]).unlink()
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        for call_id, ext in (("live3", "201"), ("live4", "202")):
            self.ingest(
                [
                    self.ev(
                        "CONNECT",
                        stamp(now),
                        call_id=call_id,
                        caller_number="+3225550100",
                        agent_extension=ext,
                        wait_time=5,
                    )
                ]
            )
        (anna,) = self.cards(self.agent)
        self.assertEqual(
            [h["call_id"] for h in anna["cards"][0]["history"]],
            ["s1"],
            "the Support call is not hers to read",
        )
        self.assertEqual(
            [h["call_id"] for h in anna["cards"][0]["history"]],
            [
                h["call_id"]
                for h in self.env["axivox.softphone"]
                .with_user(self.agent)
                .caller_card("+3225550100")["history"]
                if h["call_id"] not in ("live3", "live4")
            ],
            "the same as the card of the number she calls (the live calls aside)",
        )
        (bruno,) = self.cards(self.agent2)
        self.assertEqual(
            [h["call_id"] for h in bruno["cards"][0]["history"]],
            ["live3", "p1", "s1"],
            "Anna's call, just connected, and both queues' calls",
        )
        # Nobody of the other company receives either card.
        self.assertEqual(self.cards(self.agent_b), [])
        self.assertEqual(self.cards(self.manager_b), [])

    def test_unknown_caller_and_old_events(self):
        self.env["bus.bus"].search([]).unlink()
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        self.ingest(
            [
                self.ev(
                    "CONNECT",
                    stamp(now),
                    call_id="live2",
                    caller_number="+3225559876",
                    agent_extension="201",
                    wait_time=5,
                )
            ]
        )
        card = self.cards(self.agent)[0]["cards"][0]
        self.assertEqual(
            (card["partner"], card["number"], card["history"]),
            (False, "+3225559876", []),
        )
        # The sync of the past shows no card.
        self.env["bus.bus"].search([]).unlink()
        self.ingest(self.call("past", "+3225550100", "10:00:00", agent="201"))
        self.assertEqual(self.cards(self.agent), [])

    def test_card_of_a_number_the_agent_calls(self):
        self.ingest(self.call("h1", "+3225550100", "09:00:00"))
        card = (
            self.env["axivox.softphone"]
            .with_user(self.agent)
            .caller_card("02 555 01 00")
        )
        self.assertEqual(card["partner"]["name"], "Alice")
        self.assertEqual([h["call_id"] for h in card["history"]], ["h1"])
        self.assertEqual(card["history"][0]["agent_name"], self.agent2.name)
        unknown = (
            self.env["axivox.softphone"]
            .with_user(self.agent)
            .caller_card("+3225551212")
        )
        self.assertEqual((unknown["partner"], unknown["history"]), (False, []))
        self.assertFalse(
            self.env["axivox.softphone"]
            .with_user(self.agent)
            .caller_card("")["partner"]
        )

    def test_card_of_a_number_shows_only_the_calls_she_may_read(self):
        # Anna is an agent of Sales only; Support's calls are not hers to read.
        self.ingest(self.call("s1", "+3225550100", "09:00:00", queue="q-sales"))
        self.ingest(self.call("p1", "+3225550100", "10:00:00", queue="q-support"))
        Softphone = self.env["axivox.softphone"]
        anna = Softphone.with_user(self.agent).caller_card("02 555 01 00")
        self.assertEqual([h["call_id"] for h in anna["history"]], ["s1"])
        bruno = Softphone.with_user(self.agent2).caller_card("02 555 01 00")
        self.assertEqual([h["call_id"] for h in bruno["history"]], ["p1", "s1"])

    def test_card_of_a_number_is_rate_limited_like_dialing(self):
        from odoo.exceptions import UserError

        from ..models.axivox_softphone import DIAL_LIMIT

        Softphone = self.env["axivox.softphone"].with_user(self.agent)
        for _n in range(DIAL_LIMIT):
            Softphone.caller_card("02 555 01 00")
        with self.assertRaisesRegex(UserError, "wait a minute"):
            Softphone.caller_card("02 555 01 00")
