"""Webhook deliveries stored at once and applied by the applier (``odoo-bin
axivox-apply``), through real HTTP requests to the running Odoo server."""
import json

import odoo
from odoo.exceptions import AccessError
from odoo.tests import HttpCase, TransactionCase, tagged
from odoo.tools import mute_logger

from ..axivox_api.events import split_events
from ..cli.axivox_apply import InboxApplier
from ..models.axivox_queue_event_inbox import TRANSIENT_ATTEMPTS
from ..transactions import APPLY_LOCK, EVENTS_LOCK
from .common import DAY, WEBHOOK_URL, WebhookWorld, event, make_user, signed, wait_for

LATER = f"{DAY}T10:05:00.000Z"  # after the events' default moment
INBOX_LOGGER = "odoo.addons.voip_axivox_queue.models.axivox_queue_event_inbox"


@tagged("post_install", "-at_install")
class TestWebhookApplier(WebhookWorld, HttpCase):
    def post(self, payload):
        return self.post_webhook(json.dumps(payload).encode())

    def waiting(self):
        return self.env["axivox.queue.event.inbox"].search(
            [("account_id", "=", self.account.id)]
        )

    def stored(self):
        return self.env["axivox.queue.event"].search(
            [("account_id", "=", self.account.id)]
        )

    def connected(self, ext):
        """The Sales member's state, read under the test cursor's lock (the applier's
        thread shares the test's transaction)."""
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT connected FROM axivox_queue_member WHERE queue_id = %s"
                " AND user_id = %s",
                [self.sales.id, self.users[ext].id],
            )
            return cr.fetchone()[0]

    def lock_waiters(self):
        self.env.cr.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            " AND classid = %s AND objid = 0",
            [APPLY_LOCK],
        )
        return self.env.cr.fetchall()

    def test_without_an_applier_the_delivery_is_applied_at_once(self):
        response = self.post(event("n1", "ADDMEMBER", agent_extension="102"))
        self.assertEqual(response.json(), {"applied": 1, "duplicates": 0})
        self.assertTrue(self.member(self.sales, "102").connected)
        self.assertFalse(self.waiting())

    def test_a_delivery_sent_again_is_not_stored_again(self):
        self.hold_applier_lock()
        body = json.dumps(event("r1", "ADDMEMBER", agent_extension="102")).encode()
        headers = signed(body)
        first = self.url_open(WEBHOOK_URL % self.token, data=body, headers=headers)
        self.assertEqual(first.json(), {"queued": 1})
        # the same request, captured and sent again while its signature is valid
        again = self.url_open(WEBHOOK_URL % self.token, data=body, headers=headers)
        self.assertEqual(again.status_code, 200, again.text)
        self.assertEqual(again.json(), {"replayed": True})
        self.assertEqual(len(self.waiting()), 1, "stored once")
        # the PBX's retry of it (the same delivery id, signed again) is the same
        retry = self.url_open(
            WEBHOOK_URL % self.token,
            data=body,
            headers=signed(body, delivery_id=headers["X-Axivox-Delivery"]),
        )
        self.assertEqual(retry.json(), {"replayed": True})
        # another delivery of the same events is a delivery of its own
        other = self.url_open(WEBHOOK_URL % self.token, data=body, headers=signed(body))
        self.assertEqual(other.json(), {"queued": 1})
        self.assertEqual(len(self.waiting()), 2)

    def test_with_an_applier_the_delivery_is_stored_then_applied(self):
        self.hold_applier_lock()
        login = event("q1", "ADDMEMBER", agent_extension="102")
        response = self.post(login)
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json(), {"queued": 1})
        self.assertFalse(self.member(self.sales, "102").connected, "not applied yet")
        self.assertFalse(self.stored())
        # a bad event is still quarantined at once, the good one stored
        response = self.post(
            {"events": [event("q2", "ENTERQUEUE", position=-1), event("q3", "ABANDON")]}
        )
        self.assertEqual(response.json(), {"queued": 1, "quarantined": 1})
        self.assertEqual(
            self.env["axivox.queue.event.quarantine"]
            .search([("account_id", "=", self.account.id)])
            .pbx_event_id,
            "q2",
        )
        self.post(login)  # the PBX sent it twice
        self.assertEqual(len(self.waiting()), 3)
        self.assertEqual(self.account.waiting_deliveries, 3, "administrators see it")
        self.assertEqual(self.waiting()[0].events[0]["id"], "q1")

        applied = self.env["axivox.queue.event.inbox"]._apply_waiting()
        self.env.invalidate_all()
        self.assertEqual(applied, 3)
        self.assertFalse(self.waiting())
        self.assertEqual(self.account.waiting_deliveries, 0)
        self.assertTrue(self.member(self.sales, "102").connected)
        self.assertEqual(sorted(self.stored().mapped("pbx_event_id")), ["q1", "q3"])
        # once applied, the same event is a duplicate, however it comes
        self.assertEqual(self.post(login).json(), {"queued": 1})
        self.env["axivox.queue.event.inbox"]._apply_waiting()
        self.assertEqual(len(self.stored()), 2)

    @mute_logger(INBOX_LOGGER)
    def test_a_delivery_that_cannot_be_applied_is_quarantined(self):
        """One stored delivery that fails to apply is set aside with the error; the
        others of the same batch are applied."""
        self.hold_applier_lock()
        Inbox = self.env["axivox.queue.event.inbox"]
        good = event("a1", "ADDMEMBER", agent_extension="102")
        broken = {"id": "a2", "type": "ABANDON", "queue_id": "sales"}  # no timestamp
        self.assertTrue(Inbox._store_if_applier(self.account, [good]))
        self.assertTrue(Inbox._store_if_applier(self.account, [broken]))
        self.assertTrue(Inbox._store_if_applier(self.account, [event("a3", "ABANDON")]))
        self.assertEqual(Inbox._apply_waiting(), 3)
        self.env.invalidate_all()
        self.assertFalse(self.waiting(), "nothing left waiting")
        self.assertEqual(sorted(self.stored().mapped("pbx_event_id")), ["a1", "a3"])
        self.assertTrue(self.member(self.sales, "102").connected)
        kept = self.env["axivox.queue.event.quarantine"].search(
            [("account_id", "=", self.account.id)]
        )
        self.assertEqual(kept.pbx_event_id, "a2")
        self.assertIn("KeyError", kept.reason)
        self.assertEqual(self.account.quarantine_count, 1)

    def test_applier_applies_within_moments_and_a_standby_takes_over(self):
        first = InboxApplier(self.registry, gather=0, idle_check=0.1)
        first.start()
        self.addCleanup(first.stop)
        self.assertTrue(wait_for(lambda: first.active, timeout=10))
        second = InboxApplier(self.registry, gather=0, idle_check=0.1).start()
        self.addCleanup(second.stop)
        response = self.post(event("w1", "ADDMEMBER", agent_extension="102"))
        self.assertEqual(response.json(), {"queued": 1})
        self.assertTrue(
            wait_for(lambda: self.connected("102"), timeout=10),
            "the applier applied the delivery",
        )
        self.assertFalse(second.active, "one applier at a time")
        third = InboxApplier(self.registry, gather=0, idle_check=0.1).start()
        self.addCleanup(third.stop)
        self.assertTrue(
            wait_for(lambda: len(self.lock_waiters()) == 2, timeout=10),
            "both standbys wait in PostgreSQL's queue",
        )
        third.stop(timeout=5)
        self.assertFalse(third.thread.is_alive(), "a waiting standby stops at once")
        self.assertEqual(len(self.lock_waiters()), 1, "its wait was cancelled")
        first.stop()  # its connection, and so its lock, goes with it
        self.assertTrue(wait_for(lambda: second.active, timeout=10), "took over")
        response = self.post(
            event("w2", "REMOVEMEMBER", agent_extension="102", at=LATER)
        )
        self.assertEqual(response.json(), {"queued": 1})
        self.assertTrue(
            wait_for(lambda: not self.connected("102"), timeout=10),
            "the standby applies what comes next",
        )
        self.assertEqual((first.applied, second.applied), (1, 1))

    def test_cron_applies_what_an_applier_left(self):
        self.hold_applier_lock()
        self.assertEqual(
            self.post(event("c1", "ADDMEMBER", agent_extension="101")).json(),
            {"queued": 1},
        )
        # the applier died before applying it
        cron = self.env.ref("voip_axivox_queue.ir_cron_axivox_apply_waiting")
        cron.method_direct_trigger()
        self.env.invalidate_all()
        self.assertFalse(self.waiting())
        self.assertTrue(self.member(self.sales, "101").connected)

    def test_large_waits_are_applied_in_bounded_transactions(self):
        """A transaction applies a bounded number of events (one delivery at least);
        the rest waits for the next, in order."""
        self.hold_applier_lock()
        Inbox = self.env["axivox.queue.event.inbox"]
        for n in range(3):
            batch = [event(f"b{n}-{i}", "ABANDON", call_id=f"b{n}-{i}") for i in (1, 2)]
            self.assertTrue(Inbox._store_if_applier(self.account, batch))
        self.assertEqual(Inbox._apply_batch(self.account, 500, max_events=3), (1, True))
        self.assertEqual(sorted(self.stored().mapped("pbx_event_id")), ["b0-1", "b0-2"])
        self.assertEqual(Inbox._apply_batch(self.account, 1, max_events=1), (1, True))
        self.assertEqual(Inbox._apply_waiting(), 1)
        self.env.invalidate_all()
        self.assertEqual(len(self.stored()), 6)
        self.assertFalse(self.waiting())


