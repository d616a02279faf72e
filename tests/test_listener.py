"""The WebSocket listener (``odoo-bin axivox-listen``) against the simulator's event
stream."""
import json

from odoo import SUPERUSER_ID, api
from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from ..cli.axivox_listen import StreamListener
from .common import AxivoxWorld, SimulatedWorld, event, wait_for
from .fake_pbx import FakeStream


@tagged("post_install", "-at_install")
class TestStreamListener(SimulatedWorld, HttpCase):
    """HttpCase: the registry is in test mode, so the listener's cursors share the
    test's transaction, as the server's requests do."""

    def setUp(self):
        super().setUp()
        self.assertIsNone(self.account._sync_safely())
        self.env.flush_all()

    def stored(self):
        """{event id: count of rows} and the account cursor, read in the listener's
        way."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            cr.execute(
                "SELECT pbx_event_id, count(*) FROM axivox_queue_event "
                "WHERE account_id = %s AND source = 'stream' GROUP BY 1",
                [self.account.id],
            )
            rows = dict(cr.fetchall())
            return rows, env["axivox.account"].browse(self.account.id).event_cursor

    def pbx_ids_after(self, cursor):
        ids, more = set(), True
        while more:
            events, cursor, more = self.pbx.events_since(cursor, limit=1000)
            ids |= {e["id"] for e in events}
        return ids, cursor

    def test_stream_feeds_the_report_and_resumes_after_a_drop(self):
        start_cursor = self.account.event_cursor
        # Before the listener connects: the simulator reads the fault when a stream
        # opens.
        self.sim.faults(ws_close_after=15)
        listener = StreamListener(
            self.registry,
            [self.account.id],
            heartbeat=1,
            min_backoff=0.05,
            max_backoff=0.2,
        ).start()
        self.addCleanup(listener.stop)
        self.assertIn(self.account.id, listener.consumers)
        self.sim.traffic(seed=5, calls=20)
        self.pbx.connect_agent("sales", "103")
        expected, last_cursor = self.pbx_ids_after(start_cursor)
        self.assertGreater(len(expected), 40)
        done = wait_for(lambda: set(self.stored()[0]) >= expected, timeout=30)
        rows, cursor = self.stored()
        self.assertTrue(done, f"{len(expected - set(rows))} events never arrived")
        self.assertEqual(set(rows), expected, "nothing lost, nothing foreign")
        self.assertEqual(set(rows.values()), {1}, "nothing twice")
        self.assertEqual(cursor, last_cursor, "the cursor is saved with the events")
        consumer = listener.consumers[self.account.id]
        self.assertGreaterEqual(
            consumer.connections, 2, "the server dropped it; it resumed"
        )
        listener.stop()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            luca = env["axivox.queue.member"].search(
                [
                    ("queue_id.remote_id", "=", "sales"),
                    ("queue_id.account_id", "=", self.account.id),
                    ("user_id", "=", self.users["103"].id),
                ]
            )
            self.assertTrue(
                luca.connected, "the ADDMEMBER of the stream logged Luca in"
            )

    def test_restart_resumes_from_the_saved_cursor(self):
        listener = StreamListener(
            self.registry, [self.account.id], heartbeat=1, min_backoff=0.05
        ).start()
        self.sim.traffic(seed=6, calls=5)
        first, _cursor = self.pbx_ids_after(self.account.event_cursor)
        self.assertTrue(wait_for(lambda: set(self.stored()[0]) >= first, timeout=20))
        listener.stop()
        self.sim.traffic(seed=7, calls=5)
        listener = StreamListener(
            self.registry, [self.account.id], heartbeat=1, min_backoff=0.05
        ).start()
        self.addCleanup(listener.stop)
        all_ids, _cursor = self.pbx_ids_after(None)
        self.assertTrue(
            wait_for(
                lambda: set(self.stored()[0]) >= all_ids - self._synced(), timeout=20
            )
        )
        rows, _cursor = self.stored()
        self.assertEqual(
            set(rows.values()), {1}, "the restarted listener repeated nothing"
        )

    def _synced(self):
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT pbx_event_id FROM axivox_queue_event "
                "WHERE account_id = %s AND source <> 'stream'",
                [self.account.id],
            )
            return {row[0] for row in cr.fetchall()}


@tagged("post_install", "-at_install")
class TestStreamListenerBadMessages(AxivoxWorld, HttpCase):
    """Messages of the stream Odoo cannot read are quarantined and the stream goes on;
    the listener follows the accounts' keys."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_world()
        cls.make_queue("sales", "Sales", "600", "*600", "#600", dynamic=["101", "102"])

    def frame(self, cursor, event_id, ext):
        return (
            cursor,
            json.dumps(
                {
                    "type": "event",
                    "cursor": cursor,
                    "event": event(event_id, "ADDMEMBER", agent_extension=ext),
                }
            ),
        )

    def start_stream(self, frames):
        stream = FakeStream(frames).start()
        self.addCleanup(stream.stop)
        self.account.api_url = stream.url
        self.env.flush_all()
        return stream

    def stored(self):
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT pbx_event_id FROM axivox_queue_event WHERE account_id = %s"
                " AND source = 'stream' ORDER BY 1",
                [self.account.id],
            )
            events = [row[0] for row in cr.fetchall()]
            cr.execute(
                "SELECT event_cursor FROM axivox_account WHERE id = %s",
                [self.account.id],
            )
            return events, cr.fetchone()[0]

    def quarantined(self):
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT reason FROM axivox_queue_event_quarantine"
                " WHERE account_id = %s",
                [self.account.id],
            )
            return [row[0] for row in cr.fetchall()]

    @mute_logger(
        "odoo.addons.voip_axivox_queue.axivox_api.stream",
        "odoo.addons.voip_axivox_queue.cli.axivox_listen",
    )
    def test_bad_messages_are_quarantined_and_the_stream_goes_on(self):
        huge = {"type": "event", "cursor": "5", "event": {"id": "x" * (2 << 20)}}
        stream = self.start_stream(
            [
                self.frame("1", "s1", "101"),
                (None, "[1, 2]"),
                ("2", json.dumps({"type": "event", "cursor": "2"})),
                ("3", json.dumps({"type": "events", "cursor": "3", "events": 5})),
                ("4", json.dumps({"type": "event", "cursor": {"a": 1}, "event": {}})),
                ("5", json.dumps(huge)),
                self.frame("6", "s2", "102"),
            ]
        )
        listener = StreamListener(
            self.registry, [self.account.id], heartbeat=1, min_backoff=0.05
        ).start()
        self.addCleanup(listener.stop)
        self.assertTrue(
            wait_for(lambda: self.stored() == (["s1", "s2"], "6"), timeout=15),
            f"the stream stalled: {self.stored()}",
        )
        self.assertEqual(len(stream.connections), 1, "never reconnected")
        self.assertEqual(len(self.quarantined()), 5, self.quarantined())
        self.assertTrue(
            any("bytes" in reason for reason in self.quarantined()),
            "the message over the size limit is said",
        )

    def fail_storing(self, event_id, times):
        """PostgreSQL refuses to store the event ``event_id`` the first ``times``
        times (a fault of the database, counted outside the transactions it
        aborts)."""
        self.env.cr.execute(
            f"""CREATE SEQUENCE axivox_test_failures;
                CREATE FUNCTION axivox_test_refuse() RETURNS trigger AS $$
                BEGIN
                    IF NEW.pbx_event_id = %s
                       AND nextval('axivox_test_failures') <= {int(times)} THEN
                        RAISE EXCEPTION 'disk full (test)';
                    END IF;
                    RETURN NEW;
                END $$ LANGUAGE plpgsql;
                CREATE TRIGGER axivox_test_refuse BEFORE INSERT ON axivox_queue_event
                FOR EACH ROW EXECUTE FUNCTION axivox_test_refuse();""",
            [event_id],
        )

    def failures(self):
        with self.registry.cursor() as cr:
            cr.execute("SELECT last_value, is_called FROM axivox_test_failures")
            value, called = cr.fetchone()
            return value if called else 0

    def listen_to(self, frames):
        stream = self.start_stream(frames)
        listener = StreamListener(
            self.registry,
            [self.account.id],
            heartbeat=1,
            min_backoff=0.05,
            max_backoff=0.1,
        ).start()
        self.addCleanup(listener.stop)
        return stream, listener

    @mute_logger(
        "odoo.addons.voip_axivox_queue.axivox_api.stream",
        "odoo.addons.voip_axivox_queue.cli.axivox_listen",
        "odoo.sql_db",
    )
    def test_a_message_failing_three_times_is_quarantined_and_the_stream_goes_on(
        self,
    ):
        self.fail_storing("f2", 1000)
        stream, _listener = self.listen_to(
            [
                self.frame("1", "f1", "101"),
                self.frame("2", "f2", "102"),
                self.frame("3", "f3", "102"),
            ]
        )
        self.assertTrue(
            wait_for(lambda: self.stored() == (["f1", "f3"], "3"), timeout=15),
            f"the stream stalled: {self.stored()}",
        )
        self.assertEqual(self.failures(), 3, "tried three times, then quarantined")
        self.assertEqual(
            [after for _key, after in stream.connections],
            [None, "1", "1"],
            "each failure resumed after the last message applied",
        )
        (reason,) = self.quarantined()
        self.assertIn("disk full (test)", reason)
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT pbx_event_id, source FROM axivox_queue_event_quarantine"
                " WHERE account_id = %s",
                [self.account.id],
            )
            self.assertEqual(cr.fetchall(), [("f2", "stream")])

    @mute_logger(
        "odoo.addons.voip_axivox_queue.axivox_api.stream",
        "odoo.addons.voip_axivox_queue.cli.axivox_listen",
        "odoo.sql_db",
    )
    def test_a_message_failing_twice_then_applied_is_not_quarantined(self):
        self.fail_storing("f2", 2)
        stream, _listener = self.listen_to(
            [
                self.frame("1", "f1", "101"),
                self.frame("2", "f2", "102"),
                self.frame("3", "f3", "102"),
            ]
        )
        self.assertTrue(
            wait_for(lambda: self.stored() == (["f1", "f2", "f3"], "3"), timeout=15),
            f"the stream stalled: {self.stored()}",
        )
        self.assertEqual(self.failures(), 3, "failed twice, applied the third time")
        self.assertEqual(
            [after for _key, after in stream.connections], [None, "1", "1"]
        )
        self.assertEqual(self.quarantined(), [])

    @mute_logger(
        "odoo.addons.voip_axivox_queue.axivox_api.stream",
        "odoo.addons.voip_axivox_queue.cli.axivox_listen",
    )
    def test_a_key_set_or_changed_is_used_without_a_restart(self):
        stream = self.start_stream([self.frame("1", "k1", "101")])
        self.account.api_key = False
        self.env.flush_all()
        listener = StreamListener(
            self.registry, [self.account.id], heartbeat=1, account_poll=0.2
        ).start()
        self.addCleanup(listener.stop)
        self.account.api_key = "first-key"
        self.env.flush_all()
        self.assertTrue(wait_for(lambda: self.stored()[0] == ["k1"], timeout=15))
        self.account.api_key = "second-key"
        self.env.flush_all()
        self.assertTrue(
            wait_for(
                lambda: [c[0] for c in stream.connections][-1:]
                == ["Bearer second-key"],
                timeout=15,
            ),
            stream.connections,
        )
        self.assertEqual(stream.connections[0], ("Bearer first-key", None))
