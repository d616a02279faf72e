# Run by bench/run.sh inside `odoo-bin shell`, after 1,000,000 events were
# stored. Prints figures; asserts nothing.
#
#   1. a 1,000-event batch through the ingestion with the contact-centre layer (callers
#      matched to 1,000 contacts, callbacks, agent sessions, caller cards, wallboard
#      notifications) and without it (the same ingestion, the layer switched off in this
#      process): wall time and SQL queries, alternated runs, each rolled back;
#   2. the wallboard's data for 200 queues: SQL queries and time;
#   3. the agent sessions of the stored year (rebuilt as on install), then the report
#      per agent and day over that year: list, pivot and graph reads.
import contextlib
import os
import statistics
import time
import uuid
from datetime import datetime, timedelta, timezone

from odoo.addons.voip_axivox_queue.axivox_api.events import validate_batch

# odoo-bin shell runs this file with ``env`` among its globals.
env = globals()["env"]

cr = env.cr
Event = env["axivox.queue.event"]
Intake = env["axivox.event.intake"] if "axivox.event.intake" in env else None
# How a batch enters Odoo (bench/layer_baseline.sh runs this file on older versions too,
# where it was axivox.queue.event._ingest).
apply_batch = Intake._apply if Intake is not None else Event._ingest
account = env["axivox.account"].search([("name", "=", "Bench PBX")], limit=1)
env.company.country_id = env.ref("base.be")
RUN = uuid.uuid4().hex[:6]
AGENTS = [str(2000 + i) for i in range(20)]

# 1,000 contacts whose numbers are those of the batch's callers (national format: the
# matching normalizes them).
partners = env["res.partner"].search([("name", "=like", "Bench caller %")])
if not partners:
    env["res.partner"].create(
        [{"name": f"Bench caller {i}", "phone": f"02 5{i:06d}"} for i in range(1000)]
    )
    cr.commit()


