#!/usr/bin/env bash
# The addon's bus messages sent two ways, measured in one run on one machine, on the
# product as production runs it (Odoo in prefork mode behind nginx, with the webhook
# applier, as bench/run.sh):
#
#   own:  models/bus_messages.py of OWN_REV (2382434 by default): the rows in one
#         INSERT, the NOTIFY through a connection each process keeps;
#   odoo: models/bus_messages.py of ODOO_REV (this tree's file by default):
#         Odoo's bus API, bus.bus._sendmany.
#
# One database; for each round (BUS_ROUNDS, 3) the server is started with one variant
# then the other (own, odoo, own, odoo, ...) and bench/bus_bench.py measures the
# webhooks per second and the time from a login webhook to its member state on a
# manager's websocket, under load and quiet. Prints figures; asserts nothing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
ensure_odoo || exit 1
OWN_REV=${OWN_REV:-2382434}

WORK=$(mktemp -d /tmp/voip_axivox_queue-bus.XXXXXX)
chmod 755 "$WORK"
export ODOO_DATA_DIR=$WORK/data
SERVER_PID= APPLIER_PID=
stop_server() {
    nginx_stop
    for pid in $APPLIER_PID $SERVER_PID; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; done
    SERVER_PID= APPLIER_PID=
}
cleanup() {
    stop_server
    pg_stop
    [ -n "${KEEP:-}" ] && echo "Kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT
pg_start "$WORK/pg"

for variant in own odoo; do
    addons_dir "$WORK/$variant"
done
git -C "$REPO_ROOT" show "$OWN_REV:models/bus_messages.py" >"$WORK/own/$ADDON/models/bus_messages.py"
if [ -n "${ODOO_REV:-}" ]; then
    git -C "$REPO_ROOT" show "$ODOO_REV:models/bus_messages.py" >"$WORK/odoo/$ADDON/models/bus_messages.py"
fi
DB=bench
odoo_bin --addons-path="$ODOO_SRC/odoo/addons,$WORK/own" $(odoo_db_args) -d $DB -i "$ADDON" \
    --without-demo=all --stop-after-init --no-http --log-level=warn
read -r _ TOKEN SECRET _ _ < <(odoo_bin shell --addons-path="$ODOO_SRC/odoo/addons,$WORK/own" \
    $(odoo_db_args) -d $DB --no-http --log-level=warn < "$REPO_ROOT/bench/setup_bench.py" | grep '^BENCH ')
echo "Machine: $(nproc) cores; own: $OWN_REV, odoo: ${ODOO_REV:-this tree}"

start_server() {
    local addons="$ODOO_SRC/odoo/addons,$WORK/$1"
    ODOO_PORT=$(free_port) GEVENT_PORT=$(free_port) PORT=$(free_port)
    ( exec "$ODOO_PYTHON" "$ODOO_SRC/odoo-bin" --addons-path="$addons" $(odoo_db_args) -d $DB \
        --http-interface=127.0.0.1 --http-port="$ODOO_PORT" --gevent-port="$GEVENT_PORT" \
        --workers="${WORKERS:-2}" --proxy-mode --max-cron-threads=0 --log-level=warn \
        --logfile="$WORK/server-$1.log" ) &
    SERVER_PID=$!
    ( exec "$ODOO_PYTHON" "$ODOO_SRC/odoo-bin" --addons-path="$addons" axivox-apply \
        $(odoo_db_args) -d $DB --log-level=warn --logfile="$WORK/applier-$1.log" ) &
    APPLIER_PID=$!
    nginx_start "$WORK/nginx-$1" "$PORT" "$ODOO_PORT" "$GEVENT_PORT"
    # until Odoo answers behind nginx (nginx alone answers 502)
    for _ in $(seq 200); do
        curl -sf -o /dev/null "http://127.0.0.1:$PORT/voip_axivox_queue/ping" && return 0
        sleep 0.3
    done
    echo "Odoo did not start: $WORK/server-$1.log" >&2
    return 1
}

for round in $(seq "${BUS_ROUNDS:-3}"); do
    for variant in own odoo; do
        start_server "$variant"
        echo "round $round, $variant (load $(cut -d' ' -f1-3 /proc/loadavg))"
        "$ODOO_PYTHON" "$REPO_ROOT/bench/bus_bench.py" --url "http://127.0.0.1:$PORT" \
            --token "$TOKEN" --secret "$SECRET" --db $DB --label "$variant" \
            --requests "${BUS_REQUESTS:-1500}" | tee -a "$WORK/results" | grep -v '^RESULT'
        stop_server
    done
done
grep '^RESULT' "$WORK/results" | awk '
    { n[$2]++; rate[$2] = rate[$2] " " $3; lm[$2] = lm[$2] " " $4; lp[$2] = lp[$2] " " $5;
      qm[$2] = qm[$2] " " $6; qp[$2] = qp[$2] " " $7 }
    function med(s,   a, k, i, j, t) { k = split(s, a, " ");
        for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2 }
    END { for (v in n) printf "%s, median of %d rounds: %.1f webhooks/s; login -> panel under load %.0f ms (p95 %.0f), quiet %.0f ms (p95 %.0f)\n",
          v, n[v], med(rate[v]), med(lm[v]), med(lp[v]), med(qm[v]), med(qp[v]) }'
