"""Secrets and administrators: API keys and webhook secrets are read and changed by
administrators only, never shown to managers or agents."""
from lxml import etree
from psycopg2 import IntegrityError

from odoo.exceptions import AccessError
from odoo.tools import mute_logger

from .common import AxivoxCase

SECRETS = ("api_key", "webhook_secret", "webhook_token", "webhook_url")


class TestSecrets(AxivoxCase):
    def assertNoAccess(self, operation, *args, **kwargs):
        with self.assertRaises(AccessError, msg=f"{operation} should be refused"):
            operation(*args, **kwargs)

    def test_manager_reads_accounts_but_not_their_secrets(self):
        account = self.account_a.with_user(self.manager)
        self.assertEqual(
            account.read(["name", "api_url", "sync_state"])[0]["api_url"],
            "http://127.0.0.1:9",
        )
        for field in SECRETS:
            with self.subTest(field=field):
                self.assertNoAccess(account.read, [field])
        self.assertFalse(set(SECRETS) & set(account.fields_get()))
        self.assertFalse(set(SECRETS) & set(account.read()[0]))
        self.assertFalse(
            set(SECRETS) & set(account.search_read([("id", "=", account.id)])[0])
        )
        view = account.get_views([(False, "form")])
        self.assertFalse(set(SECRETS) & set(view["models"]["axivox.account"]))
        self.assertNotIn("api_key", view["views"]["form"]["arch"])
        # searching on a secret is refused too (no guessing by search)
        with self.assertRaises(AccessError):
            self.env["axivox.account"].with_user(self.manager).search(
                [("api_key", "=", "key-a-secret")]
            )
        self.assertNoAccess(account.write, {"name": "Renamed"})
        self.assertNoAccess(account.unlink)
        self.assertNoAccess(
            self.env["axivox.account"].with_user(self.manager).create,
            {"name": "New", "api_url": "http://127.0.0.1:9"},
        )
        self.assertNoAccess(account.action_rotate_webhook_secret)
        self.assertEqual(self.account_a.webhook_secret, "whsec-a-secret")

    # ------------------------------------------------------------------
    # Administrators
    # ------------------------------------------------------------------
    def test_the_demo_account_has_a_secret_of_its_own(self):
        demo = self.env.ref("voip_axivox_queue.demo_account", raise_if_not_found=False)
        if not demo:
            self.skipTest("installed without demo data")
        # generated at install: no two demo databases share it, nobody knows it
        self.assertNotEqual(demo.webhook_secret, "demo-webhook-secret")
        self.assertGreaterEqual(len(demo.webhook_secret), 40)

    @mute_logger("odoo.sql_db")
    def test_two_accounts_never_share_a_webhook_secret(self):
        Account = self.env["axivox.account"].with_user(self.admin)
        with self.assertRaises(IntegrityError), self.env.cr.savepoint():
            Account.create(
                {
                    "name": "Twin PBX",
                    "api_url": "http://127.0.0.1:9",
                    "webhook_secret": "whsec-a-secret",
                }
            )
            self.env.flush_all()
        with self.assertRaises(IntegrityError), self.env.cr.savepoint():
            self.account_b.webhook_secret = "whsec-a-secret"
            self.env.flush_all()
        self.assertEqual(self.account_b.webhook_secret, "whsec-b-secret")

    def test_admin_manages_accounts_and_secrets(self):
        Account = self.env["axivox.account"].with_user(self.admin)
        account = self.account_a.with_user(self.admin)
        values = account.read(list(SECRETS))[0]
        self.assertEqual(values["api_key"], "key-a-secret")
        self.assertEqual(values["webhook_secret"], "whsec-a-secret")
        self.assertTrue(
            values["webhook_url"].endswith(
                "/voip_axivox_queue/webhook/" + values["webhook_token"]
            )
        )
        self.assertTrue(set(SECRETS) <= set(account.fields_get()))
        account.write({"api_key": "rotated-key"})
        account.action_rotate_webhook_secret()
        self.assertNotEqual(self.account_a.webhook_secret, "whsec-a-secret")
        new = Account.create({"name": "New PBX", "api_url": "https://pbx.example.com"})
        self.assertEqual(new.company_id, self.company_a)
        self.assertTrue(new.webhook_secret and new.webhook_token)
        self.assertNotEqual(new.webhook_token, self.account_a.webhook_token)
        new.unlink()

    def _form_fields(self, records, view_xmlid=None):
        """The fields of ``records``' model that the web client reads to open its
        form."""
        view_id = self.env.ref(view_xmlid).id if view_xmlid else False
        arch = etree.fromstring(
            records.get_views([(view_id, "form")])["views"]["form"]["arch"]
        )
        return {
            node.get("name")
            for node in arch.iter("field")
            if not any(parent.tag == "field" for parent in node.iterancestors())
        }

    def test_admin_opens_account_and_user_forms(self):
        """An administrator who is not in the Call Queues groups still configures the
        PBX and maps users to extensions: the forms she uses must not need queue access.
        """
        account = self.account_a.with_user(self.admin)
        self.env.invalidate_all()
        account.read(list(self._form_fields(account)))
        self.assertEqual(account.queue_count, 2)
        user = self.agent.with_user(self.admin)
        names = self._form_fields(user, "base.view_users_form")
        self.assertIn("axivox_extension", names)
        self.assertNotIn("axivox_member_ids", names)
        self.env.invalidate_all()
        user.read(list(names))
        user.write({"axivox_extension": "211"})
        self.assertEqual(self.agent.axivox_extension, "211")
        # an administrator who is also a queue manager sees the user's queues there
        admin_manager = self.env.ref("base.user_admin")
        self.assertTrue(
            admin_manager.has_group("voip_axivox_queue.group_axivox_manager")
        )
        self.assertIn(
            "axivox_member_ids",
            self._form_fields(
                self.agent.with_user(admin_manager), "base.view_users_form"
            ),
        )
        # queues themselves are the managers' business
        self.assertNoAccess(self.env["axivox.queue"].with_user(self.admin).search, [])
