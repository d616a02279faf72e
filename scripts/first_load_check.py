"""Opens the running product in headless Chromium the way a new user does, and reports
every answer of 500 or more and every error in the browser console.

    python scripts/first_load_check.py http://127.0.0.1:8069 [--login admin --password
    admin]

It loads the login page (whose parallel requests for assets and the company logo hit a
fresh server all at once), logs in, waits for the web client and the Call Queues app,
opens the softphone and prints what it saw. Exit 1 when anything failed. It speaks the
DevTools protocol with websocket-client (an addon dependency); Chromium comes from
Debian's `chromium` package.
"""

import argparse
import json
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
    "--window-size=1366,768",
]


class Page:
    """One tab over the DevTools protocol: commands, and the events seen so far."""

    def __init__(self, ws_url):
        self.ws = websocket.create_connection(ws_url, timeout=60, suppress_origin=True)
        self.next_id = 0
        self.events = []

    def call(self, method, **params):
        self.next_id += 1
        msg_id = self.next_id
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def pump(self, seconds):
        """Collects events for a while."""
        end = time.time() + seconds
        self.ws.settimeout(0.2)
        while time.time() < end:
            try:
                self.events.append(json.loads(self.ws.recv()))
            except websocket.WebSocketTimeoutException:
                pass
        self.ws.settimeout(60)

    def evaluate(self, expression):
        res = self.call(
            "Runtime.evaluate",
            expression=expression,
            awaitPromise=True,
            returnByValue=True,
        )
        return res.get("result", {}).get("value")

    def wait_for(self, expression, seconds=60):
        end = time.time() + seconds
        while time.time() < end:
            if self.evaluate(expression):
                return True
            self.pump(0.3)
        return False


def start_chromium(profile, extra_flags=()):
    """Chromium with FLAGS (and ``extra_flags``) on the fresh ``profile`` folder:
    (process, its DevTools port)."""
    binary = (
        shutil.which("chromium")
        or shutil.which("chromium-browser")
        or shutil.which("google-chrome")
    )
    if not binary:
        sys.exit("Chromium is missing: apt-get install chromium")
    proc = subprocess.Popen(
        [binary, *FLAGS, *extra_flags, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    port_file = pathlib.Path(profile, "DevToolsActivePort")
    for _ in range(100):
        if port_file.is_file() and port_file.stat().st_size > 5:
            return proc, int(port_file.read_text().split()[0])
        time.sleep(0.1)
    proc.kill()
    sys.exit("Chromium started but opened no DevTools port")


def open_page(port):
    """The first tab of the Chromium whose DevTools listen on ``port``."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
        target = next(t for t in json.load(r) if t["type"] == "page")
    return Page(target["webSocketDebuggerUrl"])


# The addon's client screens opened after the dashboard: (action, what shows it, name).
SCREENS = [
    (
        "voip_axivox_queue.axivox_wallboard_action",
        ".o_axivox_wallboard_title",
        "the wallboard",
    ),
    (
        "voip_axivox_queue.axivox_queue_report_page_action",
        ".o_axivox_report_row, .o_axivox_report_empty",
        "the queue report page",
    ),
    ("voip_axivox_queue.axivox_callback_action", ".o_list_view", "the callbacks"),
]


def error_dialog(page, what):
    """The web client's error dialog on the page, as a problem (its first lines)."""
    text = page.evaluate(
        "(() => { const d = document.querySelector('.o_error_dialog');"
        " return d ? d.innerText.slice(0, 300) : ''; })()"
    )
    return [f"error dialog on {what}: {' '.join(text.split())}"] if text else []


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--login", default="admin")
    parser.add_argument("--password", default="admin")
    args = parser.parse_args()
    base = args.url.rstrip("/")

    profile = tempfile.mkdtemp(prefix="first-load-")
    proc, port = start_chromium(profile)
    problems = []
    try:
        page = open_page(port)
        for domain in ("Network", "Runtime", "Log", "Page"):
            page.call(f"{domain}.enable")

        page.call("Page.navigate", url=f"{base}/web/login")
        if not page.wait_for("!!document.querySelector('form.oe_login_form')", 60):
            problems.append("the login page did not show its form")
        page.pump(2)
        page.evaluate(
            f"""(() => {{
                const field = (name) => document.querySelector(`input[name=${{name}}]`);
                field('login').value = {json.dumps(args.login)};
                field('password').value = {json.dumps(args.password)};
                document.querySelector('form.oe_login_form').submit();
            }})()"""
        )
        page.pump(2)
        if not page.wait_for("!!document.querySelector('.o_main_navbar')", 90):
            problems.append("the web client did not load after logging in")
        page.call(
            "Page.navigate",
            url=f"{base}/web#action=voip_axivox_queue.axivox_queue_action",
        )
        if not page.wait_for(
            "!!document.querySelector('.o_kanban_view, .o_list_view')", 60
        ):
            problems.append("the Call Queues dashboard did not load")
        page.evaluate(
            "(() => { const b = document.querySelector('.o_axivox_softphone_toggle');"
            " if (b) b.click(); })()"
        )
        page.pump(3)
        problems += error_dialog(page, "the dashboard and the softphone")
        # The addon's other screens, each as the web client opens it from its menu.
        for action, ready, what in SCREENS:
            page.call("Page.navigate", url=f"{base}/web#action={action}")
            if not page.wait_for(f"!!document.querySelector({json.dumps(ready)})", 60):
                problems.append(f"{what} did not load")
            page.pump(2)
            problems += error_dialog(page, what)
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(profile, ignore_errors=True)

    responses = 0
    for ev in page.events:
        method, params = ev.get("method"), ev.get("params", {})
        if method == "Network.responseReceived":
            responses += 1
            status = params["response"]["status"]
            if status >= 500:
                problems.append(f"HTTP {status} for {params['response']['url']}")
        elif method == "Runtime.exceptionThrown":
            problems.append(
                f"uncaught exception: {params['exceptionDetails'].get('text')}"
            )
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            text = " ".join(
                str(a.get("value", a.get("description", "")))
                for a in params.get("args", [])
            )
            problems.append(f"console error: {text[:300]}")
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            problems.append(
                "browser error: {} {}".format(
                    params["entry"].get("text", "")[:300],
                    params["entry"].get("url", ""),
                )
            )

    print(f"first load: {responses} responses seen, {len(problems)} problem(s)")
    for p in problems:
        print(f"  - {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
