"""The phone in the browser on the demo on Asterisk, end to end in headless Chromium:
start ``SIP=1 PBX=asterisk TRAFFIC_RATE=0 scripts/run.sh``, then

    python scripts/sip_browser_check.py --port 8069 --var var

Sofia (102) logs in; her softphone registers over Asterisk's WebSocket (``pjsip show
contacts`` lists 102); Connect on Sales dials ``*600`` from the browser, ``queue show
sales`` lists ``PJSIP/102`` and the panel shows her connected from the PBX's event; a
caller originated into Sales rings her browser, she answers (Asterisk bridges the call
to ``PJSIP/102``) and hangs up; ``#600`` typed on the dial pad disconnects her. Prints
each step with its time; exit status 1 when a step fails. Chromium with a fake
microphone (``--use-fake-ui-for-media-stream --use-fake-device-for-media-stream``),
driven over the DevTools protocol with scripts/first_load_check.py's helpers.
"""

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MEDIA_FLAGS = ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream")
ROW = (
    "[...document.querySelectorAll('.o_axivox_queue_row')].find("
    "r => r.querySelector('.o_axivox_queue_name').textContent === 'Sales')"
)


def _first_load_check():
    spec = importlib.util.spec_from_file_location(
        "first_load_check", os.path.join(ROOT, "scripts", "first_load_check.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Check:
    def __init__(self, page, var):
        self.page, self.var, self.problems = page, var, []

    def cli(self, command):
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "axivox_gateway.instance",
                "cli",
                "--dir",
                os.path.join(self.var, "asterisk"),
                command,
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        ).stdout

    def sales_devices(self):
        return [
            line.split("(")[1].split(")")[0]
            for line in self.cli("queue show sales").splitlines()
            if "(PJSIP/" in line
        ]

    def text(self, selector):
        value = self.page.evaluate(
            f"(document.querySelector({json.dumps(selector)}) || {{}}).innerText"
        )
        return " ".join((value or "").split())

    def step(self, what, expression, seconds=30):
        started = time.monotonic()
        ok = self.page.wait_for(expression, seconds)
        print(f"{'ok  ' if ok else 'FAIL'} {what} ({time.monotonic() - started:.2f} s)")
        if not ok:
            self.problems.append(what)
        return ok

    def expect(self, what, ok, detail=""):
        print(f"{'ok  ' if ok else 'FAIL'} {what}{': ' + detail if detail else ''}")
        if not ok:
            self.problems.append(what)

    def click(self, expression):
        self.page.evaluate(
            f"(() => {{ const el = {expression}; if (el) el.click(); return !!el; }})()"
        )

    def call_over(self):
        self.page.wait_for("!document.querySelector('.o_axivox_call_status')", 10)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", default="8069", help="Odoo behind nginx (HTTP_PORT)")
    parser.add_argument("--var", default=os.path.join(ROOT, "var"), help="AXIVOX_VAR")
    parser.add_argument("--login", default="sofia")
    args = parser.parse_args()
    helpers = _first_load_check()
    profile = tempfile.mkdtemp(prefix="sip-check-")
    proc, devtools = helpers.start_chromium(profile, MEDIA_FLAGS)
    try:
        page = helpers.open_page(devtools)
        page.call("Page.enable")
        check = Check(page, args.var)
        page.call("Page.navigate", url=f"http://127.0.0.1:{args.port}/web/login")
        check.step("login page", "!!document.querySelector('input[name=login]')", 60)
        login = json.dumps(args.login)
        page.evaluate(
            f"(() => {{ document.querySelector('input[name=login]').value = {login};"
            f" document.querySelector('input[name=password]').value = {login};"
            " document.querySelector('form.oe_login_form').submit(); return true; })()"
        )
        check.step(
            "the phone icon",
            "!!document.querySelector('.o_axivox_softphone_toggle')",
            120,
        )
        check.click("document.querySelector('.o_axivox_softphone_toggle')")
        check.step(
            "registered", "!!document.querySelector('.o_axivox_sip_status_registered')"
        )
        check.expect("the panel says so", True, check.text(".o_axivox_sip_status"))
        contacts = [
            line
            for line in check.cli("pjsip show contacts").splitlines()
            if "Contact:" in line and " 102/" in line
        ]
        check.expect("pjsip show contacts lists 102", bool(contacts))
        if check.page.evaluate(f"!!{ROW}.querySelector('.o_axivox_queue_disconnect')"):
            check.click(f"{ROW}.querySelector('.o_axivox_queue_disconnect')")
            check.step(
                "disconnected first",
                f"!!{ROW}.querySelector('.o_axivox_queue_connect')",
            )
            check.call_over()
        check.click(f"{ROW}.querySelector('.o_axivox_queue_connect')")
        check.step(
            "Connect: the panel shows her connected (the PBX's event)",
            f"!!{ROW}.querySelector('.o_axivox_queue_disconnect') &&"
            f" !{ROW}.classList.contains('o_axivox_queue_pending')",
        )
        check.expect(
            "queue show sales lists PJSIP/102",
            "PJSIP/102" in check.sales_devices(),
            str(check.sales_devices()),
        )
        check.call_over()
        print(
            check.cli(
                "channel originate Local/600@axivox-external application Wait 20"
            ).strip()
        )
        check.step(
            "a caller into Sales rings the browser",
            "!!document.querySelector('.o_axivox_sip_incoming')",
        )
        check.expect(
            "the panel shows the caller", True, check.text(".o_axivox_sip_incoming")
        )
        check.click("document.querySelector('.o_axivox_sip_answer')")
        check.step(
            "answered",
            "(document.querySelector('.o_axivox_call_status') || {}).textContent"
            "?.startsWith('In call')",
            15,
        )
        bridged = [
            line
            for line in check.cli("core show channels concise").splitlines()
            if line.startswith("PJSIP/102-") and "!Up!" in line
        ]
        check.expect("Asterisk has her channel up", bool(bridged))
        check.click("document.querySelector('.o_axivox_dial_hangup')")
        check.step(
            "hung up",
            "(document.querySelector('.o_axivox_call_status') || {}).textContent"
            " === 'Call ended'",
            10,
        )
        check.call_over()
        page.evaluate(
            "(() => { const i = document.querySelector('.o_axivox_dial_input');"
            " i.value = '#600'; i.dispatchEvent(new Event('input', {bubbles: true}));"
            " return true; })()"
        )
        page.pump(0.3)
        check.click("document.querySelector('.o_axivox_dial_call')")
        check.step(
            "#600 on the pad: disconnected",
            f"!!{ROW}.querySelector('.o_axivox_queue_connect')",
        )
        check.expect(
            "queue show sales no longer lists PJSIP/102",
            "PJSIP/102" not in check.sales_devices(),
        )
        dialog = check.text(".o_error_dialog")
        check.expect("no error dialog", not dialog, dialog)
    finally:
        proc.kill()
        proc.wait()
    if check.problems:
        print("FAILED: " + "; ".join(check.problems))
        return 1
    print("The phone in the browser works on Asterisk.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
