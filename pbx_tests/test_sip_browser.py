"""A SIP phone in a real browser: the vendored SIP.js (static/lib/sipjs) in headless
Chromium registers over WebSocket on a private Asterisk, as an endpoint the gateway
generated (device template ``PJSIP/{ext}``, users with a SIP password), and dials an
agent's codes; Asterisk and the gateway's API see the agent log in and out.

Needs ASTERISK_PREFIX (a build with chan_pjsip: scripts/setup_asterisk.sh with the
pjproject archive) and Chromium (Debian's ``chromium``); skipped without them, failed
under CI. Chromium is driven over the DevTools protocol with websocket-client, through
scripts/first_load_check.py's helpers (as docs/screenshots/shoot.py does).
"""

import functools
import http.server
import importlib.util
import json
import os
import secrets
import shutil
import stat
import tempfile
import threading
import time

import pytest
from waits import wait_for

from axivox_gateway.testing import DEMO_DATA, AsteriskGateway, asterisk_prefix

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIPJS = os.path.join(ROOT, "static", "lib", "sipjs", "sip.min.js")
PAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sip_phone.html")
# A microphone that needs no one to allow it and no sound card.
MEDIA_FLAGS = (
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
)
EXT = "102"


def _chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _no_sip():
    """Why there is no Asterisk with PJSIP here (None when there is one)."""
    prefix = asterisk_prefix()
    if not prefix:
        return "no Asterisk build (ASTERISK_PREFIX): run scripts/setup_asterisk.sh"
    modules = os.path.join(prefix, "usr", "lib", "asterisk", "modules")
    if not os.path.isfile(os.path.join(modules, "chan_pjsip.so")):
        return "the Asterisk build has no chan_pjsip (built without pjproject)"
    return None


def _no_browser():
    """Why there is no browser to drive here (None when there is one)."""
    if not _chromium():
        return "no Chromium (Debian: apt-get install chromium)"
    if importlib.util.find_spec("websocket") is None:
        return "no websocket-client (pip install websocket-client)"
    return None


def _skip_or_fail(reason):
    if reason:
        message = "the browser SIP phone tests did not run: " + reason
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message + ", and under CI they must")
        pytest.skip(message)


