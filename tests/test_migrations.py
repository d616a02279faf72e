"""The upgrade scripts of migrations/, run on rows as the previous version left them."""
import os

from odoo.modules.migration import load_script
from odoo.tests import tagged
from odoo.tools import mute_logger

from .contact_centre_common import ContactCentreCase

ADDON = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def migration(version, script):
    path = os.path.join(ADDON, "migrations", version, script)
    return load_script(path, f"axivox_migration_{version.replace('.', '_')}")


@tagged("post_install", "-at_install")
class TestMigrations(ContactCentreCase):
    def sessions(self):
        return [
            (s.agent_extension, s.queue_id.id, s.start_ts, s.end_ts, s.user_id.id)
            for s in self.env["axivox.agent.session"].search(
                [("account_id", "=", self.account_a.id)], order="start_ts, id"
            )
        ]

    def callers(self):
        self.env.invalidate_all()
        return sorted(
            (e.pbx_event_id, e.caller_e164 or False, e.partner_id.id)
            for e in self.env["axivox.queue.event"].search(
                [("account_id", "=", self.account_a.id)]
            )
        )

    def as_before_1_1(self):
        """The rows as 17.0.1.0.0 left them: no caller number in E.164, no contact,
        no agent session."""
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE axivox_queue_event SET caller_e164 = NULL, partner_id = NULL "
            "WHERE account_id = %s",
            [self.account_a.id],
        )
        self.env.cr.execute(
            "DELETE FROM axivox_agent_session WHERE account_id = %s",
            [self.account_a.id],
        )
        self.env.invalidate_all()

    def test_1_1_gives_the_old_events_their_callers_and_sessions(self):
        alice = self.env["res.partner"].create(
            {"name": "Alice", "phone": "02 555 01 00"}
        )
        self.ingest(
            [
                self.ev("ADDMEMBER", "2024-03-05T08:55:00", agent_extension="201"),
                self.ev("REMOVEMEMBER", "2024-03-05T12:00:00", agent_extension="201"),
            ]
            + self.call("m1", "025550100", "09:00:00")
            + self.call("m2", "+3225559999", "10:00:00", fate="ABANDON")
        )
        live = (self.callers(), self.sessions())
        self.assertIn(alice.id, {c[2] for c in live[0]}, "Alice's call is hers")
        self.assertTrue(live[1], "a session from the login")
        script = migration("17.0.1.1.0", "post-migrate.py")
        # A new install (no version): nothing to do.
        self.as_before_1_1()
        script.migrate(self.env.cr, None)
        self.assertEqual(self.sessions(), [])
        self.assertFalse([c for c in self.callers() if c[1]])
        # The upgrade from 17.0.1.0.0: what the live ingestion would have made.
        script.migrate(self.env.cr, "17.0.1.0.0")
        self.assertEqual((self.callers(), self.sessions()), live)

    @mute_logger("odoo.addons.voip_axivox_queue.migrations")
    def test_1_2_gives_accounts_sharing_a_secret_new_ones(self):
        cr = self.env.cr
        # As 17.0.1.1.0 allowed: no unique secret, two accounts sharing one.
        cr.execute(
            "ALTER TABLE axivox_account DROP CONSTRAINT "
            "axivox_account_webhook_secret_unique"
        )
        shared = self.account_a.copy({"name": "Copy A", "webhook_secret": "x" * 20})
        cr.execute(
            "UPDATE axivox_account SET webhook_secret = %s WHERE id = %s",
            [self.account_a.webhook_secret, shared.id],
        )
        self.env.invalidate_all()
        before = {
            a.id: a.webhook_secret for a in self.account_a | self.account_b | shared
        }
        script = migration("17.0.1.2.0", "pre-migrate.py")
        script.migrate(cr, None)  # a new install: nothing to do
        self.env.invalidate_all()
        self.assertEqual(shared.webhook_secret, self.account_a.webhook_secret)
        script.migrate(cr, "17.0.1.1.0")
        self.env.invalidate_all()
        # The first of those sharing it keeps it; the other gets a new one of its own.
        self.assertEqual(self.account_a.webhook_secret, before[self.account_a.id])
        self.assertEqual(self.account_b.webhook_secret, before[self.account_b.id])
        self.assertNotIn(shared.webhook_secret, before.values())
        self.assertGreaterEqual(len(shared.webhook_secret), 32)
        # the constraint the upgrade adds next holds
        cr.execute(
            "ALTER TABLE axivox_account ADD CONSTRAINT "
            "axivox_account_webhook_secret_unique UNIQUE (webhook_secret)"
        )

    def test_1_3_drops_the_indexes_no_query_uses(self):
        cr = self.env.cr
        columns = ("account_id", "queue_name", "caller_e164")
        names = [f"axivox_queue_event__{column}_index" for column in columns]
        for name, column in zip(names, columns, strict=True):
            cr.execute(f"CREATE INDEX {name} ON axivox_queue_event ({column})")

        def present():
            cr.execute(
                "SELECT indexname FROM pg_indexes "
                "WHERE tablename = 'axivox_queue_event'"
            )
            return {row[0] for row in cr.fetchall()}

        script = migration("17.0.1.3.0", "post-migrate.py")
        script.migrate(cr, None)  # a new install: nothing to do
        self.assertLessEqual(set(names), present())
        kept = present() - set(names)
        script.migrate(cr, "17.0.1.2.0")
        self.assertEqual(present(), kept, "only those indexes dropped")
