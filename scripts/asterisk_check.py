#!/usr/bin/env python3
"""The product on Asterisk, checked after real calls: Odoo's events equal the
queue_log's lines of the report's 13 types, one to one.

Against the product as ``PBX=asterisk scripts/run.sh`` runs it (prefork Odoo behind
nginx, the gateway, a private Asterisk), with no demo traffic (TRAFFIC_RATE=0):

1. a short-tempered queue is added through the gateway's API (``rush``: 6 s of waiting
   at most, 3 s of ringing per agent) with three connected agents, the demo devices
   let a quarter of the calls ring unanswered, Billing has no agent connected;
2. ``--calls`` real callers (AMI Originate into the queues' extensions) with short
   patience and talk, so that answered calls, abandons, timeouts, ring-no-answers and
   callers who find no agent all happen;
3. once Asterisk has no channel left and Odoo has caught up: every queue_log line of
   the 13 types is one event in Odoo (same id, type, queue, call, agent), nothing more;
4. figures, printed: a queue_log line seen -> its event stored in Odoo -> the agent's
   panel (the member state on a manager's websocket, through nginx): median and p95.

Exit 0 when the check passed. ``--seconds-limit`` bounds the whole run.
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import threading
import time

import psycopg2
import requests
import websocket

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from axivox_api.client import AxivoxClient  # noqa: E402
from axivox_gateway import queue_log  # noqa: E402
from axivox_gateway.ami import instance_client  # noqa: E402
from axivox_gateway.traffic import place_calls  # noqa: E402
from bus_notifications import MEMBER_STATE  # noqa: E402

FAILURES = []
PANEL_TYPES = {
    "ADDMEMBER",
    "REMOVEMEMBER",
    "CONNECT",
    "COMPLETEAGENT",
    "COMPLETECALLER",
}


def check(ok, what):
    print(("  ok    " if ok else "  FAIL  ") + what, flush=True)
    if not ok:
        FAILURES.append(what)


def figures(name, values):
    if not values:
        print(f"  {name}: no value")
        return
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
    print(
        f"  {name}: median {statistics.median(values) * 1000:.0f} ms, "
        f"p95 {p95 * 1000:.0f} ms, max {values[-1] * 1000:.0f} ms "
        f"({len(values)} events)",
        flush=True,
    )


class LineWatcher(threading.Thread):
    """Notes when each queue_log line is first seen (every 5 ms)."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.reader = queue_log.QueueLogReader(path)
        self.reader.new_lines()  # what was there before the run is not timed
        self.seen = []  # (monotonic, wall clock, line)
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            mono, wall = time.monotonic(), time.time()
            for line in self.reader.new_lines():
                self.seen.append((mono, wall, line))
            time.sleep(0.005)


class StoredWatcher(threading.Thread):
    """Notes when each event is first seen stored in Odoo's database (every 10 ms)."""

    def __init__(self, db):
        super().__init__(daemon=True)
        self.conn = psycopg2.connect(dbname=db)
        self.conn.autocommit = True
        with self.conn.cursor() as cr:
            cr.execute("SELECT COALESCE(max(id), 0) FROM axivox_queue_event")
            self.last = cr.fetchone()[0]
        self.seen = {}  # pbx event id -> wall clock
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            with self.conn.cursor() as cr:
                cr.execute(
                    "SELECT id, pbx_event_id FROM axivox_queue_event WHERE id > %s "
                    "ORDER BY id",
                    [self.last],
                )
                rows = cr.fetchall()
            now = time.time()
            for row_id, event_id in rows:
                self.seen.setdefault(event_id, now)
                self.last = max(self.last, row_id)
            time.sleep(0.01)


class PanelWatcher(threading.Thread):
    """The member-state messages a manager's browser receives (websocket, nginx)."""

    def __init__(self, url, session_id):
        super().__init__(daemon=True)
        self.ws = websocket.create_connection(
            url.replace("http://", "ws://") + "/websocket",
            timeout=30,
            header=[f"Cookie: session_id={session_id}"],
            origin=url,
        )
        self.ws.settimeout(1)
        self.ws.send(
            json.dumps({"event_name": "subscribe", "data": {"channels": [], "last": 0}})
        )
        self.messages = []  # (wall clock, payload)
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                raw = self.ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            except Exception:  # closed
                return
            now = time.time()
            for message in json.loads(raw):
                body = message.get("message", {})
                if body.get("type") == MEMBER_STATE:
                    self.messages.append((now, body.get("payload", {})))


