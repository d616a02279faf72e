"""What the Axivox "Call queues" page promises managers: delete deletes the
queue on the PBX and keeps its report, default codes, "Connect an agent", who is on a
queue call, errors in words people understand, the queue form. Against the simulator on
127.0.0.1."""
import json

from lxml import etree

from odoo.exceptions import UserError
from odoo.tests import Form, TransactionCase, tagged
from odoo.tools import mute_logger

from ..axivox_api.events import validate_batch
from ..axivox_api.rules import QUEUE_CONFIG_FIELDS
from ..bus_notifications import MEMBER_STATE
from .common import DAY, AxivoxCase, SimulatedWorld, event

QUIET = (
    "odoo.addons.voip_axivox_queue.models.axivox_account",
    "odoo.addons.voip_axivox_queue.models.axivox_account_sync",
    "odoo.addons.voip_axivox_queue.models.axivox_account_auto_logout",
    "odoo.addons.voip_axivox_queue.axivox_api.client",
)
UNREACHABLE = (
    "The PBX could not be reached. Ask your administrator to check the PBX account."
)


class ConsoleWorld(SimulatedWorld):
    def setUp(self):
        super().setUp()
        self.assertIsNone(self.account._sync_safely())
        self.env.invalidate_all()

    def queue(self, remote_id):
        return (
            self.env["axivox.queue"]
            .with_context(active_test=False)
            .search(
                [("account_id", "=", self.account.id), ("remote_id", "=", remote_id)]
            )
        )

    def ingest(self, *events):
        return (
            self.env["axivox.event.intake"]
            .sudo()
            ._apply(self.account, validate_batch({"events": list(events)}), "webhook")
        )

    def report(self, domain):
        return self.env["axivox.queue.event"].search(
            [("account_id", "=", self.account.id)] + domain
        )


@tagged("post_install", "-at_install")
class TestQueueDelete(ConsoleWorld, TransactionCase):
    """1. Delete deletes the queue on the PBX, keeps its report, and it never comes
    back."""

    def _sales_history(self):
        self.ingest(
            event(
                "d-1",
                "ADDMEMBER",
                agent_extension="102",
                member_type="dynamic",
                at=f"{DAY}T09:00:00.000Z",
            ),
            event(
                "d-2",
                "ENTERQUEUE",
                call_id="c1",
                caller_number="+3225550100",
                at=f"{DAY}T09:01:00.000Z",
            ),
            event(
                "d-3",
                "CONNECT",
                call_id="c1",
                agent_extension="102",
                wait_time=5,
                at=f"{DAY}T09:01:05.000Z",
            ),
            event(
                "d-4",
                "ENTERQUEUE",
                queue_id="support",
                call_id="c2",
                at=f"{DAY}T09:02:00.000Z",
            ),
        )

    def test_delete_on_the_pbx_keeps_the_report_and_never_comes_back(self):
        self._sales_history()
        sales = self.queue("sales")
        sales.with_user(self.manager).unlink()
        self.assertNotIn(
            "sales", [q["id"] for q in self.pbx.list_queues()], "deleted on the PBX"
        )
        self.assertFalse(self.queue("sales").exists())
        history = self.report([("pbx_event_id", "in", ["d-1", "d-2", "d-3"])])
        self.assertEqual(len(history), 3, "the report history stays")
        self.assertEqual(set(history.mapped("queue_name")), {"Sales"})
        self.assertFalse(history.queue_id)
        # Still searchable by the queue's name, as the report's search does it.
        by_name = self.report([("queue_name", "ilike", "sales")])
        self.assertEqual(by_name, history)
        self.assertEqual(
            self.report([("queue_name", "ilike", "support")]).pbx_event_id, "d-4"
        )
        # The sync does not bring it back, nor does a late event of the queue.
        self.assertIsNone(self.account._sync_safely())
        self.ingest(event("d-5", "ABANDON", call_id="c9", at=f"{DAY}T10:00:00.000Z"))
        self.assertIsNone(self.account._sync_safely())
        self.assertFalse(self.queue("sales"))
        self.assertEqual(
            sorted(
                self.env["axivox.queue"]
                .with_context(active_test=False)
                .search([("account_id", "=", self.account.id)])
                .mapped("remote_id")
            ),
            ["billing", "support"],
        )
        # The CSV export of the report names the queue of the deleted queue's lines.
        content = (
            self.env["axivox.queue.event"]
            ._report_csv([("pbx_event_id", "=", "d-3")])
            .decode()
        )
        self.assertIn("Sales", content.splitlines()[1])

    def test_rename_keeps_the_name_on_the_report(self):
        self._sales_history()
        self.queue("sales").name = "Sales Italy"
        self.assertEqual(
            set(
                self.report([("pbx_event_id", "in", ["d-1", "d-3"])]).mapped(
                    "queue_name"
                )
            ),
            {"Sales Italy"},
        )

    @mute_logger(*QUIET)
    def test_pbx_refuses_nothing_changes(self):
        self._sales_history()
        sales = self.queue("sales")
        self.sim.faults(error_paths=["/queues/sales"])
        with self.assertRaises(UserError) as caught:
            sales.with_user(self.manager).unlink()
        self.assertEqual(
            str(caught.exception),
            "The PBX is not working right now. Try again in a few minutes; if it lasts,"
            " ask your administrator to check the PBX account.",
        )
        self.assertTrue(sales.exists())
        self.assertEqual(len(sales.member_ids), 4)
        self.assertEqual(
            self.report([("queue_id", "=", sales.id)]).mapped("pbx_event_id"),
            ["d-3", "d-2", "d-1"],
        )
        self.sim.faults()
        self.assertIn("sales", [q["id"] for q in self.pbx.list_queues()])

    @mute_logger(*QUIET)
    def test_pbx_unreachable_nothing_changes(self):
        sales = self.queue("sales")
        self.account.api_url = "http://127.0.0.1:9"
        with self.assertRaises(UserError) as caught:
            sales.with_user(self.manager).unlink()
        self.assertEqual(str(caught.exception), UNREACHABLE)
        self.assertTrue(sales.exists())

    def test_already_gone_from_the_pbx(self):
        self.pbx.delete_queue("billing")
        self.queue("billing").with_user(self.manager).unlink()
        self.assertFalse(self.queue("billing"))

    def test_queue_never_applied_only_leaves_odoo(self):
        queue = (
            self.env["axivox.queue"]
            .with_user(self.manager)
            .create(
                {"name": "Draft", "account_id": self.account.id, "extension": "690"}
            )
        )
        self.sim.clear_requests()
        queue.unlink()
        self.assertFalse(queue.exists())
        self.assertFalse(
            [r for r in self.sim.requests_log() if r["method"] == "DELETE"]
        )


