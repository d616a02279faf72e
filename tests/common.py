"""The one fixture family of the Odoo tests, and the small helpers they share.

Everything is built through the ORM: nothing comes from the demo data, so the suite
passes on a database installed with or without it. The PBX is never the internet: either
an address that refuses connections, or the reference simulator on 127.0.0.1.

- ``AxivoxFixtures`` / ``AxivoxCase``: two companies, a PBX account each, users in every
  role, queues and memberships; no PBX is called.
- ``AxivoxWorld``: one account and users mapped to the extensions of the simulator's
  data (``axivox_simulator/data/demo.json``); ``make_queue`` and ``make_pbx_queues``
  add queues.
- ``SimulatedWorld``: ``AxivoxWorld`` on its own simulator, reset before each test.
- ``PbxQueuesWorld``: ``SimulatedWorld`` with the simulator's three queues (Sales,
  Support, Billing) and their memberships, as the softphone, the console and the tours
  see them.
- ``PbxTourWorld``: ``PbxQueuesWorld`` for the tours in Chromium (``run_tour``).
- ``WebhookWorld``: ``AxivoxWorld`` with a Sales queue, ``post_webhook`` and
  ``hold_applier_lock`` (stands for a running webhook applier).
"""

import json
import threading
import time
from datetime import datetime, timedelta, timezone
from unittest.mock import patch

import odoo
from odoo.tests.common import TransactionCase, new_test_user

from odoo.addons.bus.models.bus import dispatch
from odoo.addons.bus.websocket import WebsocketConnectionHandler

from ..axivox_api import events as ev
from ..axivox_api import signature
from ..axivox_simulator import DEMO_DATA
from ..axivox_simulator.testing import SimulatorProcess
from ..transactions import APPLY_LOCK

AGENT = "base.group_user,voip_axivox_queue.group_axivox_agent"
MANAGER = "base.group_user,voip_axivox_queue.group_axivox_manager"
ADMIN = "base.group_user,base.group_system"
WEBHOOK_SECRET = "test-webhook-secret-0123456789"
WEBHOOK_URL = "/voip_axivox_queue/webhook/%s"
# Records written as the PBX reports them: no pending change to push back.
FROM_PBX = {"axivox_no_pending_change": True}


def make_user(env, login, groups, password=None, **values):
    """A user whose password is ``password`` (its login by default)."""
    return new_test_user(
        env,
        login,
        groups=groups,
        password=password or login,
        context={"no_reset_password": True},
        **values,
    )


# The day of the tests' events: nine days before the clock's (UTC), whatever it is, so
# that an event of that day is never in the future (the schema refuses those) nor in
# today's or the last 7 days' figures.
DAY = (datetime.now(timezone.utc) - timedelta(days=9)).strftime("%Y-%m-%d")


def event(event_id, kind, queue_id="sales", at=None, **data):
    """A PBX event as the API sends it (at 10:00 UTC on DAY by default)."""
    at = at or f"{DAY}T10:00:00.000Z"
    return dict(
        {"id": event_id, "type": kind, "queue_id": queue_id, "timestamp": at}, **data
    )


def signed(body, secret=WEBHOOK_SECRET, now=None, delivery_id=None):
    """Headers of a webhook delivery signed with ``secret``."""
    headers = signature.signed_headers(secret, body, now=now, delivery_id=delivery_id)
    headers["Content-Type"] = "application/json"
    return headers


def start_simulator(testcase_class, **options):
    """Start a simulator for a test class (stopped at class cleanup)."""
    options.setdefault("announce_seconds", 0)
    options.setdefault("data", DEMO_DATA)
    sim = SimulatorProcess(**options).start()
    testcase_class.addClassCleanup(sim.stop)
    return sim


def pump_bus(stop):
    """Until ``stop`` is set, tell the open websockets that the bus has news: the test
    cursor never commits, so the bus is never told."""
    while not stop.wait(0.2):
        try:
            websockets = {
                ws
                for wss in list(dispatch._channels_to_ws.values())
                for ws in list(wss)
            }
            for websocket in websockets:
                websocket.trigger_notification_dispatching()
        except RuntimeError:  # the channels changed while we read them
            continue


