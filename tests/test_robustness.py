"""Nothing lost, nothing doubled, no 500: hostile input, bad events, conflicts and
faults."""
import contextlib
import csv
import io
import json
import time
from datetime import datetime

from werkzeug.test import EnvironBuilder

from odoo.exceptions import AccessError, UserError
from odoo.http import HTTPRequest, Request, _request_stack
from odoo.tests import HttpCase, TransactionCase, tagged
from odoo.tools import mute_logger

from ..axivox_api import signature
from ..axivox_api.events import validate_batch
from ..controllers.webhook import AxivoxWebhookController
from ..models.axivox_queue_event import COPY_FROM_ROWS, copy_text
from .common import (
    DAY,
    WEBHOOK_SECRET,
    WEBHOOK_URL,
    AxivoxCase,
    SimulatedWorld,
    WebhookWorld,
    event,
    signed,
)

QUIET = (
    "odoo.addons.voip_axivox_queue.models.axivox_account",
    "odoo.addons.voip_axivox_queue.models.axivox_account_sync",
    "odoo.addons.voip_axivox_queue.models.axivox_account_auto_logout",
    "odoo.addons.voip_axivox_queue.axivox_api.client",
)


def serve_webhook(env, token, body, headers):
    """Serve one webhook request through the controller, as Odoo does, on ``env``;
    returns a function that serves the same request again, as Odoo's ``retrying`` does
    after a serialization failure."""
    environ = EnvironBuilder(
        path=WEBHOOK_URL % token, method="POST", data=body, headers=headers
    ).get_environ()
    odoo_request = Request(HTTPRequest(environ))
    odoo_request.env = env

    def serve():
        _request_stack.push(odoo_request)
        try:
            return AxivoxWebhookController().webhook(token)
        finally:
            _request_stack.pop()

    return serve


