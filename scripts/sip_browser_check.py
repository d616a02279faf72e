"""The phone in the browser on the demo on Asterisk, end to end in headless
Chromium. Against a product already running
(``SIP=1 PBX=asterisk TRAFFIC_RATE=0 scripts/run.sh``):

    python scripts/sip_browser_check.py --port 8069 --var var

Sofia (102) logs in; her softphone registers over Asterisk's WebSocket (``pjsip show
contacts`` lists 102); Connect on Sales dials ``*600`` from the browser, ``queue show
sales`` lists ``PJSIP/102`` and the panel shows her connected from the PBX's event; a
caller with the number of a demo contact, originated into Sales over Asterisk's manager
interface, rings her browser with that number, she answers (Asterisk bridges the call to
``PJSIP/102``), the caller card names the contact, she hangs up; ``#600`` typed on the
dial pad disconnects her. Chromium with a fake microphone
(``--use-fake-ui-for-media-stream --use-fake-device-for-media-stream``), driven over the
DevTools protocol with scripts/first_load_check.py's helpers.

It starts Chromium only (in a temporary profile, removed at the end) and stops only it:
Odoo, nginx and Asterisk are the caller's. Prints each step with its time, then the
figures (``SIP check figures: ...``). Exit status: 0 when every step passed; 1 at the
first step that failed (``SIP check: FAILED at <step>: <what was seen>``; the steps
after it depend on it and are not run); 2 when the product is not there to check (Odoo
does not answer on --port, no Asterisk in --var, the demo runs without SIP=1).
"""

import argparse
import asyncio
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MEDIA_FLAGS = ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream")
ROW = (
    "[...document.querySelectorAll('.o_axivox_queue_row')].find("
    "r => r.querySelector('.o_axivox_queue_name').textContent === 'Sales')"
)
CALL_STATUS = "(document.querySelector('.o_axivox_call_status') || {}).textContent"
# A demo contact (a person, not a user) with a phone number, read as the agent.
CONTACT_RPC = """
fetch('/web/dataset/call_kw/res.partner/search_read', {
    method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({jsonrpc: '2.0', method: 'call', params: {
        model: 'res.partner', method: 'search_read',
        args: [[['axivox_phone_e164', '!=', false], ['user_ids', '=', false],
                ['is_company', '=', false]]],
        kwargs: {fields: ['name', 'axivox_phone_e164'], limit: 1, order: 'id'}}})
}).then(r => r.json()).then(r => (r.result || [])[0] || null)
"""


