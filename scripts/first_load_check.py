"""Opens the running product in headless Chromium the way new users do, and reports
every answer of 400 or more, every JSON-RPC error, every error dialog and every error in
the browser console.

    python scripts/first_load_check.py http://127.0.0.1:8069 [--login admin --password
    admin] [--agent sofia --agent-password sofia]

As the manager: the login page (whose parallel requests for assets and the company logo
hit a fresh server all at once), the web client, the Call Queues dashboard, the
softphone, the wallboard, the queue report and the callbacks; the dashboard, the
wallboard and the report must show rows (an empty manager view fails). As the agent, in
a browser of its own: the web client, then the softphone opened from the systray's phone
icon, which must list the agent's queues by name (the ones Odoo's database gives the
agent, read as the manager over JSON-RPC). Exit 1 when anything failed. It speaks the
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

import requests
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


# The addon's client screens a manager opens after the dashboard: (action, what shows
# it loaded, what shows its rows, name). A screen whose rows selector is None may be
# empty.
SCREENS = [
    (
        "voip_axivox_queue.axivox_wallboard_action",
        ".o_axivox_wallboard_title",
        ".o_axivox_wallboard_queue",
        "the wallboard",
    ),
    (
        "voip_axivox_queue.axivox_queue_report_page_action",
        ".o_axivox_report_row, .o_axivox_report_empty",
        ".o_axivox_report_row",
        "the queue report page",
    ),
    (
        "voip_axivox_queue.axivox_callback_action",
        ".o_list_view",
        None,
        "the callbacks",
    ),
]
DASHBOARD_ROWS = ".o_kanban_record:not(.o_kanban_ghost), .o_data_row"


def error_dialog(page, what):
    """The web client's error dialog on the page, as a problem (its first lines)."""
    text = page.evaluate(
        "(() => { const d = document.querySelector('.o_error_dialog');"
        " return d ? d.innerText.slice(0, 300) : ''; })()"
    )
    return [f"error dialog on {what}: {' '.join(text.split())}"] if text else []


def has_rows(selector):
    """A JavaScript expression: whether an element matches ``selector``, leaving out a
    view's sample data (the fake records Odoo shows in an empty kanban or list)."""
    return (
        f"[...document.querySelectorAll({json.dumps(selector)})]"
        ".some((e) => !e.closest('.o_view_sample_data'))"
    )


def rpc_errors(page, base, done):
    """The JSON-RPC answers of ``base`` received so far (not in ``done``) that carry an
    error (Odoo answers them with HTTP 200), as problems."""
    finished = {
        ev["params"]["requestId"]
        for ev in page.events
        if ev.get("method") == "Network.loadingFinished"
    }
    problems = []
    for ev in list(page.events):
        if ev.get("method") != "Network.responseReceived":
            continue
        params = ev["params"]
        response, request_id = params["response"], params["requestId"]
        if (
            request_id in done
            or request_id not in finished
            or not response["url"].startswith(base)
            or "json" not in response.get("mimeType", "")
        ):
            continue
        done.add(request_id)
        try:
            body = page.call("Network.getResponseBody", requestId=request_id)["body"]
            error = json.loads(body).get("error")
        except (RuntimeError, ValueError, AttributeError):
            continue  # not a JSON-RPC answer, or no longer kept by the browser
        if error:
            message = (error.get("data") or {}).get("message") or error.get("message")
            problems.append(f"JSON-RPC error from {response['url']}: {message}")
    return problems


def log_in(page, base, login, password, problems):
    page.call("Page.navigate", url=f"{base}/web/login")
    if not page.wait_for("!!document.querySelector('form.oe_login_form')", 60):
        problems.append(f"{login}: the login page did not show its form")
    page.pump(2)
    page.evaluate(
        f"""(() => {{
            const field = (name) => document.querySelector(`input[name=${{name}}]`);
            field('login').value = {json.dumps(login)};
            field('password').value = {json.dumps(password)};
            document.querySelector('form.oe_login_form').submit();
        }})()"""
    )
    page.pump(2)
    if not page.wait_for("!!document.querySelector('.o_main_navbar')", 90):
        problems.append(f"{login}: the web client did not load after logging in")