@tagged("post_install", "-at_install")
class TestOnCall(ConsoleWorld, TransactionCase):
    """3. Who is on a queue call right now, and since when (from the PBX's events)."""

    def member(self, remote_id, ext):
        return self.queue(remote_id).member_ids.filtered(
            lambda m: m.user_id.axivox_extension == ext
        )

    def sofia(self, event_id, kind, call_id, at, **data):
        """An event of call ``call_id`` for Sofia (102) at ``at`` on DAY."""
        return event(
            event_id,
            kind,
            call_id=call_id,
            agent_extension="102",
            at=f"{DAY}T{at}.000Z",
            **data,
        )

    def test_connect_then_end_of_call(self):
        sofia = self.member("sales", "102")
        self.ingest(self.sofia("c-1", "CONNECT", "call-1", "09:01:05"))
        self.assertEqual(
            (sofia.on_call, sofia.call_id, str(sofia.on_call_since)),
            (True, "call-1", f"{DAY} 09:01:05"),
        )
        self.assertTrue(sofia.connected, "she stays connected while she talks")
        self.assertFalse(self.member("sales", "103").on_call)
        self.assertFalse(self.member("billing", "102").on_call, "only the queue's call")
        for kind in (
            "COMPLETEAGENT",
            "COMPLETECALLER",
            "BLINDTRANSFER",
            "ATTENDEDTRANSFER",
        ):
            with self.subTest(kind):
                self.ingest(
                    self.sofia(f"c-2-{kind}", "CONNECT", f"call-{kind}", "09:30:00")
                )
                self.assertTrue(sofia.on_call)
                self.ingest(
                    self.sofia(
                        f"c-3-{kind}", kind, f"call-{kind}", "09:31:00", talk_time=60
                    )
                )
                self.assertEqual(
                    (sofia.on_call, sofia.call_id, sofia.on_call_since),
                    (False, False, False),
                )
                sofia.with_context(axivox_no_pending_change=True).call_change_ts = 0

    def test_order_of_arrival_does_not_matter(self):
        sofia = self.member("sales", "102")
        # The end arrives before the start, in one batch or in two.
        self.ingest(
            self.sofia("o-2", "COMPLETECALLER", "call-1", "09:05:00"),
            self.sofia("o-1", "CONNECT", "call-1", "09:01:00"),
        )
        self.assertFalse(sofia.on_call)
        self.ingest(self.sofia("o-3", "CONNECT", "call-2", "09:10:00"))
        self.ingest(self.sofia("o-4", "COMPLETEAGENT", "call-1", "09:05:00"))
        self.assertEqual(sofia.call_id, "call-2", "a late, older end changes nothing")
        self.assertTrue(sofia.on_call)

    def test_the_managers_are_told(self):
        self.env["bus.bus"].sudo().search([]).unlink()
        self.ingest(self.sofia("n-1", "CONNECT", "call-1", "09:01:05"))
        self.env.cr.precommit.run()
        messages = [
            json.loads(n.message) for n in self.env["bus.bus"].sudo().search([])
        ]
        states = [m["payload"] for m in messages if m["type"] == MEMBER_STATE]
        self.assertTrue(states)
        self.assertTrue(
            all(
                p["on_call"] and p["on_call_since"] == f"{DAY} 09:01:05" for p in states
            ),
            states,
        )


