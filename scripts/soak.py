"""Soak test of the product in production mode (run by scripts/test.sh, not alone).

Against Odoo in prefork mode behind nginx with the webhook applier (scripts/run.sh) and
its PBX simulator. One phase a run, scripts/test.sh runs both, in this order:

``--phase webhooks``: loss-free delivery by webhooks alone. The sync cron is switched
off (and no "Sync now" is clicked), the event stream listener does not run (checked: no
one holds its lock), and the simulator delivers its webhooks duplicated and reordered
but never drops one: an event Odoo drops or refuses is missing at the end, since nothing
else brings it.

``--phase healing``: the sync cron back on, the listener running (checked: it holds its
lock), "Sync now" clicked, and webhooks dropped too: the listener and the sync bring
what the webhooks lost.

In each: call traffic by webhook, desk-phone logins and logouts (on the PBX), manager
connects and disconnects (through Odoo's JSON-RPC) at the same time, bounded in time.
Then, with a deadline, exact checks: the load was at least the minimum; Odoo's events
are exactly the PBX feed (none missing, none extra, none twice); the applier's inbox is
empty and nothing was quarantined; every queue and member of the PBX is in Odoo and the
other way round, and every member's state is the PBX's (counts printed); every delivery
was answered 2xx (webhooks phase) or none 400/401 (healing phase); every sync succeeded
(none ran in the webhooks phase); and a bus message for the very member the soak
connects on the PBX, sent after it subscribed, reaches a websocket client through nginx
within one second.

Usage: soak.py --url NGINX_URL --sim SIM_URL --sim-key KEY --db DB
       --phase webhooks|healing [--seconds 40] [--min-events N]
PostgreSQL is reached through the libpq variables (PGHOST, PGPORT, PGUSER), read-only:
the bus's last message id and the advisory locks of the listener and the applier.
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

import psycopg2
import requests
import websocket

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from axivox_api.client import AxivoxClient  # noqa: E402
from bus_notifications import MEMBER_STATE  # noqa: E402

FAILURES = []
SIM_KEY = [""]
# the advisory locks of cli/axivox_listen.py (per account) and cli/axivox_apply.py
LISTEN_LOCK = 0x41584C53
APPLY_LOCK = 0x41584150
SYNC_CRON = "voip_axivox_queue.ir_cron_axivox_sync"
# events a second of load the PBX must at least have sent in a phase: the traffic loop
# starts 6 calls every 0.7 s or so, each of several events; a soak that sent fewer
# proved little (a stalled simulator, a load loop that failed at once)
MIN_EVENTS_PER_SECOND = 5


def check(ok, what):
    print(("  ok    " if ok else "  FAIL  ") + what)
    if not ok:
        FAILURES.append(what)


def wait_until(condition, seconds, step=0.25):
    """``condition()`` until it is true or ``seconds`` pass; its last value."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(step)


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
            timeout=120,
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

    def search_read(self, model, domain, fields, **kwargs):
        return self.call(model, "search_read", domain, fields, **kwargs)

    def ref(self, xmlid):
        module, name = xmlid.split(".")
        rows = self.search_read(
            "ir.model.data", [["module", "=", module], ["name", "=", name]], ["res_id"]
        )
        return rows[0]["res_id"]


def sim_control(sim, method, path, payload=None):
    response = requests.request(
        method,
        f"{sim}/api/v1/_sim/{path}",
        json=payload,
        timeout=120,
        headers={"Authorization": "Bearer " + SIM_KEY[0]},
    )
    if not (path == "flush" and response.status_code == 504):  # 504: not flushed
        response.raise_for_status()
    return response.json()


def feed(pbx, cursor=None):
    events, more = [], True
    while more:
        page, next_cursor, more = pbx.events_since(cursor, limit=1000)
        events += page
        cursor = next_cursor or cursor
    return events, cursor


