#!/usr/bin/env bash
# Benchmarks of voip_axivox_queue (docs/benchmarks.md). Prints figures, asserts nothing.
#
#   bench/run.sh            webhook ingestion (vs a trivial route), batches, the same with
#                           1,000,000 events stored, the sync of 200 queues, and the
#                           contact-centre layer (ingestion with / without it, wallboard of
#                           200 queues, agent sessions report over a year)
#   CONTACT_CENTRE_ONLY=1 bench/run.sh   only the 1,000,000 events and the contact-centre part
#   WEBHOOK_ONLY=1 bench/run.sh   the webhook figures only (empty report)
#
# The webhooks are measured in production mode: Odoo in prefork mode (WORKERS=2) behind
# nginx, as scripts/run.sh runs it.
#
# Needs Odoo 17 (ODOO_SRC, ODOO_VENV, see scripts/lib.sh). Starts its own PostgreSQL
# cluster and Odoo server in a temporary folder, on loopback only.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
ensure_odoo || exit 1

WORK=$(mktemp -d /tmp/voip_axivox_queue-bench.XXXXXX)
chmod 755 "$WORK"
SERVER_PID= APPLIER_PID=
cleanup() {
    for pid in $APPLIER_PID $SERVER_PID; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; done
    pg_stop
    [ -n "${KEEP:-}" ] && echo "Kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT

pg_start "$WORK/pg"
addons_dir "$WORK/addons"
ADDONS="$ODOO_SRC/odoo/addons,$WORK/addons"
DB=bench
echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; Odoo $("$ODOO_PYTHON" -c 'import sys; sys.path.insert(0, sys.argv[1]); import odoo.release as r; print(r.version)' "$ODOO_SRC")"
odoo_bin --addons-path="$ADDONS" $(odoo_db_args) -d $DB -i "$ADDON" --without-demo=all \
    --stop-after-init --no-http --log-level=warn
read -r _ TOKEN SECRET ACCOUNT COMPANY < <(odoo_bin shell --addons-path="$ADDONS" $(odoo_db_args) \
    -d $DB --no-http --log-level=warn < "$REPO_ROOT/bench/setup_bench.py" | grep '^BENCH ')

# Production mode: Odoo in prefork mode (WORKERS HTTP workers, 2 by default, and the gevent
# process) behind nginx with deploy/nginx/voip_axivox_queue.conf; every request goes through
# nginx, the trivial route as the webhooks.
ODOO_PORT=$(free_port) GEVENT_PORT=$(free_port) PORT=$(free_port)
# exec: $! is Odoo itself (a backgrounded shell function would leave it running on exit)
# One database, as docs/deployment.md says (-d, no --db-filter); DB_FILTER=1 adds the filter,
# with which Odoo opens a new PostgreSQL connection for every request without a session.
( exec "$ODOO_PYTHON" "$ODOO_SRC/odoo-bin" --addons-path="$ADDONS" $(odoo_db_args) -d $DB \
    ${DB_FILTER:+--db-filter="^$DB\$"} --http-interface=127.0.0.1 --http-port="$ODOO_PORT" \
    --gevent-port="$GEVENT_PORT" --workers="${WORKERS:-2}" --proxy-mode \
    --max-cron-threads=0 --log-level=info --logfile="$WORK/server.log" ) &
SERVER_PID=$!
# The webhook applier, as in production (docs/deployment.md): deliveries are answered once
# stored, and applied by it in batches. APPLIER=0 measures each delivery applied before its
# answer.
if [ "${APPLIER:-1}" != 0 ]; then
    ( exec "$ODOO_PYTHON" "$ODOO_SRC/odoo-bin" --addons-path="$ADDONS" axivox-apply \
        $(odoo_db_args) -d $DB --log-level=info --logfile="$WORK/applier.log" ) &
    APPLIER_PID=$!
fi
nginx_start "$WORK/nginx" "$PORT" "$ODOO_PORT" "$GEVENT_PORT"
trap 'nginx_stop; cleanup' EXIT
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$PORT/voip_axivox_queue/ping" >/dev/null && break
    sleep 0.3
done
echo "Odoo in prefork mode: ${WORKERS:-2} HTTP workers, behind nginx on port $PORT, $([ -n "${DB_FILTER:-}" ] && echo with || echo without) --db-filter, $([ -n "$APPLIER_PID" ] && echo "with the webhook applier (axivox-apply)" || echo "without the webhook applier (APPLIER=0)")"

BENCH=("$ODOO_PYTHON" "$REPO_ROOT/bench/webhook_bench.py" --url "http://127.0.0.1:$PORT"
       --token "$TOKEN" --secret "$SECRET" --log "$WORK/server.log" --db $DB)
[ -n "${CONTACT_CENTRE_ONLY:-}" ] || "${BENCH[@]}" --label "(empty report)"
[ -z "${WEBHOOK_ONLY:-}" ] || exit 0

echo
echo "Storing 1,000,000 more events..."
start=$(date +%s)
psql -q -d $DB -v account="$ACCOUNT" -v company="$COMPANY" -f "$REPO_ROOT/bench/store_events.sql"
echo "  done in $(( $(date +%s) - start )) s; events stored: $(psql -Atd $DB -c 'select count(*) from axivox_queue_event')"
if [ -z "${CONTACT_CENTRE_ONLY:-}" ]; then
"${BENCH[@]}" --label "(1,000,000 events stored)"

echo
odoo_bin shell --addons-path="$ADDONS" $(odoo_db_args) -d $DB --no-http --log-level=warn \
    < "$REPO_ROOT/bench/kpi_bench.py"

echo
odoo_bin shell --addons-path="$ADDONS" $(odoo_db_args) -d $DB --no-http --log-level=warn \
    < "$REPO_ROOT/bench/sync_bench.py"
fi

echo
odoo_bin shell --addons-path="$ADDONS" $(odoo_db_args) -d $DB --no-http --log-level=warn \
    < "$REPO_ROOT/bench/contact_centre_bench.py"
