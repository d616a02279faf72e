"""Fixtures of the standalone PBX tests (no Odoo needed).

The repository root (the addon) is put on sys.path so that ``axivox_api``,
``axivox_simulator`` and ``axivox_gateway`` import as top-level packages.

A test that asks for ``pbx`` or ``client`` (and not for ``sim``) runs twice: against
the reference simulator and against the gateway on a real Asterisk (the build that
``ASTERISK_PREFIX`` names, scripts/setup_asterisk.sh). A test that asks for ``sim``
plays what only the simulator can (faults, made-up traffic, its control API): it is
marked ``simulator_only``. Without an Asterisk build the Asterisk runs are skipped,
loudly; under CI they fail.
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
from axivox_gateway.testing import AsteriskGateway, asterisk_prefix  # noqa: E402
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


@pytest.fixture(scope="session")
def asterisk_gateway():
    if not asterisk_prefix():
        message = (
            "no Asterisk build (ASTERISK_PREFIX): the tests against a real Asterisk "
            "did not run"
        )
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message + ", and under CI they must")
        pytest.skip(message)
    with AsteriskGateway(
        webhook_attempts=4,
        webhook_backoff=0.05,
        webhook_timeout=2,
        read_only_key="read-only-key",
    ) as pbx:
        yield pbx


def pytest_collection_modifyitems(items):
    for item in items:
        if "sim" in item.fixturenames or "sim_process" in item.fixturenames:
            item.add_marker(pytest.mark.simulator_only)


def pytest_generate_tests(metafunc):
    if "pbx" in metafunc.fixturenames:
        kinds = ["simulator"]
        if "sim" not in metafunc.fixturenames:
            kinds.append("asterisk")
        metafunc.parametrize("pbx", kinds, indirect=True)


@pytest.fixture
def sim(sim_process):
    """The shared simulator, reset to the demo data before each test."""
    sim_process.reset()
    yield sim_process
    sim_process.faults()


@pytest.fixture
def pbx(request):
    """The PBX under test, reset to the demo data: the simulator, or the gateway on
    Asterisk."""
    if request.param == "simulator":
        yield request.getfixturevalue("sim")
        return
    gateway = request.getfixturevalue("asterisk_gateway")
    gateway.reset()
    yield gateway


@pytest.fixture
def client(pbx):
    c = pbx.client()
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