def as_manager(page, base, args, problems, done):
    log_in(page, base, args.login, args.password, problems)
    page.call(
        "Page.navigate",
        url=f"{base}/web#action=voip_axivox_queue.axivox_queue_action",
    )
    if not page.wait_for(
        "!!document.querySelector('.o_kanban_view, .o_list_view')", 60
    ):
        problems.append("the Call Queues dashboard did not load")
    elif not page.wait_for(has_rows(DASHBOARD_ROWS), 30):
        problems.append("the Call Queues dashboard shows no queue")
    page.evaluate(
        "(() => { const b = document.querySelector('.o_axivox_softphone_toggle');"
        " if (b) b.click(); })()"
    )
    page.pump(3)
    problems += error_dialog(page, "the dashboard and the softphone")
    problems += rpc_errors(page, base, done)
    # The addon's other screens, each as the web client opens it from its menu.
    for action, ready, rows, what in SCREENS:
        page.call("Page.navigate", url=f"{base}/web#action={action}")
        if not page.wait_for(f"!!document.querySelector({json.dumps(ready)})", 60):
            problems.append(f"{what} did not load")
        elif rows and not page.wait_for(has_rows(rows), 30):
            problems.append(f"{what} shows no rows ({rows})")
        page.pump(2)
        problems += error_dialog(page, what)
        problems += rpc_errors(page, base, done)


def agent_queues(base, args):
    """The names of the agent's queues, as Odoo's database has them (read as the
    manager over JSON-RPC, not through the softphone's own method)."""
    session = requests.Session()

    def rpc(path, params):
        body = session.post(
            base + path, json={"jsonrpc": "2.0", "params": params}, timeout=60
        ).json()
        if body.get("error"):
            raise RuntimeError(f"{path}: {body['error']}")
        return body["result"]

    rpc(
        "/web/session/authenticate",
        {"db": args.db, "login": args.login, "password": args.password},
    )
    rows = rpc(
        "/web/dataset/call_kw/axivox.queue.member/search_read",
        {
            "model": "axivox.queue.member",
            "method": "search_read",
            "args": [
                [["user_id.login", "=", args.agent], ["queue_id.active", "=", True]],
                ["queue_id"],
            ],
            "kwargs": {},
        },
    )
    return sorted(row["queue_id"][1] for row in rows)


def as_agent(page, base, args, problems, done):
    expected = agent_queues(base, args)
    if not expected:
        problems.append(f"{args.agent} is an agent of no queue: nothing to check")
    log_in(page, base, args.agent, args.agent_password, problems)
    page.evaluate(
        "(() => { const b = document.querySelector('.o_axivox_softphone_toggle');"
        " if (b) b.click(); })()"
    )
    if not page.wait_for(
        "!!document.querySelector('.o_axivox_softphone_panel .o_axivox_queue_row')", 60
    ):
        problems.append(f"{args.agent}: the softphone shows no queue")
    shown = sorted(
        page.evaluate(
            "[...document.querySelectorAll("
            "'.o_axivox_softphone_panel .o_axivox_queue_row .o_axivox_queue_name')]"
            ".map((e) => e.textContent.trim())"
        )
        or []
    )
    print(f"{args.agent}'s softphone shows the queues {shown} (expected {expected})")
    if shown != expected:
        problems.append(
            f"{args.agent}: the softphone shows the queues {shown}, not {expected}"
        )
    page.pump(2)
    problems += error_dialog(page, f"{args.agent}'s softphone")
    problems += rpc_errors(page, base, done)


def browse(base, visit, args):
    """``visit(page, base, args, problems, done)`` in a fresh headless Chromium; then
    the answers and the console read. Returns (responses seen, JSON-RPC answers read,
    problems)."""
    profile = tempfile.mkdtemp(prefix="first-load-")
    proc, port = start_chromium(profile)
    problems, done = [], set()
    page = None
    try:
        page = open_page(port)
        for domain in ("Network", "Runtime", "Log", "Page"):
            page.call(f"{domain}.enable")
        visit(page, base, args, problems, done)
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(profile, ignore_errors=True)

    responses = 0
    for ev in page.events if page else []:
        method, params = ev.get("method"), ev.get("params", {})
        if method == "Network.responseReceived":
            responses += 1
            status = params["response"]["status"]
            if status >= 400 and params["response"]["url"].startswith(base):
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
    return responses, len(done), problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--db", default="axivox_demo")
    parser.add_argument("--login", default="admin")
    parser.add_argument("--password", default="admin")
    parser.add_argument("--agent", default="sofia")
    parser.add_argument("--agent-password", default="sofia")
    args = parser.parse_args()
    base = args.url.rstrip("/")

    failed = False
    for who, visit in ((args.login, as_manager), (args.agent, as_agent)):
        responses, rpc_read, problems = browse(base, visit, args)
        print(
            f"first load as {who}: {responses} responses seen ({rpc_read} JSON-RPC "
            f"answers read), {len(problems)} problem(s)"
        )
        for p in problems:
            print(f"  - {p}")
        failed = failed or bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