def odoo_login(url, db):
    session = requests.Session()
    response = session.post(
        url + "/web/session/authenticate",
        json={"params": {"db": db, "login": "admin", "password": "admin"}},
        timeout=60,
    )
    response.raise_for_status()
    return session


def odoo_sync(session, url):
    """The manager's *Sync now* on every PBX account: Odoo mirrors the new queue."""

    def call(model, method, *args):
        response = session.post(
            f"{url}/web/dataset/call_kw/{model}/{method}",
            json={
                "params": {
                    "model": model,
                    "method": method,
                    "args": list(args),
                    "kwargs": {},
                }
            },
            timeout=120,
        )
        response.raise_for_status()
        body = response.json()
        if body.get("error"):
            raise RuntimeError(body["error"]["data"]["message"])
        return body["result"]

    accounts = call("axivox.account", "search", [])
    call("axivox.account", "action_sync_now", accounts)


async def real_calls(instance, calls, rate):
    ami = instance_client(instance)
    task = asyncio.ensure_future(ami.run())
    try:
        if not await ami.wait_connected(20):
            raise RuntimeError("AMI unreachable: %s" % ami.last_error)
        for name, value in (("AXIVOX_TALK", "1-4"), ("AXIVOX_NOANSWER", "25")):
            await ami.command(f"dialplan set global {name} {value}")
        placed = await place_calls(
            ami,
            ["630", "630", "630", "600", "620"],
            calls,
            rate,
            patience=(1.0, 12.0),
            talk=(1.0, 5.0),
            seed=20261207,
        )
        # Until every caller and agent device has hung up.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            response, events = await ami.action("CoreShowChannels", _list=True)
            if not events:
                break
            await asyncio.sleep(0.5)
        for name, value in (("AXIVOX_TALK", "3-8"), ("AXIVOX_NOANSWER", "0")):
            await ami.command(f"dialplan set global {name} {value}")
        return placed
    finally:
        task.cancel()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True, help="Odoo behind nginx")
    p.add_argument("--pbx", required=True, help="the gateway's URL")
    p.add_argument("--pbx-key", default="demo-api-key")
    p.add_argument("--asterisk", required=True, help="the instance's folder")
    p.add_argument("--db", default="axivox_demo")
    p.add_argument("--calls", type=int, default=200)
    p.add_argument("--rate", type=float, default=4.0, help="callers a second")
    args = p.parse_args()

    pbx = AxivoxClient(args.pbx, args.pbx_key, timeout=20)
    with open(os.path.join(args.asterisk, "instance.json"), encoding="utf-8") as fh:
        log_path = json.load(fh)["queue_log"]
    conn = psycopg2.connect(dbname=args.db)
    conn.autocommit = True

    print(f"Asterisk check: {args.calls} real calls", flush=True)
    if "rush" not in {q["id"] for q in pbx.list_queues()}:
        pbx.create_queue(
            {
                "id": "rush",
                "name": "Rush",
                "extension": "630",
                "strategy": "ringall",
                "max_wait_time": 6,
                "max_ring_time": 3,
                "static_agents": [],
                "dynamic_agents": ["101", "102", "103"],
            }
        )
    for ext in ("101", "102", "103"):
        pbx.connect_agent("rush", ext)
    for agent in pbx.list_agents("billing"):
        if agent["connected"] and agent["type"] == "dynamic":
            pbx.disconnect_agent("billing", agent["extension"])

    session = odoo_login(args.url, args.db)
    odoo_sync(session, args.url)
    with conn.cursor() as cr:
        cr.execute(
            "SELECT count(*) FROM axivox_queue_member m JOIN axivox_queue q "
            "ON q.id = m.queue_id WHERE q.remote_id = 'rush' AND m.connected"
        )
        check(cr.fetchone()[0] == 3, "Odoo mirrors the new queue and its agents")
    lines = LineWatcher(log_path)
    panel = PanelWatcher(args.url, session.cookies.get("session_id"))
    arrivals = StoredWatcher(args.db)
    lines.start()
    panel.start()
    arrivals.start()
    started = time.monotonic()
    placed = asyncio.run(real_calls(args.asterisk, args.calls, args.rate))
    print(f"  {placed} callers placed in {time.monotonic() - started:.0f} s")
    check(placed == args.calls, f"Asterisk accepted every caller ({placed})")

    with open(log_path, encoding="utf-8") as fh:
        expected, _, _ = queue_log.events_of_lines(fh.read().splitlines())
    expected = {e["id"]: e for e in expected}

    def stored():
        with conn.cursor() as cr:
            cr.execute(
                """SELECT pbx_event_id, event_type, queue_remote_id, call_id,
                          agent_extension
                     FROM axivox_queue_event"""
            )
            return {row[0]: row[1:] for row in cr.fetchall()}

    deadline = time.monotonic() + 60
    odoo = stored()
    while set(expected) - set(odoo) and time.monotonic() < deadline:
        time.sleep(0.5)
        odoo = stored()
    lines.stop.set()
    time.sleep(1)
    panel.stop.set()
    arrivals.stop.set()

    ours = {k: v for k, v in odoo.items() if k.startswith("ql-")}
    missing = sorted(set(expected) - set(ours))
    extra = sorted(set(ours) - set(expected))
    counts = {}
    for event in expected.values():
        counts[event["type"]] = counts.get(event["type"], 0) + 1
    print("  queue_log events by type: " + json.dumps(counts, sort_keys=True))
    check(not missing, f"every queue_log event is in Odoo (missing: {missing[:5]})")
    check(not extra, f"Odoo has no event the queue_log lacks (extra: {extra[:5]})")
    wrong = [
        event_id
        for event_id, event in expected.items()
        if event_id in ours
        and (
            ours[event_id][0] != event["type"]
            or ours[event_id][1] != event["queue_id"]
            or (ours[event_id][2] or None) != event["call_id"]
            or (ours[event_id][3] or None) != event["agent_extension"]
        )
    ]
    check(not wrong, f"each one with its type, queue, call and agent ({wrong[:5]})")
    for kind in (
        "ENTERQUEUE",
        "CONNECT",
        "ABANDON",
        "EXITWITHTIMEOUT",
        "EXITEMPTY",
        "RINGNOANSWER",
    ):
        check(counts.get(kind, 0) > 0, f"the calls made {kind} events")
    check(
        counts.get("COMPLETEAGENT", 0) + counts.get("COMPLETECALLER", 0) > 0,
        "the calls made COMPLETEAGENT / COMPLETECALLER events",
    )

    # Figures: a line seen -> its event stored in Odoo -> the panel (the first
    # member-state message of that agent in that queue after the line).
    with conn.cursor() as cr:
        cr.execute("SELECT remote_id, id FROM axivox_queue")
        queue_ids = dict(cr.fetchall())
        cr.execute(
            "SELECT axivox_extension, id FROM res_users WHERE axivox_extension != ''"
        )
        user_ids = dict(cr.fetchall())
    seen, in_odoo, on_panel = {}, [], []
    last_second, same = None, {}
    for _mono, wall, line in lines.seen:
        events, last_second, same = queue_log.events_of_lines([line], last_second, same)
        for event in events:
            seen[event["id"]] = (wall, event)
    messages = list(panel.messages)
    for event_id, (wall, event) in seen.items():
        if event_id in arrivals.seen:
            in_odoo.append(max(0.0, arrivals.seen[event_id] - wall))
        key = (queue_ids.get(event["queue_id"]), user_ids.get(event["agent_extension"]))
        if event["type"] in PANEL_TYPES and all(key):
            after = [
                t
                for t, payload in messages
                if t >= wall
                and (payload.get("queue_id"), payload.get("user_id")) == key
            ]
            if after:
                on_panel.append(after[0] - wall)
    print("Figures (a queue_log line seen by a watcher polling every 5 ms):")
    figures("line -> event stored in Odoo", in_odoo)
    figures("line -> first member state on a manager's websocket", on_panel)
    print("Asterisk check: " + ("FAILED" if FAILURES else "PASSED"), flush=True)
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
