"""Soak test of the product in production mode (run by scripts/test.sh, not alone).

Against Odoo in prefork mode behind nginx with the webhook applier (scripts/run.sh) and
its PBX simulator, with the event stream listener running: the simulator sends call
traffic by webhook with drops, duplicates and reordering; desk-phone logins and logouts
(on the PBX), manager connects and disconnects and "Sync now" (through Odoo's JSON-RPC)
run at the same time, bounded in count and time. Then it checks: Odoo's events are
exactly the PBX feed (none missing, none extra, none twice), every member's state is the
PBX's, no delivery was answered 401 or 400, and a bus message reaches a websocket client
through nginx within one second of its event.

Usage: soak.py --url NGINX_URL --sim SIM_URL --sim-key KEY --db DB [--seconds 45]
Exit status 0 when every check passes; prints its figures.
"""
import argparse
import concurrent.futures
import datetime
import json
import os
import random
import sys
import threading
import time

import requests
import websocket

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from axivox_api.client import AxivoxClient  # noqa: E402

FAILURES = []
SIM_KEY = [""]


def check(ok, what):
    print(("  ok    " if ok else "  FAIL  ") + what)
    if not ok:
        FAILURES.append(what)


class Odoo:
    def __init__(self, url, db, login, password):
        self.url, self.session = url, requests.Session()
        self.rpc(
            "/web/session/authenticate",
            {"db": db, "login": login, "password": password},
        )

    def rpc(self, path, params):
        response = self.session.post(
            self.url + path,
            json={"jsonrpc": "2.0", "id": 1, "params": params},
            timeout=60,
        )
        response.raise_for_status()
        body = response.json()
        if body.get("error"):
            raise RuntimeError(
                f"{path}: {body['error'].get('data', {}).get('message')}"
            )
        return body["result"]

    def call(self, model, method, *args, **kwargs):
        return self.rpc(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": list(args), "kwargs": kwargs},
        )

    def search_read(self, model, domain, fields):
        return self.call(model, "search_read", domain, fields)


def sim_control(sim, method, path, payload=None):
    response = requests.request(
        method,
        f"{sim}/api/v1/_sim/{path}",
        json=payload,
        timeout=120,
        headers={"Authorization": "Bearer " + SIM_KEY[0]},
    )
    response.raise_for_status()
    return response.json()


def feed(pbx):
    events, cursor, more = [], None, True
    while more:
        page, cursor, more = pbx.events_since(cursor, limit=1000)
        events += page
    return events, cursor


