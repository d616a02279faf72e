# Run by bench/run.sh inside `odoo-bin shell`, after 1,000,000 events were stored: the
# queue KPIs (today and the last 7 days) of every queue, as the dashboard reads them.
# Prints figures. KPI_EXPLAIN=1: then the plan of each of the KPIs' queries
# (EXPLAIN (ANALYZE, BUFFERS)), as bench/kpi_baseline.sh prints them.
import os
import time

# odoo-bin shell runs this file with ``env`` among its globals.
env = globals()["env"]

queues = env["axivox.queue"].search([])
cr = env.cr
cr.execute(
    "SELECT count(*), "
    "count(*) FILTER (WHERE event_type IN ('ADDMEMBER', 'REMOVEMEMBER')) "
    "FROM axivox_queue_event"
)
total, logins = cr.fetchone()
print(
    f"\n== Queue KPIs ({len(queues)} queues, {total:,} events stored, "
    f"{logins:,} logins/logouts)"
)
for attempt in (1, 2, 3):
    env.invalidate_all()
    before = cr.sql_log_count
    start = time.perf_counter()
    values = [
        (q.kpi_today_offered, q.kpi_week_service_level, q.kpi_week_avg_agents)
        for q in queues
    ]
    elapsed = time.perf_counter() - start
    print(
        f"run {attempt}: {elapsed:.3f} s, {cr.sql_log_count - before} SQL queries "
        f"(today + last 7 days, every KPI of every queue)"
    )

if os.environ.get("KPI_EXPLAIN"):
    executed = []
    execute = cr.execute

    def record(query, params=None, log_exceptions=True):
        executed.append((query, params))
        return execute(query, params, log_exceptions)

    cr.execute = record
    env.invalidate_all()
    [q.kpi_today_offered for q in queues]
    cr.execute = execute
    for query, params in executed:
        if hasattr(query, "code"):  # odoo.tools.SQL
            query, params = query.code, query.params
        cr.execute(f"EXPLAIN (ANALYZE, BUFFERS) {query}", params)
        print("\n".join(row[0] for row in cr.fetchall()))
        print("--")