def lock_held(pg, key, account_id):
    """Whether a session holds the advisory lock (key, account_id)."""
    with pg.cursor() as cr:
        cr.execute(
            """SELECT count(*) FROM pg_locks
                WHERE locktype = 'advisory' AND granted AND mode = 'ExclusiveLock'
                  AND classid = %s::bigint::oid AND objid = %s::bigint::oid
                  AND objsubid = 2
                  AND database = (SELECT oid FROM pg_database
                                   WHERE datname = current_database())""",
            [key, account_id],
        )
        return cr.fetchone()[0] > 0


def main():
    parser = argparse.ArgumentParser()
    for option in ("--url", "--sim", "--sim-key", "--db"):
        parser.add_argument(option, required=True)
    parser.add_argument("--phase", required=True, choices=("webhooks", "healing"))
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--min-events", type=int)
    args = parser.parse_args()
    SIM_KEY[0] = args.sim_key
    soak = argparse.Namespace(
        args=args,
        webhooks_only=args.phase == "webhooks",
        pbx=AxivoxClient(args.sim, args.sim_key, timeout=30),
        pg=psycopg2.connect(dbname=args.db),
        admin=Odoo(args.url, args.db, "admin", "admin"),
    )
    soak.pg.autocommit = True
    soak.account = soak.admin.search_read("axivox.account", [], ["id", "name"])[0]
    print(f"Soak, {args.phase} phase:")
    prepare(soak)
    counts, syncs = load(soak)
    settle_and_check(soak, counts, syncs)
    bus_latency(args, soak.admin, soak.pbx, soak.pg, soak.account)
    soak.pg.close()
    print(
        f"Soak ({args.phase}): "
        + ("PASSED" if not FAILURES else f"FAILED ({len(FAILURES)})")
    )
    return 1 if FAILURES else 0


def prepare(soak):
    """The phase's set-up, checked: the sync cron, the listener and the applier as the
    phase wants them; then what is there before the phase, to compare with after it."""
    admin, account, pg = soak.admin, soak.account, soak.pg
    # Switching the cron off waits for a sync it is running (its row is locked).
    admin.call(
        "ir.cron", "write", [admin.ref(SYNC_CRON)], {"active": not soak.webhooks_only}
    )
    if soak.webhooks_only:
        check(
            not lock_held(pg, LISTEN_LOCK, account["id"]),
            "the event stream listener does not run (no one holds its lock)",
        )
        # Odoo is brought to the PBX before the phase; from here on, webhooks only.
        result = admin.call("axivox.account", "action_sync_now", [account["id"]])
        check(
            result["params"]["type"] == "success",
            f"the sync before the phase succeeded ({result['params']['message']})",
        )
    else:
        check(
            wait_until(lambda: lock_held(pg, LISTEN_LOCK, account["id"]), 60),
            "the event stream listener runs (it holds its lock)",
        )
    check(lock_held(pg, APPLY_LOCK, 0), "the webhook applier runs (it holds its lock)")
    soak.before = admin.search_read(
        "axivox.account", [["id", "=", account["id"]]], ["last_sync"]
    )[0]
    soak.quarantined_before = admin.call(
        "axivox.queue.event.quarantine", "search", [], order="id desc", limit=1
    )
    soak.delivery_ids_before = {
        d["delivery_id"]
        for d in sim_control(soak.args.sim, "GET", "deliveries")["deliveries"]
    }
    soak.start_cursor = feed(soak.pbx)[1]


