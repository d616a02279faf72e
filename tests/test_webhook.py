"""The signed webhook receiver, through real HTTP requests to the running Odoo server.
"""
import json
import time
from datetime import datetime, timedelta, timezone

from odoo import fields
from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from ..bus_notifications import MEMBER_STATE
from .common import DAY, WEBHOOK_URL, WebhookWorld, event, signed


@tagged("post_install", "-at_install")
class TestWebhook(WebhookWorld, HttpCase):
    def post(self, payload=None, body=None, **options):
        """POST ``payload`` as JSON (or the raw ``body``); ``options`` as
        ``post_webhook`` takes them (secret, now, token, headers)."""
        body = body if body is not None else json.dumps(payload).encode()
        return self.post_webhook(body, **options)

    def events(self):
        return self.env["axivox.queue.event"].search(
            [("account_id", "=", self.account.id)]
        )

    # ------------------------------------------------------------------ success
    def test_single_event_connects_the_agent(self):
        sofia = self.member(self.sales, "102")
        self.assertFalse(sofia.connected)
        response = self.post(
            event("e1", "ADDMEMBER", agent_extension="102", at=f"{DAY}T09:00:00.250Z")
        )
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json(), {"applied": 1, "duplicates": 0})
        self.assertTrue(sofia.connected)
        self.assertEqual(str(sofia.connected_since), f"{DAY} 09:00:00")
        self.assertEqual(sofia.last_source, "pbx")
        nine = datetime.strptime(DAY, "%Y-%m-%d").replace(hour=9, tzinfo=timezone.utc)
        self.assertAlmostEqual(sofia.last_change_ts, nine.timestamp() + 0.25, places=3)
        self.assertEqual(self.sales.connected_count, 2)
        self.assertIn("Sofia Rossi", self.sales.connected_agents)
        line = self.events()
        self.assertEqual(len(line), 1)
        self.assertEqual(
            (line.event_type, line.agent_user_id, line.source, line.queue_id),
            ("ADDMEMBER", self.users["102"], "webhook", self.sales),
        )
        self.assertEqual(line.payload["id"], "e1")

    def test_state_change_notifies_agent_and_managers(self):
        before = self.env["bus.bus"].sudo().search([], order="id desc", limit=1).id or 0
        self.post(event("e1", "ADDMEMBER", agent_extension="102"))
        notes = (
            self.env["bus.bus"]
            .sudo()
            .search(
                [
                    ("message", "like", MEMBER_STATE),
                    ("id", ">", before),
                ]
            )
        )
        channels = {
            json.loads(n.channel)[2] for n in notes if n.channel.startswith("[")
        }
        self.assertIn(self.users["102"].partner_id.id, channels)
        self.assertIn(self.manager.partner_id.id, channels)
        self.assertNotIn(
            self.users["101"].partner_id.id,
            channels,
            "another agent is not told about Sofia's login",
        )
        payload = json.loads(notes[0].message)["payload"]
        self.assertEqual(
            (payload["queue_id"], payload["connected"], payload["connected_count"]),
            (self.sales.id, True, 2),
        )

    def test_batch_then_duplicate(self):
        batch = {
            "events": [
                event(
                    "b1",
                    "ENTERQUEUE",
                    call_id="c1",
                    caller_number="+3225550101",
                    position=1,
                ),
                event(
                    "b2", "CONNECT", call_id="c1", agent_extension="100", wait_time=4
                ),
                event(
                    "b3",
                    "COMPLETECALLER",
                    call_id="c1",
                    agent_extension="100",
                    talk_time=60,
                ),
            ]
        }
        first = self.post(batch)
        self.assertEqual(first.json(), {"applied": 3, "duplicates": 0})
        kept = self.events().ids
        again = self.post(batch)
        self.assertEqual(again.status_code, 200)
        self.assertEqual(again.json(), {"applied": 0, "duplicates": 3})
        self.assertEqual(self.events().ids, kept, "the first delivery's events stay")
        # The same event twice in one batch is stored once.
        twice = self.post({"events": [event("b4", "ABANDON"), event("b4", "ABANDON")]})
        self.assertEqual(twice.json(), {"applied": 1, "duplicates": 1})

    def test_reordered_pair_keeps_the_newest_state(self):
        sofia = self.member(self.sales, "102")
        late_logout = event(
            "r2", "REMOVEMEMBER", agent_extension="102", at=f"{DAY}T10:00:05.000Z"
        )
        early_login = event(
            "r1", "ADDMEMBER", agent_extension="102", at=f"{DAY}T10:00:01.000Z"
        )
        self.post(late_logout)
        self.assertFalse(sofia.connected)
        self.post(early_login)
        self.assertFalse(sofia.connected, "an older login never undoes a newer logout")
        self.assertEqual(len(self.events()), 2, "both stay in the report")
        # Within one batch too: the newest wins whatever the order.
        self.post(
            {
                "events": [
                    event(
                        "r4",
                        "ADDMEMBER",
                        agent_extension="102",
                        at=f"{DAY}T11:00:09.000Z",
                    ),
                    event(
                        "r3",
                        "REMOVEMEMBER",
                        agent_extension="102",
                        at=f"{DAY}T11:00:02.000Z",
                    ),
                ]
            }
        )
        self.assertTrue(sofia.connected)

    def test_events_of_the_same_second_apply_in_the_feed_order(self):
        """Asterisk's queue_log counts whole seconds: of two events of one agent in
        the same second, the later in the PBX's feed (``seq``) wins, whether they come
        in one delivery or in two, in any order."""
        sofia = self.member(self.sales, "102")
        at = f"{DAY}T12:00:07.000Z"

        def member_event(id_, kind, seq):
            return event(id_, kind, agent_extension="102", at=at, seq=seq)

        # In one delivery, listed in the wrong order: the logout (seq 11) wins.
        self.post(
            {
                "events": [
                    member_event("s2", "REMOVEMEMBER", 11),
                    member_event("s1", "ADDMEMBER", 10),
                ]
            }
        )
        self.assertFalse(sofia.connected)
        # A later login of the same second, then an earlier logout delivered late.
        self.post(member_event("s3", "ADDMEMBER", 12))
        self.assertTrue(sofia.connected)
        self.assertEqual(sofia.last_change_seq, 12)
        self.post(member_event("s0", "REMOVEMEMBER", 9))
        self.assertTrue(sofia.connected, "an earlier event of the same second is late")
        # Her call: CONNECT and COMPLETEAGENT of the same second.
        self.post(
            {
                "events": [
                    event(
                        "c2",
                        "COMPLETEAGENT",
                        agent_extension="102",
                        at=at,
                        seq=21,
                        call_id="x.1",
                    ),
                    event(
                        "c1",
                        "CONNECT",
                        agent_extension="102",
                        at=at,
                        seq=20,
                        call_id="x.1",
                    ),
                ]
            }
        )
        self.assertFalse(sofia.on_call, "the call ended after it began")
        self.post(
            event("c3", "CONNECT", agent_extension="102", at=at, seq=22, call_id="x.2")
        )
        self.assertTrue(sofia.on_call)
        self.assertEqual(sofia.call_id, "x.2")

    def test_static_agent_stays_connected(self):
        admin = self.member(self.sales, "100")
        self.post(event("s1", "REMOVEMEMBER", agent_extension="100"))
        self.assertTrue(admin.connected)

    def test_unmirrored_dynamic_agent_gets_a_member_row(self):
        self.assertFalse(self.member(self.sales, "103"))
        self.post(
            event("u1", "ADDMEMBER", agent_extension="103", member_type="dynamic")
        )
        luca = self.member(self.sales, "103")
        self.assertTrue(luca)
        self.assertEqual((luca.member_type, luca.connected), ("dynamic", True))

    def test_unmapped_extension_is_kept_on_the_event(self):
        self.post(
            event("x1", "ADDMEMBER", agent_extension="999", agent_name="Temp Agent")
        )
        line = self.events()
        self.assertTrue(line.agent_unmapped)
        self.assertEqual((line.agent_extension, line.agent_name), ("999", "Temp Agent"))
        self.assertFalse(line.agent_user_id)
        self.assertEqual(
            len(self.sales.member_ids), 3, "no member for an unknown extension"
        )

    def test_event_of_unknown_queue_is_kept(self):
        response = self.post(
            event("q1", "ENTERQUEUE", queue_id="not-mirrored", call_id="c9")
        )
        self.assertEqual(response.json()["applied"], 1)
        line = self.events()
        self.assertFalse(line.queue_id)
        self.assertEqual(line.queue_remote_id, "not-mirrored")

    # ------------------------------------------------------------------ refusals
    def assertRefused(self, response, status, code):
        self.assertEqual(response.status_code, status, response.text)
        self.assertEqual(response.json()["error"]["code"], code)
        self.assertFalse(self.events(), "a refused request changes nothing")
        self.assertFalse(self.member(self.sales, "102").connected)

    def test_wrong_secret_and_unknown_account_get_the_same_answer(self):
        payload = event("w1", "ADDMEMBER", agent_extension="102")
        wrong = self.post(payload, secret="not-the-secret")
        self.assertRefused(wrong, 401, "invalid_signature")
        unknown = self.post(payload, token="no-such-account-token")
        self.assertRefused(unknown, 401, "invalid_signature")
        self.assertEqual(wrong.json(), unknown.json())

    def assertUnsigned(self, response):
        self.assertEqual(response.status_code, 401, response.text)
        self.assertEqual(response.json()["error"]["code"], "invalid_signature")

    def test_account_changes_apply_to_the_next_delivery(self):
        """Every Odoo process caches the accounts' tokens and secrets: a rotated
        secret, an archived account and a new account count from the next delivery."""
        self.assertEqual(
            self.post(event("c1", "ADDMEMBER", agent_extension="102")).status_code, 200
        )
        self.account.with_user(
            self.env.ref("base.user_admin")
        ).action_rotate_webhook_secret()
        self.end_grace()
        secret = self.account.webhook_secret
        self.assertUnsigned(
            self.post(event("c2", "ADDMEMBER", agent_extension="101")),
        )
        self.assertEqual(
            self.post(
                event("c3", "ADDMEMBER", agent_extension="101"), secret=secret
            ).status_code,
            200,
        )
        self.account.action_archive()
        self.assertUnsigned(
            self.post(
                event("c4", "REMOVEMEMBER", agent_extension="101"), secret=secret
            ),
        )
        other = self.env["axivox.account"].create(
            {
                "name": "Other PBX",
                "api_url": "http://127.0.0.1:9",
                "webhook_secret": "other",
            }
        )
        response = self.post(
            event("c5", "ENTERQUEUE", queue_id="other-q", call_id="x"),
            secret="other",
            token=other.webhook_token,
        )
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(
            self.env["axivox.queue.event"]
            .search([("account_id", "=", other.id)])
            .pbx_event_id,
            "c5",
        )
        self.assertEqual(sorted(self.events().mapped("pbx_event_id")), ["c1", "c3"])

    def end_grace(self):
        """The grace period of the previous webhook secret is over."""
        self.account.webhook_secret_previous_until = fields.Datetime.now() - timedelta(
            seconds=1
        )

    def test_the_previous_secret_is_accepted_for_a_grace_period(self):
        old = self.account.webhook_secret
        self.account.with_user(
            self.env.ref("base.user_admin")
        ).action_rotate_webhook_secret()
        self.assertNotEqual(self.account.webhook_secret, old)
        # a delivery the PBX signed before it was given the new secret
        response = self.post(
            event("g1", "ADDMEMBER", agent_extension="102"), secret=old
        )
        self.assertEqual(response.status_code, 200, response.text)
        response = self.post(
            event("g2", "ADDMEMBER", agent_extension="101"),
            secret=self.account.webhook_secret,
        )
        self.assertEqual(response.status_code, 200, response.text)
        self.end_grace()
        self.assertUnsigned(
            self.post(event("g3", "REMOVEMEMBER", agent_extension="102"), secret=old)
        )
        self.assertEqual(sorted(self.events().mapped("pbx_event_id")), ["g1", "g2"])

    def test_missing_signature(self):
        body = json.dumps(event("m1", "ADDMEMBER", agent_extension="102")).encode()
        response = self.url_open(
            WEBHOOK_URL % self.token,
            data=body,
            headers={"Content-Type": "application/json"},
        )
        self.assertRefused(response, 401, "invalid_signature")

    def test_tampered_body(self):
        body = json.dumps(event("t1", "ADDMEMBER", agent_extension="102")).encode()
        headers = signed(body)
        tampered = body.replace(b"102", b"101")
        response = self.url_open(
            WEBHOOK_URL % self.token, data=tampered, headers=headers
        )
        self.assertRefused(response, 401, "invalid_signature")

    def test_replayed_request_is_refused(self):
        stale = time.time() - 3600
        response = self.post(event("p1", "ADDMEMBER", agent_extension="102"), now=stale)
        self.assertRefused(response, 401, "invalid_signature")

    def test_malformed_json(self):
        self.assertRefused(self.post(body=b'{"events": [tru'), 400, "malformed_json")

    def quarantined(self):
        return self.env["axivox.queue.event.quarantine"].search(
            [("account_id", "=", self.account.id)]
        )

    def test_invalid_events_are_quarantined_with_the_reason(self):
        cases = [
            (event("v1", "NOSUCHTYPE"), "type"),
            (
                {
                    "type": "ABANDON",
                    "queue_id": "sales",
                    "timestamp": f"{DAY}T10:00:00Z",
                },
                "id",
            ),
            (event("v3", "ABANDON", wait_time="12"), "wait_time"),
            (event("v4", "ADDMEMBER"), "agent_extension"),
            (event("v5", "ABANDON", at="yesterday"), "timestamp"),
        ]
        for payload, field in cases:
            with self.subTest(field=field):
                response = self.post(payload)
                self.assertEqual(response.status_code, 200, response.text)
                self.assertEqual(
                    response.json(), {"applied": 0, "duplicates": 0, "quarantined": 1}
                )
                kept = self.quarantined()[0]
                self.assertIn(field, kept.reason)
                self.assertEqual(json.loads(kept.raw_payload), payload)
                self.assertEqual(kept.source, "webhook")
                self.assertFalse(self.events(), "an invalid event is not in the report")
        self.assertEqual(self.account.quarantine_count, len(cases))
        # The same bad event again is answered as quarantined, and the first copy
        # stays as it was.
        kept = self.quarantined().read(["reason", "raw_payload", "create_date"])
        again = self.post(cases[0][0])
        self.assertEqual(
            again.json(), {"applied": 0, "duplicates": 0, "quarantined": 1}
        )
        self.assertEqual(
            self.quarantined().read(["reason", "raw_payload", "create_date"]), kept
        )

    def test_batch_with_one_bad_event_applies_the_good_ones(self):
        response = self.post(
            {
                "events": [
                    event("g1", "ADDMEMBER", agent_extension="102"),
                    event("g2", "ENTERQUEUE", position=-1),
                    event("g3", "ABANDON"),
                ]
            }
        )
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(
            response.json(), {"applied": 2, "duplicates": 0, "quarantined": 1}
        )
        self.assertEqual(sorted(self.events().mapped("pbx_event_id")), ["g1", "g3"])
        self.assertTrue(self.member(self.sales, "102").connected)
        self.assertIn("event 1", self.quarantined().reason)
        self.assertEqual(self.quarantined().pbx_event_id, "g2")

    @mute_logger("odoo.http")
    def test_too_large_body_is_refused_before_reading(self):
        # refused by Odoo itself, before the route runs (its max_content_length)
        body = b'{"events": [' + b" " * (3 * 1024 * 1024) + b"]}"
        response = self.post(body=body)
        self.assertEqual(response.status_code, 413, response.text)
        self.assertFalse(self.events(), "a refused request changes nothing")

    def test_a_body_that_is_not_json_is_refused(self):
        body = b"type=ADDMEMBER&agent_extension=102"
        for content_type in ("application/x-www-form-urlencoded", "text/plain"):
            with self.subTest(content_type=content_type):
                response = self.post(body=body, headers={"Content-Type": content_type})
                self.assertRefused(response, 415, "unsupported_media_type")

    def test_a_body_without_its_length_is_refused(self):
        # sent chunked: no Content-Length
        body = json.dumps(event("l1", "ADDMEMBER", agent_extension="102")).encode()
        response = self.url_open(
            WEBHOOK_URL % self.token, data=iter([body]), headers=signed(body)
        )
        self.env.invalidate_all()
        self.assertRefused(response, 411, "length_required")

    def test_a_body_that_is_no_batch_is_refused_whole(self):
        for payload in ({"events": "ADDMEMBER"}, ["ADDMEMBER"], "ADDMEMBER", 42):
            with self.subTest(payload=payload):
                response = self.post(payload)
                self.assertRefused(response, 422, "invalid_event")
                self.assertFalse(self.quarantined(), "nothing to quarantine")

    @mute_logger("odoo.http")
    def test_a_large_form_is_refused_before_odoo_parses_it(self):
        # a signed multipart body of 3 MiB: Odoo reads forms before the route runs
        headers = signed(b"")
        del headers["Content-Type"]  # multipart, set by requests
        response = self.url_open(
            WEBHOOK_URL % self.token,
            files={"events": ("events.json", b" " * (3 * 1024 * 1024))},
            headers=headers,
        )
        self.assertEqual(response.status_code, 413)
        self.assertFalse(self.events())
        rule = next(
            rule
            for rule in self.env["ir.http"].routing_map().iter_rules()
            if rule.rule == "/voip_axivox_queue/webhook/<string:token>"
        )
        self.assertEqual(rule.endpoint.routing["max_content_length"], 2 * 1024 * 1024)

    @mute_logger("odoo.http")
    def test_only_post(self):
        response = self.url_open(WEBHOOK_URL % self.token)
        self.assertEqual(response.status_code, 405)