def _first_load_check():
    spec = importlib.util.spec_from_file_location(
        "first_load_check", os.path.join(ROOT, "scripts", "first_load_check.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def sip_pbx(tmp_path_factory):
    """The gateway on Asterisk with PJSIP devices: the demo's users, each with a SIP
    password, and 102 logged out of sales (the code logs her in)."""
    _skip_or_fail(_no_sip())
    folder = tmp_path_factory.mktemp("sip")
    with open(DEMO_DATA, encoding="utf-8") as fh:
        data = json.load(fh)
    passwords = {}
    for user in data["users"]:
        user["sip_password"] = passwords[user["extension"]] = secrets.token_urlsafe(16)
    data["connected_agents"] = [
        c for c in data["connected_agents"] if c["extension"] != EXT
    ]
    data_file = folder / "data.json"
    data_file.write_text(json.dumps(data))
    with AsteriskGateway(
        str(folder / "pbx"), data=str(data_file), device_template="PJSIP/{ext}"
    ) as pbx:
        pbx.passwords = passwords
        # The gateway writes its configuration once connected to AMI, which may come
        # just after it answers /ping.
        assert _wait(
            lambda: "Endpoint:  %s/" % EXT in pbx.cli("pjsip show endpoints"), 30
        ), pbx.log_tail()
        yield pbx


@pytest.fixture(scope="module")
def page_url():
    """The phone page and SIP.js, served on the loopback (a secure context for
    getUserMedia)."""
    _skip_or_fail(_no_browser())
    folder = tempfile.mkdtemp(prefix="sip-page-")
    shutil.copy(PAGE, os.path.join(folder, "index.html"))
    shutil.copy(SIPJS, os.path.join(folder, "sip.min.js"))

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=folder)
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "http://127.0.0.1:%d/index.html" % server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def browser(page_url):
    """A fresh headless Chromium (its own profile) on the phone page."""
    check = _first_load_check()
    profile = tempfile.mkdtemp(prefix="sip-chromium-")
    proc, port = check.start_chromium(profile, MEDIA_FLAGS)
    try:
        page = check.open_page(port)
        page.call("Page.navigate", url=page_url)
        assert page.wait_for(
            "typeof SIP === 'object' && !!window.phone", 30
        ), "the page did not load SIP.js"
        yield page
        page.evaluate("phone.stop()")
        page.ws.close()
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except Exception:
            proc.kill()
        # Chromium's helper processes may still write into the profile for a moment.
        for _ in range(20):
            shutil.rmtree(profile, ignore_errors=True)
            if not os.path.exists(profile):
                break
            time.sleep(0.1)


def _members(pbx, queue):
    return pbx.cli("queue show %s" % queue)


def _wait(predicate, timeout=15):
    return wait_for(predicate, timeout)


def _feed(client):
    events, cursor = [], None
    while True:
        page, cursor, more = client.events_since(cursor)
        events += page
        if not more:
            return events


def _connected(client, queue, ext):
    return any(
        a["extension"] == ext and a["connected"] for a in client.list_agents(queue)
    )


def _register(page, pbx, ext, password):
    args = ", ".join(json.dumps(a) for a in (pbx.asterisk.ws_url, ext, password))
    return page.evaluate(f"phone.register({args})")


def test_generated_endpoints(sip_pbx):
    """The gateway wrote one WebRTC endpoint per user, readable by its owner only,
    and Asterisk loaded them; the passwords are nowhere in the API."""
    path = os.path.join(sip_pbx.asterisk.config_dir, "pjsip.conf")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    shown = sip_pbx.cli("pjsip show endpoints")
    for ext in sip_pbx.passwords:
        assert "Endpoint:  %s/" % ext in shown, shown
    endpoint = sip_pbx.cli("pjsip show endpoint %s" % EXT)
    assert "axivox-agents" in endpoint
    client = sip_pbx.client()
    try:
        users = json.dumps(client.list_users())
    finally:
        client.close()
    assert "sip_password" not in users
    assert not any(password in users for password in sip_pbx.passwords.values())
    assert not any(
        password in sip_pbx.log_tail(10**6) for password in sip_pbx.passwords.values()
    )


def test_browser_phone_registers_and_dials_codes(browser, sip_pbx):
    page, pbx = browser, sip_pbx
    client = pbx.client()
    try:
        assert "PJSIP/%s" % EXT not in _members(pbx, "sales")
        assert not _connected(client, "sales", EXT)

        # A wrong password: the registrar refuses it, clearly.
        refused = _register(page, pbx, EXT, "not-" + pbx.passwords[EXT])
        assert refused and not refused["ok"], refused
        assert refused["status"] in (401, 403), refused
        page.evaluate("phone.stop()")

        registered = _register(page, pbx, EXT, pbx.passwords[EXT])
        assert registered and registered["ok"], (registered, page.evaluate("phone.log"))
        assert registered["status"] == 200, registered
        contacts = pbx.cli("pjsip show contacts")
        assert "%s/" % EXT in contacts, contacts

        # *600: the sales login code.
        started = time.monotonic()
        page.evaluate("phone.dial('*600')")
        shown = _wait(lambda: "PJSIP/%s" % EXT in _members(pbx, "sales"))
        member_seconds = time.monotonic() - started
        call = page.evaluate("phone.calls[0]")
        assert shown, (call, _members(pbx, "sales"), page.evaluate("phone.log"))
        assert _wait(lambda: _connected(client, "sales", EXT), 10)
        assert _wait(
            lambda: any(
                e["type"] == "ADDMEMBER"
                and e["queue_id"] == "sales"
                and e.get("agent_extension") == EXT
                for e in _feed(client)
            ),
            10,
        )
        call = _wait(
            lambda: (c := page.evaluate("phone.calls[0]"))["terminated_ms"] and c, 15
        )
        assert call and call["status"] == 200, call
        assert "Established" in call["states"], call

        # #600: the sales logout code.
        page.evaluate("phone.dial('#600')")
        assert _wait(lambda: "PJSIP/%s" % EXT not in _members(pbx, "sales")), (
            page.evaluate("phone.calls[1]"),
            _members(pbx, "sales"),
        )
        assert _wait(lambda: not _connected(client, "sales", EXT), 10)
        assert _wait(
            lambda: any(
                e["type"] == "REMOVEMEMBER" and e.get("agent_extension") == EXT
                for e in _feed(client)
            ),
            10,
        )
    finally:
        client.close()
    print(
        f"\nSIP phone in Chromium: registration {registered['ms']:.0f} ms (wrong "
        f"password refused in {refused['ms']:.0f} ms, status {refused['status']}); "
        f"*600 dialed -> PJSIP/{EXT} in 'queue show sales' after "
        f"{member_seconds * 1000:.0f} ms (call established after "
        f"{call['established_ms'] or -1:.0f} ms)"
    )