def load(soak):
    """The concurrent load for ``--seconds``; returns the counts of what ran and the
    outcomes of the syncs clicked."""
    args, pbx, account = soak.args, soak.pbx, soak.account
    sim_control(
        args.sim,
        "POST",
        "faults",
        {
            "webhook_drop_rate": 0.0 if soak.webhooks_only else 0.15,
            "webhook_duplicate_rate": 0.15,
            "webhook_reorder": True,
            "seed": 9,
        },
    )
    agents = [a for a in pbx.list_agents() if a["type"] == "dynamic"]
    members = soak.admin.search_read(
        "axivox.queue.member",
        [["member_type", "=", "dynamic"], ["queue_id.remote_id", "!=", False]],
        ["id"],
    )
    manager = Odoo(args.url, args.db, "admin", "admin")
    syncer = Odoo(args.url, args.db, "admin", "admin")
    stop = time.monotonic() + args.seconds
    counts = {"traffic": 0, "desk_phone": 0, "manager": 0, "sync": 0, "errors": 0}
    syncs = {"succeeded": 0, "busy": 0, "failed": []}
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

    def manager_click(rng):
        member = rng.choice(members)["id"]
        method = "action_connect" if rng.random() < 0.5 else "action_disconnect"
        manager.call("axivox.queue.member", method, [member])

    def sync(rng):
        params = syncer.call("axivox.account", "action_sync_now", [account["id"]])[
            "params"
        ]
        with lock:
            if params["type"] == "success":
                syncs["succeeded"] += 1
            elif "already running" in params["message"]:
                syncs["busy"] += 1  # the cron's sync ran meanwhile: not a failure
            else:
                syncs["failed"].append(params["message"][:200])

    started = time.monotonic()
    loops = [
        (loop, "traffic", traffic, 0.7),
        (loop, "desk_phone", desk_phone, 0.15),
        (loop, "desk_phone", desk_phone, 0.15),
        (loop, "manager", manager_click, 0.4),
    ]
    if not soak.webhooks_only:
        loops.append((loop, "sync", sync, 4.0))
    with concurrent.futures.ThreadPoolExecutor(len(loops)) as pool:
        for job in [pool.submit(*spec) for spec in loops]:
            job.result()
    print(
        f"Load: {time.monotonic() - started:.1f} s; "
        + ", ".join(f"{k} {v}" for k, v in counts.items())
    )
    return counts, syncs


def settle_and_check(soak, counts, syncs):
    """Once the PBX sent everything and Odoo applied it (with a deadline), the exact
    checks of the phase."""
    args, admin, account, pbx = soak.args, soak.admin, soak.account, soak.pbx
    webhooks_only = soak.webhooks_only
    min_events = args.min_events
    if min_events is None:
        min_events = int(args.seconds * MIN_EVENTS_PER_SECOND)
    sim_control(args.sim, "POST", "faults", {})
    flushed = sim_control(args.sim, "POST", "flush", {"timeout": 60})
    check(flushed["flushed"], "the PBX sent every webhook delivery (flush)")
    events, last_cursor = feed(pbx)
    expected = {e["id"] for e in events}
    phase_events = feed(pbx, soak.start_cursor)[0]

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

    def inbox():
        return admin.call(
            "axivox.queue.event.inbox",
            "search_count",
            [["account_id", "=", account["id"]]],
        )

    # The applier applies what waits; in the healing phase the listener catches up with
    # what the webhooks dropped.
    wait_until(lambda: not inbox() and set(odoo_ids()) >= expected, 90, step=1)
    deliveries = [
        d
        for d in sim_control(args.sim, "GET", "deliveries")["deliveries"]
        if d["delivery_id"] not in soak.delivery_ids_before
    ]
    delivered = {
        d["delivery_id"]: d["event_count"]
        for d in deliveries
        if d.get("outcome") == "delivered" and not d.get("duplicate")
    }
    print(
        f"Checks (PBX feed: {len(events)} events, {len(phase_events)} in this phase, "
        f"{sum(delivered.values())} delivered by {len(delivered)} webhooks; "
        f"cursor {last_cursor}):"
    )
    check(
        len(phase_events) >= min_events
        and counts["desk_phone"] > 0
        and counts["manager"] > 0
        and (webhooks_only or counts["sync"] > 0),
        f"the load: at least {min_events} events in the phase "
        f"({len(phase_events)}), desk-phone and manager actions ran "
        f"({counts['desk_phone']}, {counts['manager']})"
        + ("" if webhooks_only else f", \"Sync now\" ran ({counts['sync']})"),
    )
    ids = odoo_ids()
    check(
        set(ids) == expected,
        f"Odoo's events are the PBX feed ({len(set(ids) - expected)} "
        f"extra, {len(expected - set(ids))} missing)",
    )
    check(len(ids) == len(set(ids)), "no event stored twice")
    waiting = inbox()
    check(not waiting, f"the applier's inbox is empty ({waiting} deliveries wait)")
    quarantined = admin.search_read(
        "axivox.queue.event.quarantine",
        [["id", ">", max(soak.quarantined_before or [0])]],
        ["pbx_event_id", "reason"],
    )
    check(
        not quarantined,
        f"no event quarantined ({len(quarantined)}: "
        f"{[(q['pbx_event_id'], q['reason'][:80]) for q in quarantined[:3]]})",
    )
    compare_states(admin, pbx, account)
    check_deliveries(deliveries, webhooks_only)
    check_syncs(admin, account, soak.before, syncs, webhooks_only)
    check(
        not counts["errors"] or counts["errors"] <= counts["manager"] // 10,
        f"the concurrent actions ran ({counts['errors']} refused)",
    )