@tagged("post_install", "-at_install")
class TestWebhookHostileInput(WebhookWorld, HttpCase):
    def post(self, body, headers=None, sign=True):
        body = body if isinstance(body, bytes) else json.dumps(body).encode()
        secret = WEBHOOK_SECRET if sign else None
        return self.post_webhook(body, secret=secret, headers=headers)

    def events(self):
        return self.env["axivox.queue.event"].search(
            [("account_id", "=", self.account.id)]
        )

    def quarantined(self):
        return self.env["axivox.queue.event.quarantine"].search(
            [("account_id", "=", self.account.id)]
        )

    def test_retried_request_reads_the_cached_body(self):
        """Odoo serves a request again after a serialization failure: the second time,
        the body is the same and the signature still matches (it used to be empty: 401).
        """
        body = json.dumps(event("rt1", "ADDMEMBER", agent_extension="102")).encode()
        serve = serve_webhook(self.env, self.token, body, signed(body))

        class SerializationFailure(Exception):
            pass

        # the first time, the transaction fails after the delivery was served: Odoo's
        # retrying rolls it back (the delivery is not remembered, nothing applied)
        with contextlib.suppress(SerializationFailure), self.env.cr.savepoint():
            first = serve()
            self.assertEqual(first.status_code, 200, first.get_data())
            raise SerializationFailure()
        again = serve()
        self.assertEqual(again.status_code, 200, again.get_data())
        self.assertEqual(json.loads(again.get_data()), {"applied": 1, "duplicates": 0})

    def test_hostile_bodies_get_a_clear_4xx(self):
        nested = b"[" * 100000 + b"]" * 100000
        cases = [
            ("deeply nested JSON", nested, 400),
            ("an integer of 5000 digits", b'{"events": [' + b"9" * 5000 + b"]}", 400),
            (
                "NaN",
                b'{"id": "n1", "type": "ABANDON", "queue_id": "sales", '
                b'"timestamp": "2026-11-28T10:00:00Z", "x": NaN}',
                400,
            ),
            ("not UTF-8", b'{"id": "\xff\xfe"}', 400),
            ("a list of numbers", b"[1, 2, 3]", 422),
            ("events not a list", b'{"events": {"a": 1}}', 422),
        ]
        for what, body, status in cases:
            for sign in (True, False):
                with self.subTest(what=what, signed=sign):
                    response = self.post(body, sign=sign)
                    self.assertEqual(
                        response.status_code,
                        status if sign else 401,
                        response.text[:200],
                    )
                    self.assertIn("error", response.json())
        self.assertFalse(self.events())
        self.assertFalse(self.quarantined())

    def test_hostile_events_are_quarantined_not_500(self):
        """Correctly signed events PostgreSQL could not store: set aside with the
        reason."""
        good = event("ok1", "ADDMEMBER", agent_extension="102")
        bad = [
            event("big1", "ENTERQUEUE", position=2**40),
            event("nul\x00", "ABANDON"),
            event("nul2", "ABANDON", caller_number="+32\x00"),
            event("nul3", "ABANDON", extra={"k\x00": 1}),
            event("long1", "ABANDON", caller_number="1" * 3000),
            event("inf1", "ABANDON", extra="INFINITE"),
            event("deep1", "ABANDON", extra=json.loads("[" * 40 + "]" * 40)),
            event("tz1", "ABANDON", at="2026-11-28T10:00:00+24:00"),
            event("y9999", "ABANDON", at="9999-12-31T23:59:59-05:00"),
            event("y0", "ABANDON", at="0000-01-01T00:00:00Z"),
            event("arabic", "ABANDON", at="٢٠٢٦-11-28T10:00:00Z"),
            event("x" * 65, "ABANDON"),
            # JSON's \ud800 escape reads into a lone surrogate: no UTF-8 text
            event("sur1", "ABANDON", agent_name="Anna \ud800"),
            event("sur2", "ABANDON", extra={"note": "\udc00"}),
        ]
        body = json.dumps({"events": bad[:6] + [good] + bad[6:]}).encode()
        body = body.replace(b'"INFINITE"', b"1e999")  # a float beyond double: inf
        response = self.post(body)
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(
            response.json(), {"applied": 1, "duplicates": 0, "quarantined": len(bad)}
        )
        self.assertEqual(self.events().pbx_event_id, "ok1")
        self.assertTrue(
            self.member(self.sales, "102").connected, "the good event applied"
        )
        kept = self.quarantined()
        self.assertEqual(len(kept), len(bad))
        self.assertTrue(all(k.reason and k.raw_payload for k in kept))
        self.assertFalse(any("\x00" in k.raw_payload + k.reason for k in kept))

    def test_hostile_headers_get_401(self):
        body = json.dumps(event("h1", "ADDMEMBER", agent_extension="102")).encode()
        good = signed(body)
        cases = {
            "superscript digits": {signature.TIMESTAMP_HEADER: "²" * 10},
            "Arabic-Indic digits": {signature.TIMESTAMP_HEADER: "١٧٩٥٨٦٠٠٠٠".encode()},
            "non-ASCII signature": {signature.SIGNATURE_HEADER: "sha256=" + "é" * 64},
            "non-hex signature": {signature.SIGNATURE_HEADER: "sha256=" + "z" * 64},
            "empty": {signature.TIMESTAMP_HEADER: "", signature.SIGNATURE_HEADER: ""},
        }
        for what, headers in cases.items():
            with self.subTest(what=what):
                all_headers = dict(good, **headers)
                response = self.url_open(
                    WEBHOOK_URL % self.token, data=body, headers=all_headers
                )
                self.assertEqual(response.status_code, 401, response.text[:200])
        self.env.invalidate_all()
        self.assertFalse(self.events())
        self.assertFalse(self.member(self.sales, "102").connected)

    def test_future_event_is_quarantined(self):
        """A signed event dated 2099 does not freeze its agent."""
        sofia = self.member(self.sales, "102")
        future = self.post(
            event(
                "f1",
                "REMOVEMEMBER",
                agent_extension="102",
                at="2099-01-01T00:00:00.000Z",
            )
        )
        self.assertEqual(
            future.json(), {"applied": 0, "duplicates": 0, "quarantined": 1}
        )
        self.assertIn("future", self.quarantined().reason)
        self.post(event("f2", "ADDMEMBER", agent_extension="102"))
        self.assertTrue(sofia.connected, "later events still apply")
        # A few seconds ahead (clock drift) is accepted.
        soon = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + 60))
        self.assertEqual(
            self.post(
                event("f3", "REMOVEMEMBER", agent_extension="102", at=soon)
            ).json()["applied"],
            1,
        )
        self.assertFalse(sofia.connected)

    def test_administrators_see_the_quarantine(self):
        self.post(event("q1", "NOSUCHTYPE"))
        action = self.account.action_open_quarantine()
        self.assertEqual(action["res_model"], "axivox.queue.event.quarantine")
        Quarantine = self.env["axivox.queue.event.quarantine"]
        self.assertEqual(Quarantine.search(action["domain"]).pbx_event_id, "q1")
        self.assertEqual(self.account.quarantine_count, 1)
        with self.assertRaises(AccessError):
            Quarantine.with_user(self.manager).search([])
        self.assertEqual(self.account.with_user(self.manager).quarantine_count, 0)
        menu = self.env.ref("voip_axivox_queue.menu_call_queues_quarantine")
        self.assertEqual(
            menu.parent_id, self.env.ref("voip_axivox_queue.menu_call_queues_config")
        )


