#!/usr/bin/env bash
# Figures of the product on a real Asterisk. Prints figures, asserts nothing.
#
#   bench/asterisk_bench.sh          Asterisk's build from the cache; the product as
#                                    PBX=asterisk scripts/run.sh runs it (prefork Odoo
#                                    behind nginx, the webhook applier, the gateway, a
#                                    private Asterisk); CALLS real calls (200) through
#                                    scripts/asterisk_check.py: a queue_log line -> its
#                                    event in Odoo -> the member state on a manager's
#                                    websocket (median, p95); the gateway's CPU time per
#                                    1,000 events
#   COLD=1 bench/asterisk_bench.sh   also a cold build of Asterisk, in a cache of its own
#
# Needs Odoo 17 and Asterisk as scripts/run.sh does (scripts/setup_odoo.sh,
# scripts/setup_asterisk.sh). Everything runs in a temporary folder, on loopback only.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
ensure_odoo || exit 1

WORK=$(mktemp -d /tmp/voip_axivox_queue-asterisk-bench.XXXXXX)
chmod 755 "$WORK"
RUN_PID=
cleanup() {
    [ -z "$RUN_PID" ] || { kill -TERM -- "-$RUN_PID" 2>/dev/null; wait "$RUN_PID" 2>/dev/null || true; }
    [ -n "${KEEP:-}" ] && echo "Kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT
echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB"

if [ -n "${COLD:-}" ]; then
    start=$(date +%s)
    ( AXIVOX_CACHE="$WORK/cold-cache" ASTERISK_PREFIX= ensure_asterisk ) >"$WORK/cold.log" 2>&1 \
        || { tail -20 "$WORK/cold.log"; exit 1; }
    echo "Asterisk build, cold (configure, make -j$(nproc), install): $(( $(date +%s) - start )) s"
    du -sh "$WORK"/cold-cache/asterisk-*[0-9a-f] | awk '{print "Asterisk install size: " $1}'
    rm -rf "$WORK/cold-cache"
fi
start=$(date +%s%N)
ensure_asterisk >/dev/null || exit 1
echo "Asterisk build, from the cache: $(( ($(date +%s%N) - start) / 1000000 )) ms ($ASTERISK_PREFIX)"

read -r HTTP GW PG < <(free_ports 3)
VAR="$WORK/product"
AXIVOX_VAR="$VAR" PBX=asterisk TRAFFIC_RATE=0 HTTP_PORT=$HTTP SIM_PORT=$GW PGPORT_WANTED=$PG \
    setsid bash "$REPO_ROOT/scripts/run.sh" >"$WORK/product.log" 2>&1 &
RUN_PID=$!
for _ in $(seq 900); do
    grep -q "Odoo on http" "$WORK/product.log" && break
    kill -0 "$RUN_PID" 2>/dev/null || { tail -20 "$WORK/product.log"; exit 1; }
    sleep 1
done
GATEWAY_PID=$(pgrep -f -- "-m axivox_gateway .*--port $GW" | head -1)
cpu() { awk '{print $14 + $15}' "/proc/$GATEWAY_PID/stat"; }
before=$(cpu)
PGHOST="$VAR/pg/sock" PGPORT=$PG PGUSER=odoo "$ODOO_PYTHON" "$REPO_ROOT/scripts/asterisk_check.py" \
    --url "http://127.0.0.1:$HTTP" --pbx "http://127.0.0.1:$GW" --asterisk "$VAR/asterisk" \
    --db axivox_demo --calls "${CALLS:-200}" | tee "$WORK/check.log"
after=$(cpu)
# The run's events: the figure line "line -> event stored in Odoo: ... (N events)".
events=$(grep -E 'line -> event stored in Odoo' "$WORK/check.log" | grep -oE '\(([0-9]+) events\)' \
    | grep -oE '[0-9]+' || echo 0)
ticks=$(getconf CLK_TCK)
python3 - "$before" "$after" "$ticks" "$events" <<'PY'
import sys
before, after, ticks, events = (float(x) for x in sys.argv[1:])
seconds = (after - before) / ticks
print(f"The gateway's CPU time during the run: {seconds:.2f} s for {events:.0f} queue_log "
      f"events (all its work: AMI, queue_log, webhooks, API): "
      f"{seconds / events * 1000:.2f} s per 1,000 events" if events else "no event")
PY