class TestConsoleForms(AxivoxCase):
    """5. default codes, 6. Connect an agent, 7. the queue form, 10. error words."""

    def test_default_codes(self):
        Queue = self.env["axivox.queue"].with_user(self.manager)
        queue = Queue.create(
            {"name": "Billing", "account_id": self.account_a.id, "extension": "800"}
        )
        self.assertEqual((queue.login_code, queue.logout_code), ("*800", "#800"))
        # Proposed in the form, editable.
        with Form(Queue) as form:
            form.name = "Returns"
            form.account_id = self.account_a
            form.extension = "810"
            self.assertEqual((form.login_code, form.logout_code), ("*810", "#810"))
            form.logout_code = "*819"
        self.assertEqual(
            (form.record.login_code, form.record.logout_code), ("*810", "*819")
        )
        # Defaults follow the extension while they are the defaults.
        with Form(queue) as form:
            form.extension = "820"
            self.assertEqual((form.login_code, form.logout_code), ("*820", "#820"))
        with Form(form.record) as form:
            form.login_code = "*99"
            form.extension = "830"
            self.assertEqual((form.login_code, form.logout_code), ("*99", "#830"))
        # What is given is kept.
        other = Queue.create(
            {
                "name": "Other",
                "account_id": self.account_a.id,
                "extension": "840",
                "login_code": "*84",
                "logout_code": "*85",
            }
        )
        self.assertEqual((other.login_code, other.logout_code), ("*84", "*85"))

    def test_connect_wizard_offers_agents_with_an_extension_on_the_account(self):
        from odoo.tools.safe_eval import safe_eval

        Member = self.env["axivox.queue.member"]
        Wizard = self.env["axivox.queue.connect.wizard"].with_user(self.manager)

        def offered():
            wizard = Wizard.new({"queue_id": self.queue_sales.id})
            self.assertEqual(wizard.account_id, self.account_a)
            domain = safe_eval(
                Wizard._fields["member_id"].domain,
                {"queue_id": wizard.queue_id.id, "account_id": wizard.account_id.id},
            )
            return Member.with_user(self.manager).search(domain)

        self.assertEqual(offered(), self.m_anna_sales)
        # Anna loses her extension (or it moves to another PBX account): not offered,
        # and refused if sent anyway.
        self.agent.axivox_extension = False
        self.assertFalse(offered())
        wizard = Wizard.create(
            {"queue_id": self.queue_sales.id, "member_id": self.m_anna_sales.id}
        )
        with self.assertRaises(UserError) as caught:
            wizard.action_connect()
        self.assertIn(
            "has no extension on the PBX account of queue Sales (tests)",
            str(caught.exception),
        )

    def test_queue_form_reads_like_the_console(self):
        arch = (
            self.env["axivox.queue"]
            .with_user(self.manager)
            .get_views([(False, "form")])["views"]["form"]["arch"]
        )
        form = etree.fromstring(arch)
        sheet = form.find(".//sheet")
        # Configuration first, in the console's order, then the agents.
        names = [
            f.get("name")
            for f in sheet.iter("field")
            if not f.get("invisible") and f.getparent().tag != "tree"
        ]
        # The queue's configuration fields are listed in the console's order.
        config = list(QUEUE_CONFIG_FIELDS)
        self.assertEqual([n for n in names if n in config], config)
        self.assertLess(names.index("logout_code"), names.index("static_member_ids"))
        self.assertLess(
            names.index("static_member_ids"), names.index("dynamic_member_ids")
        )
        # The KPIs in their own tab or stat buttons, never above the agents.
        for field in sheet.iter("field"):
            if field.get("name", "").startswith("kpi_"):
                in_page = any(
                    a.tag == "page" and a.get("name") == "statistics"
                    for a in field.iterancestors()
                )
                in_button = (
                    field.getparent().get("class", "").find("oe_stat_button") >= 0
                )
                self.assertTrue(in_page or in_button, field.get("name"))
        # The agents with their state and since, static and dynamic apart.
        dynamic = sheet.find(".//field[@name='dynamic_member_ids']/tree")
        self.assertEqual(
            {f.get("name") for f in dynamic.iter("field")}
            >= {"connected", "connected_since", "on_call", "on_call_since"},
            True,
        )
        self.assertIsNotNone(sheet.find(".//field[@name='static_member_ids']"))
        # "Changes to apply" is a status (a badge), nowhere a toggle.
        for view_type in ("form", "list"):
            arch = self.env["axivox.queue"].get_views([(False, view_type)])["views"][
                view_type
            ]["arch"]
            self.assertNotIn("boolean_toggle", arch)
            self.assertIn('name="pbx_state"', arch)
        self.assertEqual(self.queue_sales.pbx_state, "new")
        self.queue_sales.with_context(axivox_no_pending_change=True).write(
            {"remote_id": "sales", "pending_changes": False}
        )
        self.assertEqual(self.queue_sales.pbx_state, "applied")
        self.queue_sales.max_ring_time = 30
        self.assertEqual(self.queue_sales.pbx_state, "pending")
        self.assertEqual(
            dict(self.queue_sales._fields["pbx_state"].selection)["pending"],
            "Changes to apply",
        )
