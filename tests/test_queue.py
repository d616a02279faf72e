"""The foundation's models: validation, pending changes, the connect
wizard."""
from datetime import datetime

from psycopg2 import IntegrityError

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import mute_logger
from odoo.tools.safe_eval import safe_eval

from .common import AxivoxCase


class TestQueue(AxivoxCase):
    def _queue_vals(self, **vals):
        return dict(
            {
                "name": "Billing (tests)",
                "account_id": self.account_a.id,
                "extension": "800",
                "login_code": "*81",
                "logout_code": "*82",
            },
            **vals,
        )

    def _create_queue(self, **vals):
        return self.env["axivox.queue"].create(self._queue_vals(**vals))

    # ------------------------------------------------------------------
    # Validation
    # ------------------------------------------------------------------
    def test_dial_strings(self):
        queue = self._create_queue(
            extension="8#0", login_code="*#81", logout_code="#82"
        )
        self.assertEqual(queue.extension, "8#0")
        cases = [
            ("extension", "80a", "The extension “80a” is not a dial string"),
            ("extension", "8 0", "The extension “8 0” is not a dial string"),
            (
                "login_code",
                "+81",
                "The agent connection code “+81” is not a dial string",
            ),
            (
                "logout_code",
                "*8-2",
                "The agent disconnection code “*8-2” is not a dial string",
            ),
            (
                "login_code",
                "1" * 21,
                "is not a dial string: use 1 to 20 digits, * or #.",
            ),
        ]
        for field, value, message in cases:
            with self.subTest(field=field, value=value):
                with self.assertRaises(ValidationError) as caught:
                    self._create_queue(**{field: value})
                self.assertIn(message, str(caught.exception))
                with self.assertRaises(ValidationError) as caught:
                    queue.write({field: value})
                self.assertIn(message, str(caught.exception))

    def test_login_and_logout_codes_differ(self):
        with self.assertRaises(ValidationError) as caught:
            self._create_queue(login_code="*81", logout_code="*81")
        self.assertIn(
            "the agent connection and disconnection codes must differ",
            str(caught.exception),
        )

    def test_codes_unique_per_account(self):
        # Sales already uses *61 / *62 on account A.
        for vals in (
            {"login_code": "*61"},
            {"logout_code": "*62"},
            {"logout_code": "*61"},
        ):
            with self.subTest(**vals):
                with self.assertRaises(ValidationError) as caught:
                    self._create_queue(**vals)
                self.assertIn(
                    "codes must be unique on a PBX account", str(caught.exception)
                )
                self.assertIn("Sales (tests)", str(caught.exception))
        # Another account may use the same codes.
        self.env["axivox.queue"].create(
            {
                "name": "Other B",
                "account_id": self.account_b.id,
                "extension": "601",
                "login_code": "*71",
                "logout_code": "*72",
            }
        )
        # An archived queue still owns its codes on the PBX account.
        self.queue_support.active = False
        with self.assertRaises(ValidationError) as caught:
            self._create_queue(login_code="*71")
        self.assertIn(
            "is already a code of queue Support (tests): codes must be unique on a PBX "
            "account",
            str(caught.exception),
        )

    def test_code_never_an_extension(self):
        msg = "a code can never be an extension"
        # the queue's own extension
        with self.assertRaises(ValidationError) as caught:
            self._create_queue(extension="*81", login_code="*81", logout_code="*82")
        self.assertIn(msg, str(caught.exception))
        # another queue's extension
        with self.assertRaises(ValidationError) as caught:
            self._create_queue(login_code="700")
        self.assertIn(msg, str(caught.exception))
        # a user's extension on the same account
        with self.assertRaises(ValidationError) as caught:
            self._create_queue(logout_code="201")
        self.assertIn(msg, str(caught.exception))
        # a user's extension on another account is no clash (203 of account B is Ben's;
        # on account A it is Mia's, so use one that exists on B only)
        self.manager_b.axivox_extension = "299"
        self._create_queue(logout_code="299")

    def test_queue_extension_never_a_code(self):
        """The rule holds both ways: a queue's extension cannot be another queue's
        code."""
        with self.assertRaises(ValidationError) as caught:
            self._create_queue(extension="*61")
        self.assertIn("a code can never be an extension", str(caught.exception))
        with self.assertRaises(ValidationError) as caught:
            self.queue_support.extension = "*62"
        self.assertIn("a code can never be an extension", str(caught.exception))

    def test_user_extension_never_a_code(self):
        with self.assertRaises(ValidationError) as caught:
            self.agent.axivox_extension = "*71"
        self.assertIn(
            "Extension *71 is a code of queue Support (tests)", str(caught.exception)
        )
        # the same digits on another PBX account are fine
        self.agent_b.axivox_extension = "*71"

    def test_queue_extension_unique_per_account(self):
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError) as caught:
            self._create_queue(extension="600")
        self.assertIn("axivox_queue_extension_account_unique", str(caught.exception))

    def test_times(self):
        queue = self._create_queue(max_wait_time=86400, max_ring_time=3600)
        queue.write({"max_wait_time": 1, "max_ring_time": 1})
        for field, value, message in [
            (
                "max_wait_time",
                0,
                "maximum waiting time of queue Billing (tests) must be "
                "between 1 and 86400 seconds",
            ),
            ("max_wait_time", 86401, "between 1 and 86400 seconds"),
            ("max_wait_time", -5, "between 1 and 86400 seconds"),
            (
                "max_ring_time",
                0,
                "maximum ringing time of queue Billing (tests) must be "
                "between 1 and 3600 seconds",
            ),
            ("max_ring_time", 3601, "between 1 and 3600 seconds"),
        ]:
            with self.subTest(field=field, value=value):
                with self.assertRaises(ValidationError) as caught:
                    queue.write({field: value})
                self.assertIn(message, str(caught.exception))
        # whole seconds: the fields are integers
        self.assertEqual(queue._fields["max_wait_time"].type, "integer")
        self.assertEqual(queue._fields["max_ring_time"].type, "integer")

    def test_strategies(self):
        strategies = [
            key
            for key, _label in self.env["axivox.queue"]._fields["strategy"].selection
        ]
        self.assertEqual(
            strategies,
            ["ringall", "leastrecent", "fewestcalls", "random", "rrmemory", "linear"],
        )
        queue = self._create_queue()
        self.assertEqual(queue.strategy, "ringall")
        for strategy in strategies:
            queue.strategy = strategy
        with self.assertRaisesRegex(
            ValueError, "Wrong value for axivox.queue.strategy: 'roundrobin'"
        ):
            queue.strategy = "roundrobin"

    # ------------------------------------------------------------------
    # Users' extensions
    # ------------------------------------------------------------------
    def test_user_extension(self):
        with self.assertRaises(ValidationError) as caught:
            self.employee.write(
                {"axivox_account_id": self.account_a.id, "axivox_extension": "20 4"}
            )
        self.assertIn(
            "The PBX extension “20 4” is not a dial string", str(caught.exception)
        )
        with self.assertRaises(ValidationError) as caught:
            self.employee.write({"axivox_extension": "204"})
        self.assertIn(
            "Choose the PBX account that extension 204", str(caught.exception)
        )
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError) as caught:
            self.employee.write(
                {"axivox_account_id": self.account_a.id, "axivox_extension": "201"}
            )
        self.assertIn("res_users_axivox_extension_unique", str(caught.exception))
        self.employee.write(
            {"axivox_account_id": self.account_a.id, "axivox_extension": "204"}
        )
        self.assertEqual(self.employee.axivox_extension, "204")

    def test_user_reads_and_cannot_write_own_extension(self):
        agent = self.agent.with_user(self.agent)
        self.assertIn("axivox_extension", agent.SELF_READABLE_FIELDS)
        values = agent.read(["axivox_extension", "axivox_account_id"])[0]
        self.assertEqual(values["axivox_extension"], "201")
        self.assertEqual(values["axivox_account_id"][0], self.account_a.id)
        # her preferences form shows it
        prefs = self.env.ref("base.view_users_form_simple_modif").id
        self.assertIn(
            "axivox_extension",
            agent.get_views([(prefs, "form")])["models"]["res.users"],
        )
        # but the mapping is the administrators' job
        self.assertNotIn("axivox_extension", agent.SELF_WRITEABLE_FIELDS)
        with self.assertRaises(AccessError):
            agent.write({"axivox_extension": "299"})
        self.assertEqual(self.agent.axivox_extension, "201")

    # ------------------------------------------------------------------
    # Pending changes
    # ------------------------------------------------------------------
    def test_pending_changes(self):
        Queue = self.env["axivox.queue"]
        self.assertTrue(
            self._create_queue().pending_changes, "created in Odoo: to apply"
        )
        queue = Queue.browse(
            Queue.with_context(axivox_no_pending_change=True)
            .create(
                self._queue_vals(extension="801", login_code="*83", logout_code="*84")
            )
            .id
        )
        self.assertFalse(
            queue.pending_changes, "mirrored from the PBX: nothing to apply"
        )
        queue.write({"color": 3, "sequence": 4})
        self.assertFalse(queue.pending_changes, "color / sequence are Odoo-only")
        edits = [
            ("name", "Billing 2", "Billing 3"),
            ("extension", "802", "803"),
            ("strategy", "random", "linear"),
            ("max_wait_time", 60, 61),
            ("max_ring_time", 15, 16),
            ("login_code", "*85", "*87"),
            ("logout_code", "*86", "*88"),
        ]
        for field, from_pbx, from_odoo in edits:
            with self.subTest(field=field):
                queue.with_context(axivox_no_pending_change=True).write(
                    {"pending_changes": False}
                )
                queue.with_context(axivox_no_pending_change=True).write(
                    {field: from_pbx}
                )
                self.assertFalse(queue.pending_changes, "the PBX's own value")
                queue.write({field: from_odoo})
                self.assertTrue(queue.pending_changes, "edited in Odoo: to apply")

    def test_pending_changes_members(self):
        queue = self.queue_support
        queue.with_context(axivox_no_pending_change=True).pending_changes = False
        member = self.env["axivox.queue.member"].create(
            {"queue_id": queue.id, "user_id": self.agent.id}
        )
        self.assertTrue(queue.pending_changes, "a new agent is to apply")

        queue.with_context(axivox_no_pending_change=True).pending_changes = False
        member._set_login_state_if_newer(True, datetime(2026, 1, 1), "pbx", ts=1.0)
        self.assertFalse(
            queue.pending_changes, "logging in is not a change of the queue"
        )

        member.member_type = "static"
        self.assertTrue(queue.pending_changes, "static/dynamic is a change to apply")

        queue.with_context(axivox_no_pending_change=True).pending_changes = False
        member.unlink()
        self.assertTrue(queue.pending_changes, "a removed agent is to apply")

        queue.with_context(axivox_no_pending_change=True).pending_changes = False
        self.env["axivox.queue.member"].with_context(
            axivox_no_pending_change=True
        ).create({"queue_id": queue.id, "user_id": self.agent.id})
        self.assertFalse(queue.pending_changes, "mirrored from the PBX")

    # ------------------------------------------------------------------
    # The connect wizard
    # ------------------------------------------------------------------
    def test_connect_wizard_domain(self):
        Member = self.env["axivox.queue.member"]
        extra = Member.create(
            [
                {
                    "queue_id": self.queue_sales.id,
                    "user_id": self.manager.id,
                    "member_type": "dynamic",
                    "connected": True,
                },
            ]
        )
        Wizard = self.env["axivox.queue.connect.wizard"]
        action = self.queue_sales.action_connect_agent()
        self.assertEqual(action["res_model"], "axivox.queue.connect.wizard")
        self.assertEqual(action["context"], {"default_queue_id": self.queue_sales.id})
        wizard = Wizard.with_context(**action["context"]).create(
            {"member_id": self.m_anna_sales.id}
        )
        self.assertEqual(wizard.queue_id, self.queue_sales)
        domain = safe_eval(
            Wizard._fields["member_id"].domain,
            {"queue_id": wizard.queue_id.id, "account_id": wizard.account_id.id},
        )
        offered = Member.search(domain)
        # Anna only: Bruno is static, Mia is already connected, Support's agents are not
        # in this queue.
        self.assertEqual(offered, self.m_anna_sales)
        self.assertNotIn(extra, offered)
        self.assertNotIn(self.m_bruno_support, offered)

    def test_connect_wizard_refuses_agents_outside_its_domain(self):
        """The domain only guides the web client; the server checks it again, before
        any PBX call."""
        Wizard = self.env["axivox.queue.connect.wizard"].with_user(self.manager)
        for queue, member, why in (
            (self.queue_sales, self.m_bruno_sales, "a static agent"),
            (self.queue_sales, self.m_bruno_support, "an agent of another queue"),
        ):
            with self.subTest(why):
                wizard = Wizard.create({"queue_id": queue.id, "member_id": member.id})
                with self.assertRaises(UserError) as caught:
                    wizard.action_connect()
                self.assertEqual(
                    str(caught.exception),
                    f"Ax Agent Bruno is not a dynamic agent of queue {queue.name}: only"
                    " the queue's dynamic agents can be connected.",
                )

    def test_settings_count_the_company_accounts(self):
        """The Call Queues block of Settings counts this company's PBX accounts."""
        settings = self.env["res.config.settings"].with_user(self.admin).create({})
        expected = self.env["axivox.account"].search_count(
            [("company_id", "=", self.company_a.id)]
        )
        self.assertGreaterEqual(expected, 1)
        self.assertEqual(settings.axivox_account_count, expected)
        view = self.env.ref("voip_axivox_queue.res_config_settings_view_form")
        self.assertIn('name="voip_axivox_queue"', view.arch_db)
