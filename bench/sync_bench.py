# Run by bench/run.sh inside `odoo-bin shell`. Prints figures.
#
# A sync of 200 queues with 10, then 50 members each, against the reference simulator:
# the SQL queries of the first sync, of a sync when nothing changed (and how many rows
# it wrote), and of a sync after 20 agents logged in on the PBX. The number of queries
# must not grow with the members.
import json
import os
import tempfile
import time

from odoo.addons.voip_axivox_queue.axivox_simulator.testing import SimulatorProcess

# odoo-bin shell runs this file with ``env`` among its globals.
env = globals()["env"]

QUEUES = int(os.environ.get("BENCH_QUEUES", 200))
POOL = 250
cr = env.cr

users = env["res.users"].with_context(no_reset_password=True, tracking_disable=True)
pool = [f"{3000 + i}" for i in range(POOL)]


def pbx_data(members):
    queues = []
    for q in range(QUEUES):
        agents = [pool[(q * 7 + i) % POOL] for i in range(members)]
        queues.append(
            {
                "id": f"q{q}",
                "name": f"Queue {q}",
                "extension": str(10000 + q),
                "strategy": "ringall",
                "max_wait_time": 300,
                "max_ring_time": 20,
                "login_code": f"*{10000 + q}",
                "logout_code": f"#{10000 + q}",
                "static_agents": agents[: members // 5],
                "dynamic_agents": agents[members // 5 :],
            }
        )
    connected = [
        {"queue_id": q["id"], "extension": q["dynamic_agents"][0]} for q in queues
    ]
    return {
        "users": [
            {"extension": e, "name": f"Agent {e}", "email": f"a{e}@example.com"}
            for e in pool
        ],
        "queues": queues,
        "connected_agents": connected,
    }


def timed_sync(account):
    cr.flush()
    env.invalidate_all()
    before = cr.sql_log_count
    start = time.perf_counter()
    error = account._sync_safely()
    env.flush_all()
    elapsed = time.perf_counter() - start
    if error:
        raise SystemExit(error)
    return cr.sql_log_count - before, elapsed


def rows_written_since(moment, account):
    cr.execute(
        """SELECT (SELECT count(*) FROM axivox_queue
                    WHERE account_id = %(a)s AND write_date > %(t)s)
                + (SELECT count(*) FROM axivox_queue_member
                    WHERE account_id = %(a)s AND write_date > %(t)s)""",
        {"a": account.id, "t": moment},
    )
    return cr.fetchone()[0]


print(f"\n== Sync of {QUEUES} queues (reference simulator on 127.0.0.1)")
print("members/queue | memberships | sync     | SQL queries | seconds | rows written")
for members in (10, 50):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(pbx_data(members), fh)
    with SimulatorProcess(data=fh.name, announce_seconds=0) as sim:
        account = env["axivox.account"].create(
            {
                "name": f"Sync bench {members}",
                "api_url": sim.url,
                "api_key": sim.api_key,
            }
        )
        existing = {
            u.axivox_extension
            for u in users.search([("axivox_account_id", "=", account.id)])
        }
        users.create(
            [
                {
                    "name": f"Agent {e}",
                    "login": f"sync{members}-{e}",
                    "axivox_account_id": account.id,
                    "axivox_extension": e,
                }
                for e in pool
                if e not in existing
            ]
        )
        cr.commit()
        total = QUEUES * members
        queries, seconds = timed_sync(account)
        print(
            f"{members:13d} | {total:11d} | first    | {queries:11d} | {seconds:7.2f} |"
        )
        cr.commit()
        cr.execute("SELECT now() AT TIME ZONE 'UTC'")
        moment = cr.fetchone()[0]
        time.sleep(0.01)
        queries, seconds = timed_sync(account)
        cr.commit()
        written = rows_written_since(moment, account)
        print(
            f"{members:13d} | {total:11d} | no-op    | {queries:11d} | "
            f"{seconds:7.2f} | {written}"
        )
        client = sim.client()
        for q in range(20):
            client.connect_agent(f"q{q}", pool[(q * 7 + members - 1) % POOL])
        queries, seconds = timed_sync(account)
        cr.commit()
        print(
            f"{members:13d} | {total:11d} | 20 logins| {queries:11d} | {seconds:7.2f} |"
        )
    os.unlink(fh.name)