def wait_for(predicate, timeout=15.0, interval=0.05):
    """Poll ``predicate`` until it is true; returns its last value."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value


def enter_test_mode(cls):
    """Odoo's test mode on the test class's transaction (as an HttpCase has it): the
    registry's new cursors, which the addon opens for its transactions of their own,
    are Odoo's test cursors on that transaction, so the tests run the production code
    path and roll everything back. A class that runs transactions of its own for real
    sets ``axivox_test_mode = False``."""
    if getattr(cls, "axivox_test_mode", True) and not cls.registry.in_test_mode():
        cls.registry.enter_test_mode(cls.cr)
        cls.addClassCleanup(cls.registry.leave_test_mode)


class AxivoxFixtures:
    """Two companies, a PBX account each, users with extensions in every role, queues
    and memberships, built by ``_setup_axivox`` (usable by TransactionCase and
    HttpCase)."""

    @classmethod
    def _setup_axivox(cls):
        enter_test_mode(cls)
        env = cls.env
        cls.company_a = env.company
        cls.company_b = env["res.company"].create({"name": "Axivox Test Company B"})
        cls.account_a, cls.account_b = env["axivox.account"].create(
            [
                {
                    "name": f"PBX {x.upper()} (tests)",
                    "company_id": company.id,
                    "api_url": "http://127.0.0.1:9",
                    "api_key": f"key-{x}-secret",
                    "webhook_secret": f"whsec-{x}-secret",
                }
                for x, company in (("a", cls.company_a), ("b", cls.company_b))
            ]
        )

        def user(login, groups, account, extension, company):
            return make_user(
                env,
                login,
                groups,
                password=login + "-pass",
                name=login.replace("_", " ").title(),
                company_id=company.id,
                company_ids=[(6, 0, company.ids)],
                axivox_account_id=account.id if account else False,
                axivox_extension=extension,
            )

        a, b = cls.account_a, cls.account_b
        cls.agent = user("ax_agent_anna", AGENT, a, "201", cls.company_a)
        cls.agent2 = user("ax_agent_bruno", AGENT, a, "202", cls.company_a)
        cls.manager = user("ax_manager_mia", MANAGER, a, "203", cls.company_a)
        cls.admin = user("ax_admin_adam", ADMIN, None, False, cls.company_a)
        cls.agent_b = user("ax_agent_bea", AGENT, b, "201", cls.company_b)
        cls.manager_b = user("ax_manager_ben", MANAGER, b, "203", cls.company_b)
        cls.employee = user(
            "ax_employee_eve", "base.group_user", None, False, cls.company_a
        )

        def queue(name, account, extension, code, **values):
            return dict(
                values,
                name=name,
                account_id=account.id,
                extension=extension,
                login_code=f"*{code}1",
                logout_code=f"*{code}2",
            )

        cls.queue_sales, cls.queue_support, cls.queue_b = env["axivox.queue"].create(
            [
                queue("Sales (tests)", a, "600", 6),
                queue("Support (tests)", a, "700", 7, strategy="leastrecent"),
                queue("Ventes B (tests)", b, "600", 6),
            ]
        )
        # Anna: dynamic in Sales (logged out); Bruno: static in Sales, dynamic in
        # Support.
        (
            cls.m_anna_sales,
            cls.m_bruno_sales,
            cls.m_bruno_support,
            cls.m_bea_b,
        ) = env["axivox.queue.member"].create(
            [
                {
                    "queue_id": queue.id,
                    "user_id": user.id,
                    "member_type": kind,
                    **({"connected": False} if kind == "dynamic" else {}),
                }
                for queue, user, kind in (
                    (cls.queue_sales, cls.agent, "dynamic"),
                    (cls.queue_sales, cls.agent2, "static"),
                    (cls.queue_support, cls.agent2, "dynamic"),
                    (cls.queue_b, cls.agent_b, "static"),
                )
            ]
        )


class AxivoxCase(AxivoxFixtures, TransactionCase):
    """A TransactionCase on ``AxivoxFixtures``."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_axivox()


