"""Fixtures shared by the tests of the PBX integration (webhook, sync, stream)."""
import json
import os
import time

from odoo.addons.mail.tests.common import mail_new_test_user

from ..axivox_api import signature
from ..axivox_simulator.testing import SimulatorProcess

DEMO_DATA = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    "axivox_simulator",
    "data",
    "demo.json",
)
WEBHOOK_SECRET = "test-webhook-secret-0123456789"


class AxivoxWorld:
    """An account, users mapped to the demo extensions 100..105, no queue yet."""

    @classmethod
    def setup_world(cls, api_url="http://127.0.0.1:9", api_key="test-api-key"):
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
            login = f"axivox_test_{ext}"
            user = mail_new_test_user(
                env,
                login=login,
                password=login,
                name=pbx_user["name"],
                groups="base.group_user,voip_axivox_queue.group_axivox_agent",
            )
            user.write({"axivox_account_id": cls.account.id, "axivox_extension": ext})
            cls.users[ext] = user
        cls.manager = mail_new_test_user(
            env,
            login="axivox_test_manager",
            password="axivox_test_manager",
            name="Queue Manager",
            groups="base.group_user,voip_axivox_queue.group_axivox_manager",
        )

    @classmethod
    def setup_simulated_world(cls, **sim_options):
        """The world on a fresh simulator (``cls.sim``, its client ``cls.pbx``); the other
        accounts are archived, so that only this PBX is synced by the cron."""
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
    ):
        queue = (
            cls.env["axivox.queue"]
            .with_context(axivox_no_pending_change=True)
            .create(
                {
                    "name": name,
                    "account_id": cls.account.id,
                    "remote_id": remote_id,
                    "extension": extension,
                    "login_code": login,
                    "logout_code": logout,
                }
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
        cls.env["axivox.queue.member"].with_context(
            axivox_no_pending_change=True
        ).create(members)
        return queue

    def member(self, queue, ext):
        return queue.member_ids.filtered(lambda m: m.user_id == self.users[ext])


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


def event(event_id, kind, queue_id="sales", at="2026-11-28T10:00:00.000Z", **data):
    """A PBX event as the API sends it."""
    return dict(
        {"id": event_id, "type": kind, "queue_id": queue_id, "timestamp": at}, **data
    )


def signed(body, secret=WEBHOOK_SECRET, now=None):
    """Headers of a webhook delivery signed with ``secret``."""
    headers = signature.signed_headers(secret, body, now=now)
    headers["Content-Type"] = "application/json"
    return headers


def start_simulator(testcase_class, **options):
    """Start a simulator for a test class (stopped at class cleanup)."""
    options.setdefault("announce_seconds", 0)
    options.setdefault("data", DEMO_DATA)
    sim = SimulatorProcess(**options).start()
    testcase_class.addClassCleanup(sim.stop)
    return sim


def wait_for(predicate, timeout=15.0, interval=0.05):
    """Poll ``predicate`` until it is true; returns its last value."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value