@tagged("post_install", "-at_install")
class TestCsvAndRights(AxivoxCase):
    def test_csv_formulas_are_neutralised(self):
        Event = self.env["axivox.queue.event"]
        self.env["axivox.event.intake"]._apply(
            self.account_a,
            [
                {
                    "id": "csv1",
                    "type": "BLINDTRANSFER",
                    "queue_id": self.queue_sales.remote_id or "x",
                    "timestamp": "2026-03-02T09:00:00.000Z",
                    "call_id": "=1+1",
                    "caller_number": "+32470000001",
                    "agent_extension": "201",
                    "transfer_target": "@SUM(A1)",
                    "agent_name": "-2+3",
                },
            ],
            "webhook",
        )
        content = Event._report_csv([("pbx_event_id", "=", "csv1")]).decode()
        rows = list(csv.reader(io.StringIO(content)))
        header, row = rows[0], rows[1]
        cell = dict(zip(header, row, strict=True))
        self.assertEqual(cell["Call ID"], "'=1+1")
        self.assertEqual(cell["Caller Number"], "'+32470000001")
        self.assertEqual(cell["Transfer Target"], "'@SUM(A1)")
        self.assertFalse([c for c in row if c and c[0] in "=+-@"])

    def test_csv_formulas_are_neutralised_in_every_column(self):
        # a queue and an agent named like formulas (names come from the PBX), and
        # cells starting with a tab or a carriage return
        self.queue_sales.with_context(
            axivox_no_pending_change=True
        ).name = '=HYPERLINK("http://example.com")'
        self.agent2.name = "@agent"
        Event = self.env["axivox.queue.event"]
        self.env["axivox.event.intake"]._apply(
            self.account_a,
            [
                {
                    "id": "csv2",
                    "type": "BLINDTRANSFER",
                    "queue_id": self.queue_sales.remote_id or "x",
                    "timestamp": "2026-03-02T09:00:00.000Z",
                    "call_id": "\t=1+1",
                    "caller_number": "123",
                    "agent_extension": "202",
                    "transfer_target": "\r=2+2",
                },
            ],
            "webhook",
        )
        self.env["axivox.queue.event"].search(
            [("pbx_event_id", "=", "csv2")]
        ).queue_id = self.queue_sales
        content = Event._report_csv([("pbx_event_id", "=", "csv2")]).decode()
        header, row = list(csv.reader(io.StringIO(content)))[:2]
        cell = dict(zip(header, row, strict=True))
        self.assertEqual(cell["Queue"], '\'=HYPERLINK("http://example.com")')
        self.assertEqual(cell["Call ID"], "'\t=1+1")
        self.assertEqual(cell["Transfer Target"], "'\r=2+2")
        self.assertFalse([c for c in row if c and c[0] in "=+-@\t\r"], row)

    def test_manager_cannot_move_a_queue_to_another_company(self):
        queue = self.queue_sales.with_user(self.manager)
        with self.assertRaises(AccessError) as caught:
            queue.write({"account_id": self.account_b.id})
        self.assertNotIn("Ventes B", str(caught.exception))
        with self.assertRaises(AccessError) as caught:
            self.env["axivox.queue"].with_user(self.manager).create(
                {
                    "name": "Probe",
                    "account_id": self.account_b.id,
                    "extension": "900",
                    "login_code": "*61",
                    "logout_code": "*99",
                }
            )
        message = str(caught.exception)
        self.assertNotIn("Ventes B", message)
        self.assertNotIn("*61", message)
        self.assertEqual(self.queue_sales.account_id, self.account_a)

    def test_agents_cannot_refresh_from_the_pbx(self):
        with self.assertRaises(AccessError):
            self.queue_sales.with_user(self.agent).action_refresh_from_pbx()


