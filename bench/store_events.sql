-- 1,000,000 stored events of the bench account (psql variables :account and
-- :company): a year of history, calls, and one event in ten an agent's login or
-- logout. Used by bench/run.sh and bench/layer_baseline.sh; the columns are those of
-- every version since the first benchmark.
INSERT INTO axivox_queue_event (account_id, company_id, queue_id, queue_remote_id, event_time,
    event_ts, event_type, call_id, caller_number, agent_extension, wait_time, pbx_event_id,
    source, agent_unmapped, create_uid, create_date, write_uid, write_date)
SELECT :account, :company, q.id, q.remote_id,
       (now() AT TIME ZONE 'UTC') - g * interval '30 seconds',
       extract(epoch from now()) - g * 30,
       CASE WHEN g % 20 = 0 THEN 'ADDMEMBER' WHEN g % 20 = 10 THEN 'REMOVEMEMBER'
            WHEN g % 3 = 0 THEN 'CONNECT' ELSE 'ENTERQUEUE' END,
       'old-call-' || g, '+32' || g, (2000 + (g / 20) % 20)::text, g % 90,
       'old-' || g, 'sync', false, 1, now(), 1, now()
  FROM generate_series(1, 1000000) g
  JOIN axivox_queue q ON q.account_id = :account AND q.remote_id = 'bench-q' || (g % 5);
ANALYZE axivox_queue_event;
