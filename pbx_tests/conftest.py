"""Fixtures of the standalone PBX tests (no Odoo needed).

The repository root (the addon) is put on sys.path so that ``axivox_api``
and ``axivox_simulator`` import as top-level packages.
"""
import http.server
import json
import os
import sys
import threading

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from axivox_api import signature  # noqa: E402
from axivox_simulator.testing import SimulatorProcess  # noqa: E402

WEBHOOK_SECRET = "whsec-test-0123456789"


@pytest.fixture(scope="session")
def sim_process():
    with SimulatorProcess(
        announce_seconds=0,
        seed=42,
        webhook_attempts=4,
        webhook_backoff=0.05,
        webhook_timeout=2,
        read_only_key="read-only-key",
    ) as sim:
        yield sim


@pytest.fixture
def sim(sim_process):
    """The shared simulator, reset to the demo data before each test."""
    sim_process.reset()
    yield sim_process
    sim_process.faults()


@pytest.fixture
def client(sim):
    c = sim.client()
    yield c
    c.close()


class WebhookReceiver:
    """A small webhook endpoint: verifies signatures, records requests and can
    answer errors for the first requests (``fail_with``)."""

    def __init__(self, secret=WEBHOOK_SECRET):
        self.secret = secret
        self.requests = []  # dicts: delivery, status, events, signature_ok
        self.fail_with = []  # statuses to answer, consumed one per request
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    signature.verify(
                        receiver.secret,
                        self.headers.get(signature.TIMESTAMP_HEADER),
                        self.headers.get(signature.SIGNATURE_HEADER),
                        body,
                    )
                    sig_ok = True
                except signature.SignatureError:
                    sig_ok = False
                with receiver.lock:
                    status = receiver.fail_with.pop(0) if receiver.fail_with else 204
                    if not sig_ok:
                        status = 401
                    receiver.requests.append(
                        {
                            "delivery": self.headers.get(signature.DELIVERY_HEADER),
                            "content_type": self.headers.get("Content-Type"),
                            "status": status,
                            "signature_ok": sig_ok,
                            "events": json.loads(body)["events"],
                        }
                    )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/webhook" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def accepted_events(self):
        with self.lock:
            return [
                e
                for r in self.requests
                if 200 <= r["status"] < 300
                for e in r["events"]
            ]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = WebhookReceiver()
    yield r
    r.close()