@tagged("post_install", "-at_install")
class TestSyncRobustness(SimulatedWorld, TransactionCase):
    def raw_events(self, *events):
        return self.sim.control("POST", "events", {"events": list(events)})["events"]

    def pbx_ids(self):
        ids, cursor, more = [], None, True
        while more:
            events, cursor, more = self.pbx.events_since(cursor, limit=1000)
            ids += [e["id"] for e in events]
        return ids, cursor

    def stored_ids(self):
        return (
            self.env["axivox.queue.event"]
            .search([("account_id", "=", self.account.id)])
            .mapped("pbx_event_id")
        )

    def test_bad_events_are_quarantined_and_the_sync_moves_on(self):
        self.assertIsNone(self.account._sync_safely())
        good = {
            "type": "ADDMEMBER",
            "queue_id": "sales",
            "agent_extension": "103",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        }
        self.raw_events(
            dict(good, id="bad-type", type="NOSUCHTYPE"),
            dict(good, id="y" * 65),
            dict(good, id="good-1"),
            dict(good, id="bad-tz", timestamp="2026-11-28T10:00:00+24:00"),
            dict(good, id="bad-year", timestamp="9999-12-31T23:59:59-05:00"),
            dict(good, id="bad-long", caller_number="5" * 3000),
        )
        self.assertIsNone(self.account._sync_safely())
        self.assertEqual(self.account.sync_state, "ok")
        self.assertIn("good-1", self.stored_ids())
        self.assertEqual(self.account.quarantine_count, 5)
        _ids, last_cursor = self.pbx_ids()
        self.assertEqual(
            self.account.event_cursor, last_cursor, "the cursor moved past them"
        )
        good_event = self.env["axivox.queue.event"].search(
            [("pbx_event_id", "=", "good-1")]
        )
        self.assertEqual(
            (good_event.queue_id.remote_id, good_event.agent_user_id),
            ("sales", self.users["103"]),
            "the good event of the page was applied",
        )
        self.assertIsNone(self.account._sync_safely())
        self.assertEqual(self.account.quarantine_count, 5, "nothing quarantined twice")

    def test_backfill_runs_over_many_pages(self):
        self.sim.traffic(seed=3, calls=40)
        expected, last_cursor = self.pbx_ids()
        fetched = self.account._sync_fetch(self.account._pbx_client(), page_size=25)
        self.assertGreater(len(fetched[2]), 4, "several pages")
        self.account._sync_apply(*fetched)
        self.assertEqual(sorted(self.stored_ids()), sorted(expected))
        self.assertEqual(self.account.event_cursor, last_cursor)

    @mute_logger(*QUIET)
    def test_backfill_stops_when_the_cursor_does_not_advance(self):
        self.sim.traffic(seed=4, calls=5)
        self.sim.faults(feed_stuck=True)
        started = time.monotonic()
        error = self.account._sync_safely()
        self.assertLess(time.monotonic() - started, 30)
        self.assertIn("cursor", error)
        self.assertEqual(self.account.sync_state, "error")
        self.sim.faults()
        self.assertIsNone(self.account._sync_safely())
        self.assertEqual(sorted(self.stored_ids()), sorted(self.pbx_ids()[0]))

    @mute_logger(*QUIET, "odoo.sql_db")
    def test_a_constraint_conflict_does_not_stop_the_other_accounts(self):
        """An Odoo queue not yet applied already uses the extension of a PBX queue: that
        account's sync fails, said; the next account is still synced."""
        self.env["axivox.queue"].create(
            {
                "name": "Local 610",
                "account_id": self.account.id,
                "extension": "610",
                "login_code": "*91",
                "logout_code": "*92",
            }
        )
        other = self.account.copy(
            {
                "name": "Second PBX",
                "api_key": self.sim.api_key,
                "webhook_secret": "x" * 20,
            }
        )
        self.env["axivox.account"]._cron_sync()
        self.env.invalidate_all()
        self.assertEqual(self.account.sync_state, "error")
        self.assertIn("extension", self.account.last_error)
        self.assertEqual(other.sync_state, "ok")
        self.assertEqual(len(other.queue_ids), 3)

    def test_sync_pbx_calls_have_a_total_deadline(self):
        client = self.account._pbx_client()
        self.assertTrue(client.deadline)
        self.sim.faults(rate_limit=5, retry_after=60)
        started = time.monotonic()
        with mute_logger(*QUIET):
            error = self.account._sync_safely()
        self.assertLess(
            time.monotonic() - started, 5, "a PBX asking to wait 60 s: no wait"
        )
        self.assertTrue(error)

    def test_dialing_is_rate_limited(self):
        from ..models.axivox_softphone import DIAL_LIMIT

        agent = self.users["101"]
        Softphone = self.env["axivox.softphone"].with_user(agent)
        for _n in range(DIAL_LIMIT):
            Softphone.dial("103")
        with self.assertRaisesRegex(UserError, "Too many calls in a short time"):
            Softphone.dial("103")


