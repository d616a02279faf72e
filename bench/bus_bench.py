"""The bus as an agent's browser sees it, against a running Odoo server (started by
bench/bus_bench.sh). Prints figures; asserts nothing.

  * single-event signed webhooks (calls), --requests of them by --concurrency
    threads: webhooks per second;
  * meanwhile, and then on a quiet server: a login or logout of one agent sent as a
    webhook every 0.1 s, and the time until its member state reaches a manager's
    websocket (through nginx, as a browser's tab): median and p95 of each.

The last line, ``RESULT <label> <webhooks/s> <loaded median> <loaded p95> <quiet
median> <quiet p95>`` (milliseconds), is read by bench/bus_bench.sh.

Usage: bus_bench.py --url URL --token TOKEN --secret SECRET --db DATABASE --label L
"""
import argparse
import json
import os
import statistics
import sys
import threading
import time

import requests
import websocket

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]
import webhook_bench  # noqa: E402

from bus_notifications import MEMBER_STATE  # noqa: E402  (the addon's folder)

# The agent whose logins are timed, and her queue (bench/setup_bench.py); the calls of
# the load go to the other agents.
AGENT, AGENT_NAME, QUEUE, QUEUE_NAME = "2019", "Bench Agent 19", "bench-q4", "Bench 4"
webhook_bench.AGENTS.remove(AGENT)


class Panel(threading.Thread):
    """A manager's tab: the member states of AGENT on QUEUE, as they arrive."""

    def __init__(self, url, db):
        super().__init__(daemon=True)
        session = requests.Session()
        session.post(
            url + "/web/session/authenticate",
            json={"params": {"db": db, "login": "admin", "password": "admin"}},
            timeout=60,
        ).raise_for_status()
        # the gevent process may start after the HTTP workers: until it answers
        deadline = time.monotonic() + 60
        while True:
            try:
                self.ws = websocket.create_connection(
                    url.replace("http://", "ws://") + "/websocket",
                    timeout=30,
                    header=[f"Cookie: session_id={session.cookies['session_id']}"],
                    origin=url,
                )
                break
            except websocket.WebSocketBadStatusException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        self.ws.settimeout(0.5)
        self.ws.send(
            json.dumps({"event_name": "subscribe", "data": {"channels": [], "last": 0}})
        )
        self.states = []  # (monotonic time, connected)
        self.changed = threading.Condition()
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                raw = self.ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            now = time.monotonic()
            for notification in json.loads(raw):
                message = notification.get("message", {})
                payload = message.get("payload") or {}
                if (
                    message.get("type") == MEMBER_STATE
                    and payload.get("agent_name") == AGENT_NAME
                    and payload.get("queue_name") == QUEUE_NAME
                ):
                    with self.changed:
                        self.states.append((now, payload["connected"]))
                        self.changed.notify_all()

    def wait_for(self, connected, after, timeout=10.0):
        """When the state ``connected`` arrived after ``after`` (None: not in time)."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for at, state in self.states:
                    if at >= after and state == connected:
                        return at
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.changed.wait(left)


CONNECTED = [False]  # the agent's state, from one run of logins() to the next


def logins(args, panel, stop, count=None):
    """Latencies (ms) of logins / logouts sent every 0.1 s until ``stop`` or ``count``:
    each one changes the agent's state, at its real time (the PBX orders by it)."""
    latencies, lost = [], 0
    while not stop.is_set() and (count is None or len(latencies) + lost < count):
        connected = not CONNECTED[0]
        event = webhook_bench.make_event("ADDMEMBER" if connected else "REMOVEMEMBER")
        now = time.time()
        event.update(
            agent_extension=AGENT,
            queue_id=QUEUE,
            timestamp=time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
            + f".{int(now * 1000) % 1000:03d}Z",
        )
        sent = time.monotonic()
        webhook_bench.post_events(args, event)
        arrived = panel.wait_for(connected, sent)
        if arrived is None:
            lost += 1
        else:
            latencies.append(1000 * (arrived - sent))
        CONNECTED[0] = connected
        time.sleep(max(0.0, 0.1 - (time.monotonic() - sent)))
    return latencies, lost


def figures(latencies):
    if len(latencies) < 2:
        return float("nan"), float("nan")
    return statistics.median(latencies), statistics.quantiles(latencies, n=20)[-1]


def main():
    parser = argparse.ArgumentParser()
    for name in ("url", "token", "secret", "db", "label"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--quiet", type=int, default=40, help="quiet logins timed")
    args = parser.parse_args()

    panel = Panel(args.url, args.db)
    panel.start()
    applied = webhook_bench.Applied(args.db)
    # warm up: the workers, the applier, the panel
    for _ in range(50):
        webhook_bench.post_events(args, webhook_bench.make_event())
    logins(args, panel, threading.Event(), count=4)
    applied.wait()

    stop = threading.Event()
    loaded = {}
    timer = threading.Thread(
        target=lambda: loaded.update(result=logins(args, panel, stop)), daemon=True
    )
    timer.start()
    rate = webhook_bench.throughput(
        args, lambda: webhook_bench.post_events(args, webhook_bench.make_event())
    )
    stop.set()
    timer.join()
    applied.wait()
    quiet = logins(args, panel, threading.Event(), count=args.quiet)
    panel.stop.set()
    (loaded_lat, loaded_lost), (quiet_lat, quiet_lost) = loaded["result"], quiet
    lm, lp = figures(loaded_lat)
    qm, qp = figures(quiet_lat)
    print(
        f"{args.label}: {rate:.1f} webhooks/s; login -> panel under load "
        f"{lm:.0f} ms median, p95 {lp:.0f} ms ({len(loaded_lat)} timed, "
        f"{loaded_lost} not seen in 10 s); quiet {qm:.0f} ms, p95 {qp:.0f} ms "
        f"({len(quiet_lat)} timed, {quiet_lost} not seen); "
        f"non-2xx answers: {len(webhook_bench.NON_2XX)}"
    )
    print(f"RESULT {args.label} {rate:.1f} {lm:.1f} {lp:.1f} {qm:.1f} {qp:.1f}")


if __name__ == "__main__":
    main()