@tagged("post_install", "-at_install")
class TestApplierFaultsOfTheMoment(WebhookWorld, TransactionCase):
    """A delivery that meets a statement timeout (the account's events lock held
    elsewhere for longer than PostgreSQL lets a statement run) is tried again later,
    and quarantined only when it met it TRANSIENT_ATTEMPTS times."""

    def setUp(self):
        super().setUp()
        valid, rejected = split_events(
            [event("t1", "ADDMEMBER", agent_extension="102")]
        )
        self.assertFalse(rejected)
        self.delivery = self.env["axivox.queue.event.inbox"].create(
            {"account_id": self.account.id, "events": valid}
        )

    def hold_events_lock(self):
        """The account's events lock, held on a connection of its own until
        released."""
        lock_cr = odoo.sql_db.db_connect(self.env.cr.dbname).cursor()
        lock_cr.execute(
            "SELECT pg_advisory_lock(%s, %s)", [EVENTS_LOCK, self.account.id]
        )

        def release():
            if not lock_cr.closed:
                lock_cr.execute(
                    "SELECT pg_advisory_unlock(%s, %s)", [EVENTS_LOCK, self.account.id]
                )
                lock_cr.rollback()
                lock_cr.close()

        self.addCleanup(release)
        return release

    def apply_with_timeout(self):
        self.env.cr.execute("SET LOCAL statement_timeout = '300ms'")
        try:
            return self.env["axivox.queue.event.inbox"]._apply_waiting()
        finally:
            self.env.cr.execute("SET LOCAL statement_timeout = 0")
            self.env.invalidate_all()

    def quarantined(self):
        return self.env["axivox.queue.event.quarantine"].search(
            [("account_id", "=", self.account.id)]
        )

    @mute_logger(INBOX_LOGGER, "odoo.sql_db")
    def test_a_timeout_postpones_the_delivery_then_it_is_applied(self):
        release = self.hold_events_lock()
        self.apply_with_timeout()
        self.assertFalse(
            self.quarantined(), "a fault of the moment quarantines nothing"
        )
        self.assertTrue(self.delivery.exists(), "the delivery waits")
        self.assertEqual(self.delivery.attempts, 1)
        self.assertIn("QueryCanceled", self.delivery.last_error)
        self.assertTrue(self.delivery.next_try)
        release()
        self.assertEqual(
            self.env["axivox.queue.event.inbox"]._apply_waiting(),
            0,
            "not before its time",
        )
        self.env.cr.execute(
            "UPDATE axivox_queue_event_inbox SET next_try = now() at time zone 'UTC'"
            " - interval '1 second' WHERE id = %s",
            [self.delivery.id],
        )
        self.assertEqual(self.env["axivox.queue.event.inbox"]._apply_waiting(), 1)
        self.env.invalidate_all()
        self.assertFalse(self.delivery.exists())
        self.assertTrue(self.member(self.sales, "102").connected)
        self.assertFalse(self.quarantined())

    @mute_logger(INBOX_LOGGER, "odoo.sql_db")
    def test_the_same_fault_again_and_again_quarantines_then_an_admin_applies_it(self):
        self.env.cr.execute(
            "UPDATE axivox_queue_event_inbox SET attempts = %s WHERE id = %s",
            [TRANSIENT_ATTEMPTS - 1, self.delivery.id],
        )
        release = self.hold_events_lock()
        self.apply_with_timeout()
        self.assertFalse(self.delivery.exists())
        quarantined = self.quarantined()
        self.assertEqual(quarantined.pbx_event_id, "t1")
        self.assertIn("QueryCanceled", quarantined.reason)
        release()
        admin = make_user(
            self.env, "ax_applier_admin", "base.group_user,base.group_system"
        )
        with self.assertRaises(AccessError):
            quarantined.with_user(self.manager).action_apply_again()
        quarantined.with_user(admin).action_apply_again()
        self.env.invalidate_all()
        self.assertFalse(quarantined.exists())
        self.assertTrue(self.member(self.sales, "102").connected)