@tagged("post_install", "-at_install")
class TestLargeBatchStorage(WebhookWorld, TransactionCase):
    """A large batch is written with COPY, a small one with INSERT ... VALUES: both
    skip the events already stored and keep every text as the PBX sent it."""

    AWKWARD = [
        "back\\slash",
        "tab\there",
        "two\nlines",
        "cr\rlf",
        "\\N",
        "é ☎ 電話",
        "",
    ]

    def batch(self, tag, count):
        return validate_batch(
            {
                "events": [
                    event(
                        f"{tag}-{i}",
                        "BLINDTRANSFER",
                        at=f"{DAY}T10:{i // 60:02d}:{i % 60:02d}.000Z",
                        call_id=f"{tag}-call-{i}",
                        caller_number="+3225550101",
                        agent_extension="102",
                        agent_name=self.AWKWARD[i % len(self.AWKWARD)],
                        transfer_target=self.AWKWARD[(i + 1) % len(self.AWKWARD)],
                        note={"text": self.AWKWARD[(i + 2) % len(self.AWKWARD)]},
                    )
                    for i in range(count)
                ]
            }
        )

    def stored(self, tag):
        return self.env["axivox.queue.event"].search(
            [("pbx_event_id", "=like", f"{tag}-%")], order="id"
        )

    def test_both_ways_skip_stored_events_and_keep_texts(self):
        Intake = self.env["axivox.event.intake"]
        for tag, count in (("small", COPY_FROM_ROWS - 1), ("large", 120)):
            with self.subTest(tag=tag):
                events = self.batch(tag, count)
                # small: 10 new, then some stored; large: 40 new (COPY straight
                # away), then some stored (the stored ones read, the others copied)
                first = 10 if count < COPY_FROM_ROWS else 40
                self.assertEqual(
                    Intake._apply(self.account, events[:first], "webhook"),
                    {"applied": first, "duplicates": 0},
                )
                result = Intake._apply(self.account, events, "webhook")
                self.assertEqual(
                    result, {"applied": count - first, "duplicates": first}
                )
                self.env.invalidate_all()
                stored = self.stored(tag)
                self.assertEqual(len(stored), count)
                by_id = {e["id"]: e for e in events}
                for row in stored:
                    sent = by_id[row.pbx_event_id]
                    self.assertEqual(row.agent_name or "", sent["agent_name"])
                    self.assertEqual(row.transfer_target or "", sent["transfer_target"])
                    self.assertEqual(
                        row.payload, {k: v for k, v in sent.items() if v is not None}
                    )
                    self.assertEqual(row.queue_id, self.sales)
                    self.assertEqual(row.caller_e164, "+3225550101")
                    i = int(row.pbx_event_id.rsplit("-", 1)[1])
                    self.assertEqual(
                        row.event_time,
                        datetime.strptime(DAY, "%Y-%m-%d").replace(
                            hour=10, minute=i // 60, second=i % 60
                        ),
                    )
                    self.assertFalse(row.agent_unmapped)
                self.assertEqual(
                    Intake._apply(self.account, events, "webhook"),
                    {"applied": 0, "duplicates": count},
                )

    def test_copy_text(self):
        moment = datetime(2026, 11, 28, 10, 0, 5)
        plain = [(1, None, "a b", True, 2.5, moment), (2, "x", None, False, 0, None)]
        self.assertEqual(
            copy_text(plain),
            "1\t\\N\ta b\tTrue\t2.5\t2026-11-28 10:00:05\n"
            "2\tx\t\\N\tFalse\t0\t\\N\n",
        )
        awkward = [(1, "back\\slash", None), (2, "tab\there", "two\nlines\r")]
        self.assertEqual(
            copy_text(awkward),
            "1\tback\\\\slash\t\\N\n2\ttab\\there\ttwo\\nlines\\r\n",
        )