def load_helpers(name):
    spec = importlib.util.spec_from_file_location(
        name, os.path.join(ROOT, "scripts", f"{name}.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class StepFailed(Exception):
    """A step of the check failed: the ones after it depend on it."""


class NotThere(Exception):
    """The product to check is not running as this check needs it."""


def asterisk_cli(var, command):
    """The output of an Asterisk CLI command on the instance in ``var``/asterisk."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "axivox_gateway.instance",
            "cli",
            "--dir",
            os.path.join(var, "asterisk"),
            command,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    ).stdout


def queue_devices(var, queue="sales"):
    """The member devices of ``queue`` in Asterisk (``queue show``)."""
    return [
        line.split("(")[1].split(")")[0]
        for line in asterisk_cli(var, f"queue show {queue}").splitlines()
        if "(PJSIP/" in line
    ]


def originate(var, extension, caller_id, seconds=20):
    """A caller into the queue ``extension``, with ``caller_id``, over Asterisk's
    manager interface; what Asterisk answered."""
    sys.path.insert(0, ROOT)
    from axivox_gateway.ami import instance_client

    async def run():
        ami = instance_client(os.path.join(var, "asterisk"))
        task = asyncio.ensure_future(ami.run())
        try:
            if not await ami.wait_connected(15):
                return {"Response": "Error", "Message": str(ami.last_error)}
            return await ami.action(
                "Originate",
                Channel=f"Local/{extension}@axivox-external",
                Application="Wait",
                Data=str(seconds),
                CallerID=caller_id,
                Timeout=30000,
                Async="true",
            )
        finally:
            task.cancel()

    return asyncio.run(run())


def preflight(port, var, extension):
    """Exit 2 (NotThere) with what is missing when the product is not running here."""
    url = f"http://127.0.0.1:{port}/web/login"
    try:
        with urllib.request.urlopen(url, timeout=15) as response:
            response.read()
    except (OSError, urllib.error.URLError) as exc:
        raise NotThere(
            f"Odoo does not answer at {url} ({exc}): start "
            "SIP=1 PBX=asterisk TRAFFIC_RATE=0 scripts/run.sh first (HTTP_PORT)."
        ) from None
    if not os.path.isdir(os.path.join(var, "asterisk")):
        raise NotThere(
            f"No Asterisk instance in {var}/asterisk: give --var the AXIVOX_VAR of "
            "PBX=asterisk scripts/run.sh."
        )
    endpoints = asterisk_cli(var, "pjsip show endpoints")
    if f" {extension}/" not in endpoints and f" {extension} " not in endpoints:
        raise NotThere(
            f"Asterisk has no PJSIP endpoint {extension}: the demo runs without SIP=1 "
            "(or Asterisk does not answer its CLI)."
        )


class Check:
    def __init__(self, page, var):
        self.page, self.var = page, var
        self.figures = {}

    def text(self, selector):
        value = self.page.evaluate(
            f"(document.querySelector({json.dumps(selector)}) || {{}}).innerText"
        )
        return " ".join((value or "").split())

    def step(self, what, expression, seconds=30, figure=None):
        """Wait for ``expression`` to be true; a failure ends the check."""
        started = time.monotonic()
        ok = self.page.wait_for(expression, seconds)
        took = time.monotonic() - started
        print(f"{'ok  ' if ok else 'FAIL'} {what} ({took:.2f} s)", flush=True)
        if not ok:
            raise StepFailed(f"{what}: not seen within {seconds} s")
        if figure:
            self.figures[figure] = took
        return took

    def expect(self, what, ok, detail=""):
        print(f"{'ok  ' if ok else 'FAIL'} {what}{': ' + detail if detail else ''}")
        if not ok:
            raise StepFailed(f"{what}{': ' + detail if detail else ''}")

    def click(self, what, expression):
        found = self.page.evaluate(
            f"(() => {{ const el = {expression}; if (el) el.click(); return !!el; }})()"
        )
        if not found:
            raise StepFailed(f"{what}: nothing to click ({expression})")

    def call_over(self):
        self.page.wait_for("!document.querySelector('.o_axivox_call_status')", 10)


def run_check(page, args):
    check = Check(page, args.var)
    ext = args.extension
    started = time.monotonic()
    page.call("Page.navigate", url=f"http://127.0.0.1:{args.port}/web/login")
    check.step("login page", "!!document.querySelector('input[name=login]')", 60)
    login = json.dumps(args.login)
    page.evaluate(
        f"(() => {{ document.querySelector('input[name=login]').value = {login};"
        f" document.querySelector('input[name=password]').value = {login};"
        " document.querySelector('form.oe_login_form').submit(); return true; })()"
    )
    check.step(
        "the phone icon", "!!document.querySelector('.o_axivox_softphone_toggle')", 120
    )
    check.click(
        "the phone icon", "document.querySelector('.o_axivox_softphone_toggle')"
    )
    check.step(
        "registered",
        "!!document.querySelector('.o_axivox_sip_status_registered')",
        figure="registration after the panel opened",
    )
    check.expect("the panel says so", True, check.text(".o_axivox_sip_status"))
    contacts = [
        line
        for line in asterisk_cli(args.var, "pjsip show contacts").splitlines()
        if "Contact:" in line and f" {ext}/" in line
    ]
    check.expect(f"pjsip show contacts lists {ext}", bool(contacts))
    check.step("her queue Sales in the panel", f"!!{ROW}")
    if page.evaluate(f"!!{ROW}.querySelector('.o_axivox_queue_disconnect')"):
        check.click("Disconnect", f"{ROW}.querySelector('.o_axivox_queue_disconnect')")
        check.step(
            "disconnected first", f"!!{ROW}.querySelector('.o_axivox_queue_connect')"
        )
        check.call_over()
    check.click("Connect", f"{ROW}.querySelector('.o_axivox_queue_connect')")
    check.step(
        "Connect: the panel shows her connected (the PBX's event)",
        f"!!{ROW}.querySelector('.o_axivox_queue_disconnect') &&"
        f" !{ROW}.classList.contains('o_axivox_queue_pending')",
        figure="Connect -> connected in the panel",
    )
    devices = queue_devices(args.var)
    check.expect(
        f"queue show sales lists PJSIP/{ext}", f"PJSIP/{ext}" in devices, str(devices)
    )
    check.call_over()
    contact = page.evaluate(CONTACT_RPC)
    check.expect(
        "a demo contact with a phone number",
        bool(contact),
        contact and f"{contact['name']} {contact['axivox_phone_e164']}" or "none",
    )
    number = contact["axivox_phone_e164"]
    answer = originate(args.var, "600", f'"{contact["name"]}" <{number}>')
    check.expect(
        "Asterisk takes the caller", answer.get("Response") == "Success", str(answer)
    )
    check.step(
        "the caller rings the browser",
        "!!document.querySelector('.o_axivox_sip_incoming')",
        figure="caller originated -> ringing in the browser",
    )
    shown = check.text(".o_axivox_sip_incoming")
    check.expect("the panel shows the caller's number", number in shown, shown)
    check.step(
        "the caller card names the contact",
        "(document.querySelector('.o_axivox_caller_card .o_axivox_caller_name') || {})"
        f".textContent === {json.dumps(contact['name'])}",
        10,
    )
    check.click("Answer", "document.querySelector('.o_axivox_sip_answer')")
    check.step(
        "answered",
        f"{CALL_STATUS}?.startsWith('In call')",
        15,
        figure="Answer -> in call",
    )
    bridged = [
        line
        for line in asterisk_cli(args.var, "core show channels concise").splitlines()
        if line.startswith(f"PJSIP/{ext}-") and "!Up!" in line
    ]
    check.expect("Asterisk has her channel up", bool(bridged))
    check.click("hang up", "document.querySelector('.o_axivox_dial_hangup')")
    check.step("hung up", f"{CALL_STATUS} === 'Call ended'", 10)
    check.call_over()
    page.evaluate(
        "(() => { const i = document.querySelector('.o_axivox_dial_input');"
        " i.value = '#600'; i.dispatchEvent(new Event('input', {bubbles: true}));"
        " return true; })()"
    )
    page.pump(0.3)
    check.click("call #600", "document.querySelector('.o_axivox_dial_call')")
    check.step(
        "#600 on the pad: disconnected",
        f"!!{ROW}.querySelector('.o_axivox_queue_connect')",
        figure="#600 -> disconnected in the panel",
    )
    devices = queue_devices(args.var)
    check.expect(
        f"queue show sales no longer lists PJSIP/{ext}",
        f"PJSIP/{ext}" not in devices,
        str(devices),
    )
    dialog = check.text(".o_error_dialog")
    check.expect("no error dialog", not dialog, dialog)
    check.figures["whole check"] = time.monotonic() - started
    return check.figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", default="8069", help="Odoo behind nginx (HTTP_PORT)")
    parser.add_argument("--var", default=os.path.join(ROOT, "var"), help="AXIVOX_VAR")
    parser.add_argument(
        "--login", default="sofia", help="a demo agent (password = login)"
    )
    parser.add_argument("--extension", default="102", help="her extension")
    args = parser.parse_args()
    try:
        preflight(args.port, args.var, args.extension)
    except NotThere as exc:
        print(f"SIP check: cannot run: {exc}", flush=True)
        return 2
    helpers = load_helpers("first_load_check")
    profile = tempfile.mkdtemp(prefix="sip-check-")
    proc = None
    try:
        proc, devtools = helpers.start_chromium(profile, MEDIA_FLAGS)
        page = helpers.open_page(devtools)
        page.call("Page.enable")
        figures = run_check(page, args)
    except StepFailed as exc:
        print(f"SIP check: FAILED at {exc}", flush=True)
        return 1
    except Exception as exc:  # noqa: BLE001 - any breakage is a failed check, said
        print(f"SIP check: FAILED: {type(exc).__name__}: {exc}", flush=True)
        return 1
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)
    print(
        "SIP check figures: "
        + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in figures.items())
    )
    print("SIP check: PASSED (the phone in the browser works on Asterisk)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
