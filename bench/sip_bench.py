"""The phone in the browser on Asterisk, measured in headless Chromium. Against a
product already running (``SIP=1 PBX=asterisk TRAFFIC_RATE=0 scripts/run.sh``):

    python bench/sip_bench.py --port 8069 --var var [--tries 50] [--loads 10]
        [--idle 3600]

- Connect: Sofia (102) clicks Connect on Sales (the browser dials ``*600``); the time
  until Asterisk lists ``PJSIP/102`` among the queue's members (``queue show sales``
  through its manager interface, read every 20 ms) and until the panel shows her
  connected (the PBX's event through the gateway, Odoo and the bus); median and p95
  over ``--tries`` tries, disconnected between tries (``#600``, not measured).
- Registration: from a page load to the panel's *Phone ready in the browser*, median
  over ``--loads`` loads (the panel opened by hand: the time from its click, and from
  the navigation).
- Memory: the tab registered and idle for ``--idle`` seconds; its JS heap
  (``Performance.getMetrics``: JSHeapUsedSize, JSHeapTotalSize) and the renderer
  processes' resident memory (``/proc/<pid>/status``, VmRSS), at the start and at the
  end, and the registration still up.

It starts Chromium only (a temporary profile, removed at the end). Prints the figures;
asserts nothing (exit 1 only when a step cannot be done).
"""

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "scripts")]

import sip_browser_check as check  # noqa: E402  (scripts/, on the path just above)

helpers = check.load_helpers("first_load_check")
ROW = check.ROW
CONNECTED = (
    f"!!{ROW} && !!{ROW}.querySelector('.o_axivox_queue_disconnect') &&"
    f" !{ROW}.classList.contains('o_axivox_queue_pending')"
)
DISCONNECTED = f"!!{ROW} && !!{ROW}.querySelector('.o_axivox_queue_connect')"
REGISTERED = "!!document.querySelector('.o_axivox_sip_status_registered')"
# No call in progress: none shown, or the last one over (shown for 3 s more)
IDLE = (
    "(() => { const el = document.querySelector('.o_axivox_call_status');"
    " return !el || ['Call ended', 'The call could not be placed']"
    ".includes(el.textContent); })()"
)


class Ami:
    """Asterisk's manager interface on a loop of its own (the page is driven from this
    thread)."""

    def __init__(self, var):
        from axivox_gateway.ami import instance_client

        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.client = instance_client(os.path.join(var, "asterisk"))
        self.task = asyncio.run_coroutine_threadsafe(self.client.run(), self.loop)
        if not self.run(self.client.wait_connected(15)):
            sys.exit(f"Asterisk's AMI does not answer: {self.client.last_error}")

    def run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)

    def members(self, queue="sales"):
        return self.run(self.client.command(f"queue show {queue}"))

    def close(self):
        self.task.cancel()
        self.loop.call_soon_threadsafe(self.loop.stop)


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def wait(page, expression, seconds, what):
    if not page.wait_for(expression, seconds):
        sys.exit(f"SIP bench: {what} not seen within {seconds} s")


def until(predicate, seconds, what, step=0.02):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return time.monotonic()
        time.sleep(step)
    sys.exit(f"SIP bench: {what} not seen within {seconds} s")


def click(page, expression):
    page.evaluate(
        f"(() => {{ const el = {expression}; if (el) el.click(); return !!el; }})()"
    )


def log_in(page, port, login):
    page.call("Page.navigate", url=f"http://127.0.0.1:{port}/web/login")
    wait(page, "!!document.querySelector('input[name=login]')", 60, "the login page")
    value = json.dumps(login)
    page.evaluate(
        f"(() => {{ document.querySelector('input[name=login]').value = {value};"
        f" document.querySelector('input[name=password]').value = {value};"
        " document.querySelector('form.oe_login_form').submit(); return true; })()"
    )


def open_panel(page):
    wait(
        page,
        "!!document.querySelector('.o_axivox_softphone_toggle')",
        120,
        "the phone icon",
    )
    opened = time.monotonic()
    if not page.evaluate("!!document.querySelector('.o_axivox_softphone_panel')"):
        click(page, "document.querySelector('.o_axivox_softphone_toggle')")
    return opened


def registration(page, args):
    """Page loads until registered: (from the navigation, from the panel's click)."""
    from_load, from_click = [], []
    for _ in range(args.loads):
        started = time.monotonic()
        page.call("Page.navigate", url=f"http://127.0.0.1:{args.port}/web")
        page.pump(0.2)
        opened = open_panel(page)
        wait(page, REGISTERED, 30, "registered")
        done = time.monotonic()
        from_load.append(done - started)
        from_click.append(done - opened)
    return from_load, from_click


