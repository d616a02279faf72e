"""The contact-centre layer end to end in Chromium: a queue call connects, the card
shows the contact; a caller abandons, the callback appears, the agent calls back, it
closes."""
import json
import threading
import time
from datetime import datetime, timedelta, timezone

import requests

import odoo
from odoo.tests import HttpCase, tagged

from ..axivox_api import signature
from .common import PbxTourWorld


def stamp(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


@tagged("post_install", "-at_install")
class TestContactCentreTour(PbxTourWorld, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.env["res.partner"].create(
            {"name": "Tour Company", "is_company": True}
        )
        cls.alice = cls.env["res.partner"].create(
            {"name": "Alice Tour", "phone": "+32 2 555 07 70", "parent_id": company.id}
        )
        cls.env.company.country_id = cls.env.ref("base.be")

    def test_tour(self):
        # Read in this thread: the PBX thread below only speaks HTTP.
        account = self.account.sudo()
        url = "http://127.0.0.1:{}/voip_axivox_queue/webhook/{}".format(
            odoo.tools.config["http_port"],
            account.webhook_token,
        )
        secret = account.webhook_secret

        def post(events):
            body = json.dumps({"events": events}).encode()
            response = requests.post(
                url,
                data=body,
                timeout=30,
                headers=signature.signed_headers(secret, body),
            )
            response.raise_for_status()

        stop = threading.Event()
        errors = []

        def dialed(number):
            return any(c["to"] == number for c in self.sim.state()["calls"])

        def pbx():
            """The PBX's side: on 0471 a queue caller connects to Sofia; on 0472 that
            call ends and another caller abandons in Sales."""
            try:
                deadline = time.time() + 150
                step = 0
                while not stop.is_set() and time.time() < deadline and step < 2:
                    now = datetime.now(timezone.utc)
                    if step == 0 and dialed("0471"):
                        post(
                            [
                                {
                                    "id": "tour-1",
                                    "type": "ENTERQUEUE",
                                    "queue_id": "sales",
                                    "timestamp": stamp(now - timedelta(seconds=8)),
                                    "call_id": "tour-call-1",
                                    "caller_number": "+3225550770",
                                },
                                {
                                    "id": "tour-2",
                                    "type": "CONNECT",
                                    "queue_id": "sales",
                                    "timestamp": stamp(now),
                                    "call_id": "tour-call-1",
                                    "caller_number": "+3225550770",
                                    "agent_extension": "102",
                                    "wait_time": 8,
                                },
                            ]
                        )
                        step = 1
                    elif step == 1 and dialed("0472"):
                        post(
                            [
                                {
                                    "id": "tour-3",
                                    "type": "COMPLETECALLER",
                                    "queue_id": "sales",
                                    "timestamp": stamp(now),
                                    "call_id": "tour-call-1",
                                    "caller_number": "+3225550770",
                                    "agent_extension": "102",
                                    "talk_time": 30,
                                },
                                {
                                    "id": "tour-4",
                                    "type": "ENTERQUEUE",
                                    "queue_id": "sales",
                                    "timestamp": stamp(now),
                                    "call_id": "tour-call-2",
                                    "caller_number": "+3225550777",
                                },
                                {
                                    "id": "tour-5",
                                    "type": "ABANDON",
                                    "queue_id": "sales",
                                    "timestamp": stamp(now + timedelta(seconds=1)),
                                    "call_id": "tour-call-2",
                                    "caller_number": "+3225550777",
                                    "wait_time": 1,
                                },
                            ]
                        )
                        step = 2
                    stop.wait(0.2)
            except Exception as exc:  # reported below
                errors.append(exc)

        self.run_tour(
            "voip_axivox_queue_contact_centre_tour", self.sofia.login, stop, pbx
        )
        self.assertFalse(errors, errors)
        callback = self.env["axivox.callback"].search([("number", "=", "+3225550777")])
        self.assertEqual(
            (callback.state, callback.result, callback.closed_by_id),
            ("done", "called_back", self.sofia),
        )
        self.assertEqual(
            self.env["axivox.queue.event"]
            .search([("pbx_event_id", "=", "tour-2")])
            .partner_id,
            self.alice,
        )