def main():
    parser = argparse.ArgumentParser()
    for option in ("--url", "--sim", "--sim-key", "--db"):
        parser.add_argument(option, required=True)
    parser.add_argument("--seconds", type=float, default=45)
    args = parser.parse_args()
    SIM_KEY[0] = args.sim_key
    pbx = AxivoxClient(args.sim, args.sim_key, timeout=30)
    admin = Odoo(args.url, args.db, "admin", "admin")
    account = admin.search_read("axivox.account", [], ["id", "name"])[0]
    admin.call("axivox.account", "action_sync_now", [account["id"]])
    sim_control(
        args.sim,
        "POST",
        "faults",
        {
            "webhook_drop_rate": 0.15,
            "webhook_duplicate_rate": 0.15,
            "webhook_reorder": True,
            "seed": 9,
        },
    )
    agents = [a for a in pbx.list_agents() if a["type"] == "dynamic"]
    members = admin.search_read(
        "axivox.queue.member",
        [["member_type", "=", "dynamic"], ["queue_id.remote_id", "!=", False]],
        ["id"],
    )
    print(
        f"Soak: {args.seconds:.0f} s, {len(agents)} dynamic agents on the PBX, "
        f"{len(members)} in Odoo"
    )
    stop = time.monotonic() + args.seconds
    counts = {"traffic": 0, "desk_phone": 0, "manager": 0, "sync": 0, "errors": 0}
    lock = threading.Lock()

    def loop(kind, action, pause):
        rng = random.Random(kind)
        while time.monotonic() < stop:
            try:
                action(rng)
                with lock:
                    counts[kind] += 1
            except Exception as exc:  # a manager's click may be refused: counted, shown
                with lock:
                    counts["errors"] += 1
                print(f"  ({kind}: {str(exc)[:120]})")
            time.sleep(pause * rng.uniform(0.5, 1.5))

    def traffic(rng):
        start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(
            minutes=20
        )
        sim_control(
            args.sim,
            "POST",
            "traffic",
            {"seed": rng.randint(0, 10**6), "calls": 6, "start": start.isoformat()},
        )

    def desk_phone(rng):
        agent = rng.choice(agents)
        if rng.random() < 0.5:
            pbx.connect_agent(agent["queue_id"], agent["extension"])
        else:
            pbx.disconnect_agent(agent["queue_id"], agent["extension"])

    manager = Odoo(args.url, args.db, "admin", "admin")

    def manager_click(rng):
        member = rng.choice(members)["id"]
        method = "action_connect" if rng.random() < 0.5 else "action_disconnect"
        manager.call("axivox.queue.member", method, [member])

    syncer = Odoo(args.url, args.db, "admin", "admin")

    def sync(rng):
        syncer.call("axivox.account", "action_sync_now", [account["id"]])

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        jobs = [
            pool.submit(loop, "traffic", traffic, 0.7),
            pool.submit(loop, "desk_phone", desk_phone, 0.15),
            pool.submit(loop, "desk_phone", desk_phone, 0.15),
            pool.submit(loop, "manager", manager_click, 0.4),
            pool.submit(loop, "sync", sync, 4.0),
        ]
        for job in jobs:
            job.result()
    print(
        f"Load: {time.monotonic() - started:.1f} s; "
        + ", ".join(f"{k} {v}" for k, v in counts.items())
    )

    sim_control(args.sim, "POST", "faults", {})
    sim_control(args.sim, "POST", "flush", {"timeout": 60})
    events, last_cursor = feed(pbx)
    expected = {e["id"] for e in events}

    def odoo_ids():
        rows = admin.search_read(
            "axivox.queue.event",
            [
                ["account_id", "=", account["id"]],
                ["pbx_event_id", "not like", "demo-%"],
            ],
            ["pbx_event_id"],
        )
        return [r["pbx_event_id"] for r in rows]

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not set(odoo_ids()) >= expected:
        time.sleep(1)  # the listener catches up with what webhooks dropped
    print(f"Checks (PBX feed: {len(events)} events, cursor {last_cursor}):")
    ids = odoo_ids()
    check(
        set(ids) == expected,
        f"Odoo's events are the PBX feed ({len(set(ids) - expected)} "
        f"extra, {len(expected - set(ids))} missing)",
    )
    check(len(ids) == len(set(ids)), "no event stored twice")

    def of_account(model, fields, account_field="account_id"):
        """The account's records of ``model``, as ``fields``."""
        return admin.search_read(model, [[account_field, "=", account["id"]]], fields)

    def states():
        rows = of_account("axivox.queue.member", ["queue_id", "user_id", "connected"])
        return {(m["queue_id"][1], m["user_id"][0]): m["connected"] for m in rows}

    user_rows = of_account("res.users", ["axivox_extension"], "axivox_account_id")
    users = {u["axivox_extension"]: u["id"] for u in user_rows}
    queue_rows = of_account("axivox.queue", ["remote_id", "name"])
    queues = {q["remote_id"]: q["name"] for q in queue_rows}
    pbx_state = {
        (queues[a["queue_id"]], users[a["extension"]]): a["type"] == "static"
        or bool(a["connected"])
        for a in pbx.list_agents()
        if a["queue_id"] in queues and a["extension"] in users
    }
    odoo_state = states()
    differ = {k for k in pbx_state if odoo_state.get(k) != pbx_state[k]}
    check(
        not differ,
        f"every member's state is the PBX's ({len(pbx_state)} members, "
        f"{len(differ)} differ: {sorted(differ)[:5]})",
    )
    deliveries = sim_control(args.sim, "GET", "deliveries")["deliveries"]
    statuses = {}
    for d in deliveries:
        statuses[d.get("status")] = statuses.get(d.get("status"), 0) + 1
    check(
        not statuses.get(401) and not statuses.get(400),
        f"no delivery answered 401 or 400 (statuses: {statuses})",
    )
    check(
        not counts["errors"] or counts["errors"] <= counts["manager"] // 10,
        f"the concurrent actions ran ({counts['errors']} refused)",
    )
    bus_latency(args, admin, pbx)
    print("Soak: " + ("PASSED" if not FAILURES else f"FAILED ({len(FAILURES)})"))
    return 1 if FAILURES else 0


def bus_latency(args, admin, pbx):
    """A member state change on the PBX reaches a websocket client through nginx."""
    ws_url = args.url.replace("http://", "ws://") + "/websocket"
    cookie = "session_id=" + admin.session.cookies.get("session_id")
    ws = websocket.create_connection(
        ws_url, timeout=10, header=[f"Cookie: {cookie}"], origin=args.url
    )
    ws.send(
        json.dumps({"event_name": "subscribe", "data": {"channels": [], "last": 0}})
    )
    time.sleep(0.5)
    agent = next(a for a in pbx.list_agents() if a["type"] == "dynamic")
    if agent["connected"]:
        pbx.disconnect_agent(agent["queue_id"], agent["extension"])
        time.sleep(1.5)
        ws.settimeout(0.2)
        try:
            while True:
                ws.recv()
        except Exception:  # drained
            pass
    ws.settimeout(5)
    sent = time.monotonic()
    pbx.connect_agent(agent["queue_id"], agent["extension"])
    latency = None
    try:
        while time.monotonic() - sent < 5:
            for message in json.loads(ws.recv()):
                if (
                    message.get("message", {}).get("type")
                    == "voip_axivox_queue/member_state"
                ):
                    latency = time.monotonic() - sent
                    break
            if latency is not None:
                break
    except Exception as exc:  # a timeout: reported below
        print(f"  (websocket: {exc})")
    ws.close()
    check(
        latency is not None and latency < 1.0,
        "a bus message reached the websocket client through nginx within 1 s "
        f"({'none' if latency is None else f'{latency * 1000:.0f} ms'})",
    )


if __name__ == "__main__":
    sys.exit(main())