def batch(tag, n=1000):
    """1,000 events: queue calls (a quarter abandoned), and one event in ten a login or
    logout; callers are the contacts' numbers."""
    now = datetime.now(timezone.utc)
    events = []
    for i in range(n):
        kind = ("ENTERQUEUE", "CONNECT", "COMPLETECALLER", "ABANDON")[i % 4]
        if i % 10 == 9:
            kind = "ADDMEMBER" if (i // 10) % 2 else "REMOVEMEMBER"
        moment = now - timedelta(seconds=(n - i))
        event = {
            "id": f"ccb-{RUN}-{tag}-{i}",
            "type": kind,
            "queue_id": f"bench-q{i % 5}",
            "timestamp": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{i % 1000:03d}Z",
            "call_id": f"ccb-{RUN}-{tag}-{i // 4}",
            # half of the callers are contacts (numbers of the contacts 0..999)
            "caller_number": f"+3225{(i // 4) * 8 % 2000:06d}",
        }
        if kind in ("CONNECT", "COMPLETECALLER", "ADDMEMBER", "REMOVEMEMBER"):
            event["agent_extension"] = AGENTS[i % len(AGENTS)]
        if kind in ("ADDMEMBER", "REMOVEMEMBER"):
            event.pop("call_id")
            event.pop("caller_number")
            event["member_type"] = "dynamic"
        if kind == "CONNECT":
            event.update(wait_time=i % 60, ring_time=i % 20)
        if kind == "COMPLETECALLER":
            event.update(wait_time=i % 60, talk_time=i % 600)
        if kind == "ABANDON":
            event.update(wait_time=i % 90)
        events.append(event)
    return validate_batch({"events": events})


@contextlib.contextmanager
def layer_switched_off():
    """The ingestion as it was before the contact-centre layer (no caller matching,
    callbacks, sessions, report, caller cards nor wallboard notifications), in this
    process only: the caller matching and what is read before the lock replaced by
    steps that do nothing, and only the members' layers reacting to new events."""
    patches = [
        (type(Event), "_match_callers", lambda self, *args: {}),
        (type(Event), "_read_before_lock", lambda self, *args: None),
        (
            type(Intake),
            "_REACTIONS",
            tuple(r for r in Intake._REACTIONS if r[0] == "axivox.queue.member"),
        ),
    ]
    saved = [(cls, name, cls.__dict__.get(name)) for cls, name, _step in patches]
    for cls, name, step in patches:
        setattr(cls, name, step)
    try:
        yield
    finally:
        for cls, name, step in saved:
            if step is None:
                delattr(cls, name)
            else:
                setattr(cls, name, step)


def ingest(events, layer):
    cr.execute("SAVEPOINT ccb")
    try:
        env.invalidate_all()
        with contextlib.nullcontext() if layer else layer_switched_off():
            before = cr.sql_log_count
            start = time.perf_counter()
            apply_batch(account, events, "webhook")
            elapsed = time.perf_counter() - start
            queries = cr.sql_log_count - before
    finally:
        cr.execute("ROLLBACK TO SAVEPOINT ccb")
        env.invalidate_all()
    return elapsed, queries


if os.environ.get("BENCH_INGEST_ONLY"):
    # bench/layer_baseline.sh: only this batch's ingestion (the layer on, when the
    # version has one), 10 runs; this file then stops here.
    runs = [ingest(batch(f"only{attempt}"), True)[0] for attempt in range(10)]
    print(
        f"INGEST median {statistics.median(runs):.3f} best {min(runs):.3f} runs "
        + " ".join(f"{t:.3f}" for t in runs)
    )
    raise SystemExit(0)

cr.execute("SELECT count(*) FROM axivox_queue_event")
print(
    "\n== Contact-centre layer: ingestion of a 1,000-event batch "
    f"({cr.fetchone()[0]:,} events stored)"
)
matched = batch("probe")
cr.execute("SAVEPOINT probe")
apply_batch(account, matched, "webhook")
cr.execute(
    "SELECT count(*) FILTER (WHERE partner_id IS NOT NULL), count(caller_e164) "
    "FROM axivox_queue_event WHERE pbx_event_id LIKE %s",
    [f"ccb-{RUN}-probe-%"],
)
linked, numbered = cr.fetchone()
cr.execute(
    "SELECT count(*) FROM axivox_callback WHERE last_call_id LIKE %s",
    [f"ccb-{RUN}-probe-%"],
)
callbacks = cr.fetchone()[0]
cr.execute("ROLLBACK TO SAVEPOINT probe")
env.invalidate_all()
print(
    f"(the batch: {numbered} events with a caller, {linked} matched to a contact, "
    f"{callbacks} callbacks opened, 100 logins/logouts)"
)
times = {True: [], False: []}
queries = {}
for attempt in range(10):
    for layer in (False, True) if attempt % 2 else (True, False):
        elapsed, count = ingest(batch(f"{attempt}{int(layer)}"), layer)
        times[layer].append(elapsed)
        queries[layer] = count
for layer, label in ((False, "without the layer"), (True, "with the layer")):
    print(
        f"{label:>18}: median {statistics.median(times[layer]):.3f} s, "
        f"best {min(times[layer]):.3f} s "
        f"(runs: {', '.join(f'{t:.3f}' for t in times[layer])}), "
        f"{queries[layer]} SQL queries"
    )
ratio = statistics.median(times[True]) / statistics.median(times[False])
best = min(times[True]) / min(times[False])
print(
    f"{'with / without':>18}: {ratio:.2f} (medians), {best:.2f} (best runs) "
    f"(target: within 20 %, i.e. at most 1.20)"
)
cr.execute("SELECT round(avg(x)::numeric, 2) FROM (SELECT 1 AS x) s")
print(
    f"{'machine load':>18}: {open('/proc/loadavg').read().split()[0]} (1 min average, "
    f"2 cores)"
)

print("\n== Wallboard data, 200 queues")
Queue = env["axivox.queue"].with_context(axivox_no_pending_change=True)
have = Queue.search_count([("account_id", "=", account.id)])
if have < 200:
    Queue.create(
        [
            {
                "name": f"Wallboard {q}",
                "account_id": account.id,
                "remote_id": f"wb-q{q}",
                "extension": str(20000 + q),
                "login_code": f"*2{q:04d}",
                "logout_code": f"#2{q:04d}",
            }
            for q in range(200 - have)
        ]
    )
    cr.commit()
admin = env.ref("base.user_admin")
for attempt in (1, 2, 3):
    env.invalidate_all()
    before = cr.sql_log_count
    start = time.perf_counter()
    # As the web client calls it: with the user's time zone in the context.
    data = (
        Queue.with_user(admin)
        .with_context(tz="Europe/Brussels")
        .axivox_wallboard_data()
    )
    elapsed = time.perf_counter() - start
    print(
        f"run {attempt}: {len(data['queues'])} queues, {(elapsed * 1000):.0f} ms, "
        f"{cr.sql_log_count - before} SQL queries"
    )

print("\n== Agent sessions over the stored year, and the report per agent and day")
cr.execute(
    """UPDATE axivox_queue_event e SET agent_user_id = u.id FROM res_users u
               WHERE u.axivox_account_id = %s AND u.axivox_extension = e.agent_extension
                 AND e.agent_user_id IS NULL""",
    [account.id],
)
cr.execute("ANALYZE axivox_queue_event")
start = time.perf_counter()
env["axivox.agent.session"]._rebuild_all()
cr.commit()
cr.execute(
    "SELECT count(*), min(start_time), max(start_time) FROM axivox_agent_session"
)
count, first, last = cr.fetchone()
cr.execute("SELECT count(*) FROM axivox_agent_day_report")
print(
    f"rebuilt from the stored events (as on install): {count:,} sessions "
    f"({first:%Y-%m-%d} to {last:%Y-%m-%d}) and {cr.fetchone()[0]:,} report rows "
    f"in {time.perf_counter() - start:.1f} s"
)
cr.execute("ANALYZE axivox_agent_session")
cr.execute("ANALYZE axivox_agent_day_report")
Report = env["axivox.agent.day.report"].with_user(admin)
year = [("day", ">=", (datetime.now() - timedelta(days=366)).date())]
for label, read in (
    (
        "list (first 80 rows, and the count)",
        lambda: (
            Report.search(year, limit=80).read(["day", "user_id", "logged_hours"]),
            Report.search_count(year),
        ),
    ),
    (
        "pivot (agents x weeks)",
        lambda: Report.read_group(
            year,
            ["logged_hours:sum", "answered:sum", "missed:sum"],
            ["user_id", "day:week"],
            lazy=False,
        ),
    ),
    (
        "graph (days)",
        lambda: Report.read_group(year, ["answered:sum"], ["day:day"], lazy=False),
    ),
):
    for attempt in (1, 2):
        env.invalidate_all()
        before = cr.sql_log_count
        start = time.perf_counter()
        read()
        print(
            f"{label}, run {attempt}: {time.perf_counter() - start:.3f} s, "
            f"{cr.sql_log_count - before} SQL queries"
        )
start = time.perf_counter()
env["axivox.agent.day.report"].with_user(admin).action_open_report()
print(
    f"opening the report (the days of the open sessions brought up to now): "
    f"{time.perf_counter() - start:.3f} s"
)
