# Run by bench/run.sh inside `odoo-bin shell` (``env`` is given), after 1,000,000 events were
# stored: the queue KPIs (today and the last 7 days) of every queue, as the dashboard reads
# them. Prints figures.
import time

queues = env["axivox.queue"].search([])  # noqa: F821 (env comes from odoo-bin shell)
cr = env.cr  # noqa: F821
cr.execute(
    "SELECT count(*), count(*) FILTER (WHERE event_type IN ('ADDMEMBER', 'REMOVEMEMBER')) "
    "FROM axivox_queue_event"
)
total, logins = cr.fetchone()
print(
    f"\n== Queue KPIs ({len(queues)} queues, {total:,} events stored, {logins:,} logins/logouts)"
)
for attempt in (1, 2, 3):
    env.invalidate_all()  # noqa: F821
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