def connects(page, ami, args):
    device = f"PJSIP/{args.extension}"
    to_member, to_panel = [], []
    if page.evaluate(f"!!{ROW}.querySelector('.o_axivox_queue_disconnect')"):
        click(page, f"{ROW}.querySelector('.o_axivox_queue_disconnect')")
        wait(page, DISCONNECTED, 30, "disconnected first")
    for n in range(args.tries):
        wait(page, IDLE, 15, "the panel idle")
        until(lambda: device not in ami.members(), 15, "out of the queue in Asterisk")
        started = time.monotonic()
        click(page, f"{ROW}.querySelector('.o_axivox_queue_connect')")
        member = until(lambda: device in ami.members(), 30, f"try {n}: a queue member")
        wait(page, CONNECTED, 30, f"try {n}: connected in the panel")
        connected = time.monotonic()
        to_member.append(member - started)
        to_panel.append(connected - started)
        wait(page, IDLE, 15, "the code call over")
        click(page, f"{ROW}.querySelector('.o_axivox_queue_disconnect')")
        wait(page, DISCONNECTED, 30, f"try {n}: disconnected")
    return to_member, to_panel


def renderer_rss():
    """The resident memory (kB) of Chromium's renderer processes, by pid."""
    found = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmd = fh.read().split(b"\0")
            if not any(b"--type=renderer" in part for part in cmd):
                continue
            if not any(b"sip-bench-" in part for part in cmd):
                continue
            with open(f"/proc/{pid}/status", encoding="ascii") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        found[int(pid)] = int(line.split()[1])
        except OSError:
            continue
    return found


def memory(page):
    page.call("Performance.enable")
    metrics = {
        m["name"]: m["value"] for m in page.call("Performance.getMetrics")["metrics"]
    }
    return {
        "heap_used_mb": metrics.get("JSHeapUsedSize", 0) / 2**20,
        "heap_total_mb": metrics.get("JSHeapTotalSize", 0) / 2**20,
        "renderers_rss_mb": sum(renderer_rss().values()) / 1024,
    }


def line(name, values):
    return (
        f"{name}: median {statistics.median(values) * 1000:.0f} ms,"
        f" p95 {percentile(values, 0.95) * 1000:.0f} ms,"
        f" min {min(values) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms"
        f" ({len(values)} tries)"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", default="8069")
    parser.add_argument("--var", default=os.path.join(ROOT, "var"))
    parser.add_argument("--login", default="sofia")
    parser.add_argument("--extension", default="102")
    parser.add_argument("--tries", type=int, default=50)
    parser.add_argument("--loads", type=int, default=10)
    parser.add_argument("--idle", type=float, default=3600, help="seconds idle")
    args = parser.parse_args()
    try:
        check.preflight(args.port, args.var, args.extension)
    except check.NotThere as exc:
        sys.exit(f"SIP bench: cannot run: {exc}")
    ami = Ami(args.var)
    profile = tempfile.mkdtemp(prefix="sip-bench-")
    proc = None
    try:
        proc, devtools = helpers.start_chromium(profile, check.MEDIA_FLAGS)
        page = helpers.open_page(devtools)
        page.call("Page.enable")
        log_in(page, args.port, args.login)
        open_panel(page)
        wait(page, REGISTERED, 60, "registered")
        from_load, from_click = registration(page, args)
        print(line("registration, from the page load", from_load), flush=True)
        print(line("registration, from the panel's click", from_click), flush=True)
        to_member, to_panel = connects(page, ami, args)
        print(line("Connect -> queue member in Asterisk", to_member), flush=True)
        print(line("Connect -> connected in the panel", to_panel), flush=True)
        # Idle: a fresh load, registered, nothing done for --idle seconds
        page.call("Page.navigate", url=f"http://127.0.0.1:{args.port}/web")
        page.pump(0.2)
        open_panel(page)
        wait(page, REGISTERED, 30, "registered")
        page.pump(2)
        before = memory(page)
        page.pump(args.idle)
        after = memory(page)
        still = page.evaluate(REGISTERED)
        print(
            f"idle registered tab, {args.idle:.0f} s:"
            f" JS heap used {before['heap_used_mb']:.1f} ->"
            f" {after['heap_used_mb']:.1f} MB (total {before['heap_total_mb']:.1f} ->"
            f" {after['heap_total_mb']:.1f} MB),"
            f" renderers' RSS {before['renderers_rss_mb']:.0f} ->"
            f" {after['renderers_rss_mb']:.0f} MB; still registered: {still}",
            flush=True,
        )
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)
        ami.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