def of_account(admin, account, model, fields, account_field="account_id"):
    """The account's records of ``model``, as ``fields``."""
    return admin.search_read(model, [[account_field, "=", account["id"]]], fields)


def compare_states(admin, pbx, account):
    """Every queue, user and member of the PBX is in Odoo and the other way round (none
    left out of the comparison), and each member's state is the PBX's."""
    users = {
        u["axivox_extension"]: u["id"]
        for u in of_account(
            admin, account, "res.users", ["axivox_extension"], "axivox_account_id"
        )
    }
    queue_rows = admin.search_read(
        "axivox.queue",
        [["account_id", "=", account["id"]], ["remote_id", "!=", False]],
        ["remote_id", "name"],
    )
    queues = {q["remote_id"]: q["id"] for q in queue_rows}
    pbx_queues = {q["id"] for q in pbx.list_queues()}
    check(
        pbx_queues == set(queues),
        f"every queue is compared: {len(pbx_queues)} on the PBX, {len(queues)} in "
        f"Odoo (only on the PBX: {sorted(pbx_queues - set(queues))}, only in Odoo: "
        f"{sorted(set(queues) - pbx_queues)})",
    )
    pbx_agents = pbx.list_agents()
    unknown = sorted({a["extension"] for a in pbx_agents} - set(users))
    check(
        not unknown,
        f"every agent of the PBX is a user in Odoo ({len(users)} users with an "
        f"extension; unknown extensions: {unknown})",
    )
    pbx_state = {
        (queues.get(a["queue_id"]), users.get(a["extension"])): a["type"] == "static"
        or bool(a["connected"])
        for a in pbx_agents
    }
    odoo_state = {
        (m["queue_id"][0], m["user_id"][0]): m["connected"]
        for m in admin.search_read(
            "axivox.queue.member",
            [["queue_id", "in", list(queues.values())]],
            ["queue_id", "user_id", "connected"],
        )
    }
    check(
        set(pbx_state) == set(odoo_state),
        f"every member is compared: {len(pbx_state)} on the PBX, {len(odoo_state)} "
        f"in Odoo ({len(set(pbx_state) ^ set(odoo_state))} in one only), "
        f"{len({user for _queue, user in pbx_state})} users",
    )
    differ = sorted(k for k in pbx_state if odoo_state.get(k) != pbx_state[k])
    check(
        not differ,
        f"every member's state is the PBX's ({len(pbx_state)} members, "
        f"{len(differ)} differ: {differ[:5]})",
    )