class AxivoxWorld:
    """An account, users mapped to the simulator's extensions 100..105, no queue yet."""

    @classmethod
    def setup_world(cls, api_url="http://127.0.0.1:9", api_key="test-api-key"):
        enter_test_mode(cls)
        env = cls.env
        cls.company = env.company
        cls.account = env["axivox.account"].create(
            {
                "name": "Test PBX",
                "api_url": api_url,
                "api_key": api_key,
                "webhook_secret": WEBHOOK_SECRET,
                "company_id": cls.company.id,
            }
        )
        cls.token = cls.account.webhook_token
        with open(DEMO_DATA, encoding="utf-8") as fh:
            cls.demo = json.load(fh)
        cls.users = {}
        for pbx_user in cls.demo["users"]:
            ext = pbx_user["extension"]
            cls.users[ext] = make_user(
                env,
                f"axivox_test_{ext}",
                AGENT,
                name=pbx_user["name"],
                email=pbx_user["email"],
                axivox_account_id=cls.account.id,
                axivox_extension=ext,
            )
        cls.manager = make_user(
            env, "axivox_test_manager", MANAGER, name="Queue Manager"
        )

    @classmethod
    def setup_simulated_world(cls, **sim_options):
        """The world on a fresh simulator (``cls.sim``, its client ``cls.pbx``); the
        other accounts are archived, so that only this PBX is synced by the cron."""
        cls.sim = start_simulator(cls, **sim_options)
        cls.setup_world(api_url=cls.sim.url, api_key=cls.sim.api_key)
        cls.pbx = cls.sim.client()
        cls.env["axivox.account"].search([("id", "!=", cls.account.id)]).active = False

    @classmethod
    def make_queue(
        cls,
        remote_id,
        name,
        extension,
        login,
        logout,
        static=(),
        dynamic=(),
        connected=(),
        **values,
    ):
        queue = (
            cls.env["axivox.queue"]
            .with_context(**FROM_PBX)
            .create(
                dict(
                    values,
                    name=name,
                    account_id=cls.account.id,
                    remote_id=remote_id,
                    extension=extension,
                    login_code=login,
                    logout_code=logout,
                )
            )
        )
        members = [
            {
                "queue_id": queue.id,
                "user_id": cls.users[ext].id,
                "member_type": "static",
            }
            for ext in static
        ]
        members += [
            {
                "queue_id": queue.id,
                "user_id": cls.users[ext].id,
                "member_type": "dynamic",
                "connected": ext in connected,
            }
            for ext in dynamic
        ]
        cls.env["axivox.queue.member"].with_context(**FROM_PBX).create(members)
        return queue

    @classmethod
    def make_pbx_queues(cls):
        """The simulator's queues and memberships (its data file), as a sync finds them;
        returns the queues by remote id."""
        queues = {}
        for q in cls.demo["queues"]:
            connected = [
                c["extension"]
                for c in cls.demo["connected_agents"]
                if c["queue_id"] == q["id"]
            ]
            queues[q["id"]] = cls.make_queue(
                q["id"],
                q["name"],
                q["extension"],
                q["login_code"],
                q["logout_code"],
                static=q["static_agents"],
                dynamic=q["dynamic_agents"],
                connected=connected,
                strategy=q["strategy"],
                max_wait_time=q["max_wait_time"],
                max_ring_time=q["max_ring_time"],
                pbx_version=1,
            )
        return queues

    def ingest_late_login(self, ext, queue_id="sales"):
        """An ADDMEMBER of ``ext`` the PBX logged a minute ago, delivered only now."""
        late = datetime.now(timezone.utc) - timedelta(minutes=1)
        self.env["axivox.event.intake"]._apply(
            self.account,
            [
                event(
                    "late-add",
                    "ADDMEMBER",
                    queue_id,
                    ev.format_timestamp(late),
                    agent_extension=ext,
                )
            ],
            "webhook",
        )

    @classmethod
    def member(cls, queue, ext):
        return queue.member_ids.filtered(lambda m: m.user_id == cls.users[ext])