def check_deliveries(deliveries, webhooks_only):
    statuses = {}
    final = {}
    for d in deliveries:
        statuses[d.get("status")] = statuses.get(d.get("status"), 0) + 1
        if not d.get("duplicate"):
            final[d["delivery_id"]] = d.get("outcome")
    check(
        not statuses.get(401) and not statuses.get(400),
        f"no delivery answered 401 or 400 (statuses: {statuses})",
    )
    if webhooks_only:
        lost = sorted(k for k, outcome in final.items() if outcome != "delivered")
        check(
            not lost,
            f"every delivery was answered 2xx in the end ({len(final)} deliveries, "
            f"{len(lost)} not: {[final[k] for k in lost[:5]]})",
        )


def check_syncs(admin, account, before, syncs, webhooks_only):
    after = admin.search_read(
        "axivox.account",
        [["id", "=", account["id"]]],
        ["last_sync", "sync_state", "last_error"],
    )[0]
    if webhooks_only:
        check(
            after["last_sync"] == before["last_sync"],
            f"no sync ran during the phase (last sync {after['last_sync']})",
        )
    else:
        check(
            not syncs["failed"],
            f"every \"Sync now\" succeeded ({syncs['succeeded']} succeeded, "
            f"{syncs['busy']} found the cron's sync running, {len(syncs['failed'])} "
            f"failed: {syncs['failed'][:2]})",
        )
    check(
        after["sync_state"] == "ok" and not after["last_error"],
        f"no sync error recorded on the account (state {after['sync_state']}, "
        f"last error {after['last_error']!r})",
    )


def bus_latency(args, admin, pbx, pg, account):
    """The bus message of a member state change made on the PBX (a desk-phone login)
    reaches a websocket client through nginx: the message for that very member, sent
    after the client subscribed, within 1 s."""
    agent = next(a for a in pbx.list_agents() if a["type"] == "dynamic")
    member = admin.search_read(
        "axivox.queue.member",
        [
            ["queue_id.account_id", "=", account["id"]],
            ["queue_id.remote_id", "=", agent["queue_id"]],
            ["user_id.axivox_extension", "=", agent["extension"]],
        ],
        ["id"],
    )[0]["id"]

    def odoo_connected():
        return admin.search_read(
            "axivox.queue.member", [["id", "=", member]], ["connected"]
        )[0]["connected"]

    if agent["connected"]:
        pbx.disconnect_agent(agent["queue_id"], agent["extension"])
        if not wait_until(lambda: not odoo_connected(), 30):
            check(False, f"member {member} disconnected on the PBX shows in Odoo")
            return
    with pg.cursor() as cr:
        cr.execute("SELECT coalesce(max(id), 0) FROM bus_bus")
        last = cr.fetchone()[0]
    ws_url = args.url.replace("http://", "ws://") + "/websocket"
    cookie = "session_id=" + admin.session.cookies.get("session_id")
    ws = websocket.create_connection(
        ws_url, timeout=10, header=[f"Cookie: {cookie}"], origin=args.url
    )
    # From now on: only the messages sent after ``last`` come.
    ws.send(
        json.dumps({"event_name": "subscribe", "data": {"channels": [], "last": last}})
    )
    sent = time.monotonic()
    pbx.connect_agent(agent["queue_id"], agent["extension"])
    latency, others = None, 0
    try:
        while latency is None and time.monotonic() - sent < 5:
            ws.settimeout(max(0.1, 5 - (time.monotonic() - sent)))
            for notification in json.loads(ws.recv()):
                message = notification.get("message", {})
                payload = message.get("payload") or {}
                if (
                    notification["id"] > last
                    and message.get("type") == MEMBER_STATE
                    and payload.get("member_id") == member
                    and payload.get("connected") is True
                ):
                    latency = time.monotonic() - sent
                    break
                others += 1
    except websocket.WebSocketTimeoutException as exc:  # none came: reported below
        print(f"  (websocket: {exc})")
    ws.close()
    check(
        latency is not None and latency < 1.0,
        f"the bus message of member {member} connected on the PBX reached the "
        "websocket client through nginx within 1 s "
        f"({'none' if latency is None else f'{latency * 1000:.0f} ms'}; "
        f"{others} other messages)",
    )


if __name__ == "__main__":
    sys.exit(main())