class SimulatedWorld(AxivoxWorld):
    """AxivoxWorld on its own simulator (``sim_options``), reset to the demo data before
    each test."""

    sim_options = {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_simulated_world(**cls.sim_options)

    def setUp(self):
        super().setUp()
        self.sim.reset()

    def deliver_webhooks_here(self, **settings):
        """The simulator delivers its webhooks to this Odoo server (an HttpCase)."""
        self.sim.set_webhook(
            self.base_url() + WEBHOOK_URL % self.token,
            secret=WEBHOOK_SECRET,
            **settings,
        )


class PbxQueuesWorld(SimulatedWorld):
    """SimulatedWorld with the simulator's queues Sales, Support and Billing and their
    members: Mitchell (100, static in Sales), Sofia (102, connected to Sales), Luca
    (103), Hugo (105, connected to Support). The queues of other accounts are archived,
    so that the dashboard shows these only."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Queue = cls.env["axivox.queue"].with_context(**FROM_PBX)
        Queue.search([("account_id", "!=", cls.account.id)]).active = False
        queues = cls.make_pbx_queues()
        cls.sales, cls.support, cls.billing = (
            queues[q] for q in ("sales", "support", "billing")
        )
        cls.admin, cls.sofia, cls.luca = (cls.users[x] for x in ("100", "102", "103"))
        cls.member_sales_admin = cls.member(cls.sales, "100")
        cls.member_sales_sofia = cls.member(cls.sales, "102")
        cls.member_sales_luca = cls.member(cls.sales, "103")
        cls.member_billing_sofia = cls.member(cls.billing, "102")
        cls.hugo_support = cls.member(cls.support, "105")


class PbxTourWorld(PbxQueuesWorld):
    """PbxQueuesWorld for a tour in Chromium (an HttpCase): the bus's websocket allowed
    (browsers may not open it in test mode), the bus pumped while the tour runs."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.startClassPatcher(
            patch.object(
                WebsocketConnectionHandler, "websocket_allowed", return_value=True
            )
        )

    def run_tour(self, tour, login, stop, *workers):
        """Run ``tour`` as ``login`` while the bus is pumped and ``workers`` run in
        their threads, until the tour ends; then ``stop`` is set."""
        threads = [threading.Thread(target=pump_bus, args=(stop,), name="axivox-bus")]
        threads += [
            threading.Thread(target=worker, name=f"axivox-test-{worker.__name__}")
            for worker in workers
        ]
        for thread in threads:
            thread.start()
        try:
            self.start_tour("/web", tour, login=login, timeout=180)
        finally:
            stop.set()
            for thread in threads:
                thread.join(10)


class WebhookWorld(AxivoxWorld):
    """AxivoxWorld with a Sales queue (static 100, dynamic 101 and 102) that receives
    webhooks through the running Odoo server (HttpCase)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_world()
        cls.sales = cls.make_queue(
            "sales",
            "Sales",
            "600",
            "*600",
            "#600",
            static=["100"],
            dynamic=["101", "102"],
        )

    def hold_applier_lock(self):
        """Stand for a running applier: its lock, held on a connection of its own
        (released at the end of the test)."""
        lock_cr = odoo.sql_db.db_connect(self.env.cr.dbname).cursor()
        lock_cr.execute("SELECT pg_advisory_lock(%s, 0)", [APPLY_LOCK])
        lock_cr.commit()

        def release():
            # the pool keeps the connection: the session lock must be released
            lock_cr.execute("SELECT pg_advisory_unlock(%s, 0)", [APPLY_LOCK])
            lock_cr.commit()
            lock_cr.close()

        self.addCleanup(release)

    def post_webhook(self, body, secret=WEBHOOK_SECRET, now=None, token=None, **kw):
        """POST ``body`` (bytes) to the account's webhook URL, signed with ``secret``
        (unsigned when ``secret`` is None), extra ``headers`` added."""
        if secret is None:
            headers = {"Content-Type": "application/json"}
        else:
            headers = signed(body, secret=secret, now=now)
        headers.update(kw.get("headers") or {})
        response = self.url_open(
            WEBHOOK_URL % (token or self.token), data=body, headers=headers
        )
        self.env.invalidate_all()
        return response
