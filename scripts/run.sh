#!/usr/bin/env bash
# Runs the product: Odoo 17 with voip_axivox_queue and its demo data, and the PBX that
# the demo account talks to (API on 127.0.0.1:8765; it sends its signed webhooks to Odoo
# on 127.0.0.1:8069):
#   PBX=simulator (the default): the reference PBX simulator, fast, every fault on demand;
#   PBX=asterisk: a private Asterisk 22 (built once by scripts/setup_asterisk.sh) with the
#     gateway in front of it (axivox_gateway), the demo's users and queues configured in
#     it, and real callers entering the queues at a steady rate (TRAFFIC_RATE callers a
#     second, 0.05 by default; 0 for none), answered by the agents' demo devices.
#     SIP=1 (with PBX=asterisk): the agents' devices are PJSIP/<ext> endpoints instead,
#     phones in their browsers: each demo user gets a SIP password generated at start
#     (var/sip-passwords.json, 0600, handed to the gateway and set on her Odoo user) and
#     the demo account the SIP WebSocket URL of the private Asterisk; her softphone then
#     registers and dials the codes itself, and the queues' callers ring her browser.
#
# Odoo runs as in production: prefork mode (2 HTTP workers, a cron worker, the gevent
# process for the bus) behind nginx with deploy/nginx/voip_axivox_queue.conf, and the
# webhook applier (odoo-bin axivox-apply: webhooks are answered once stored and applied by
# it in batches; APPLIER=0 leaves it out, each delivery is then applied before its
# answer). nginx listens
# on HTTP_PORT; Odoo's own ports are free ports on 127.0.0.1. Odoo 17 is set up first if
# needed (scripts/setup_odoo.sh: ODOO_ARCHIVE, or ODOO_SRC + ODOO_VENV).
#
# The database, the PostgreSQL cluster and the simulator's state live in ./var (or
# $AXIVOX_VAR); delete that folder to start over. Open http://127.0.0.1:8069 and log in as
# admin/admin (manager), sofia/sofia or luca/luca (agents), claire/claire (manager).
#
# Environment: ODOO_ARCHIVE or ODOO_SRC + ODOO_VENV (scripts/setup_odoo.sh), HTTP_PORT (8069),
# SIM_PORT (8765: the simulator's or the gateway's), DB (axivox_demo), WORKERS (2),
# AXIVOX_VAR (./var), APPLIER (1), APPLIER_LOGFILE (the applier's log; default: this
# script's output), PBX (simulator), ASTERISK_ARCHIVE or ASTERISK_PREFIX
# (scripts/setup_asterisk.sh), TRAFFIC_RATE (0.05), SIP (0; 1 with PBX=asterisk).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PBX=${PBX:-simulator}
SIP=${SIP:-0}
if [ "$SIP" != 0 ] && [ "$PBX" != asterisk ]; then
    echo "SIP=1 needs PBX=asterisk (the simulator has no SIP)." >&2; exit 2
fi
case $PBX in
    simulator) ;;
    asterisk) ensure_asterisk || exit 1 ;;
    *) echo "PBX must be simulator or asterisk, not '$PBX'." >&2; exit 2 ;;
esac
ensure_system_packages nginx && ensure_odoo || exit 1
VAR=${AXIVOX_VAR:-$REPO_ROOT/var}
HTTP_PORT=${HTTP_PORT:-8069}
SIM_PORT=${SIM_PORT:-8765}
DB=${DB:-axivox_demo}
mkdir -p "$VAR"
chmod 755 "$VAR"
export ODOO_DATA_DIR="$VAR/odoo-data"

PGPORT_WANTED=${PGPORT_WANTED:-55432} pg_start "$VAR/pg"
SIM_PID= ODOO_PID= APPLIER_PID= ASTERISK_PID= TRAFFIC_PID=
stop() {
    trap - EXIT INT TERM
    nginx_stop
    for pid in $TRAFFIC_PID $APPLIER_PID $ODOO_PID $SIM_PID $ASTERISK_PID; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in $APPLIER_PID $ODOO_PID $SIM_PID $ASTERISK_PID; do
        wait "$pid" 2>/dev/null || true
    done
    rm -f "$VAR/applier.pid"
    pg_stop
}
trap stop EXIT INT TERM

addons_dir "$VAR/addons"
ADDONS="$ODOO_SRC/odoo/addons,$VAR/addons"

# The PBX's flags (the webhook secret comes later: Odoo generates it at install).
PBX_FLAGS=(--host 127.0.0.1 --port "$SIM_PORT" --api-key demo-api-key
    --webhook-url "http://127.0.0.1:$HTTP_PORT/voip_axivox_queue/webhook/demo-webhook-token"
    --data axivox_simulator/data/demo.json)
if [ "$PBX" = asterisk ]; then
    say "Asterisk 22 in $VAR/asterisk ($ASTERISK_PREFIX)"
    rm -f "$VAR/asterisk/instance.json"
    (cd "$REPO_ROOT" && exec "$ODOO_PYTHON" -m axivox_gateway.instance start \
        --dir "$VAR/asterisk" --prefix "$ASTERISK_PREFIX") &
    ASTERISK_PID=$!
    for _ in $(seq 600); do
        [ -f "$VAR/asterisk/instance.json" ] && break
        kill -0 "$ASTERISK_PID" 2>/dev/null || { echo "Asterisk did not start." >&2; exit 1; }
        sleep 0.1
    done
else
    say "PBX simulator on http://127.0.0.1:$SIM_PORT (demo data, state in $VAR/simulator-state.json)"
    (cd "$REPO_ROOT" && exec "$ODOO_PYTHON" -m axivox_simulator "${PBX_FLAGS[@]}" \
        --state "$VAR/simulator-state.json") &
    SIM_PID=$!
fi

if ! psql -d postgres -Atc "select 1 from pg_database where datname = '$DB'" | grep -q 1; then
    say "Creating database $DB with the addon and its demo data"
    odoo_bin --addons-path="$ADDONS" $(odoo_db_args) -d "$DB" -i "$ADDON" \
        --stop-after-init --no-http --log-level=warn
else
    say "Updating the addon in database $DB"
    odoo_bin --addons-path="$ADDONS" $(odoo_db_args) -d "$DB" -u "$ADDON" \
        --stop-after-init --no-http --log-level=warn
fi

# The demo account talks to this simulator, wherever it listens.
psql -q -d "$DB" -c "UPDATE axivox_account SET api_url = 'http://127.0.0.1:$SIM_PORT'
    WHERE id = (SELECT res_id FROM ir_model_data
                WHERE module = 'voip_axivox_queue' AND name = 'demo_account')"

# The demo account's webhook secret was generated at install: the PBX signs its webhooks
# with it (given through the environment, or the simulator's control API, never a command
# line).
AXIVOX_DEMO_SECRET=$(psql -d "$DB" -Atc "SELECT webhook_secret FROM axivox_account
    WHERE id = (SELECT res_id FROM ir_model_data
                WHERE module = 'voip_axivox_queue' AND name = 'demo_account')")
DEVICE_FLAGS=(--device-template 'Local/{ext}@axivox-phones')
if [ "$SIP" != 0 ]; then
    # A SIP password for each demo user, new at every start (0600, never on a command
    # line): the gateway writes their PJSIP endpoints, Odoo hands each her own.
    (umask 077; "$ODOO_PYTHON" -c 'import json, secrets, sys
users = json.load(open(sys.argv[1]))["users"]
print(json.dumps({u["extension"]: secrets.token_urlsafe(16) for u in users}))' \
        "$REPO_ROOT/axivox_simulator/data/demo.json" >"$VAR/sip-passwords.json")
    WS_URL=$("$ODOO_PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["ws_url"])' \
        "$VAR/asterisk/instance.json")
    say "Phones in the browser: SIP over WebSocket at $WS_URL, a SIP password per demo user"
    psql -q -d "$DB" <<SQL
UPDATE axivox_account SET sip_websocket_url = '$WS_URL'
 WHERE id = (SELECT res_id FROM ir_model_data
             WHERE module = 'voip_axivox_queue' AND name = 'demo_account');
UPDATE res_users u SET axivox_sip_password = p.value, axivox_sip_login = NULL
  FROM json_each_text('$(cat "$VAR/sip-passwords.json")'::json) p
 WHERE u.axivox_extension = p.key
   AND u.axivox_account_id = (SELECT res_id FROM ir_model_data
                              WHERE module = 'voip_axivox_queue' AND name = 'demo_account');
SQL
    DEVICE_FLAGS=(--device-template 'PJSIP/{ext}' --sip-passwords "$VAR/sip-passwords.json")
else
    # Back to the API's calls: no SIP account (a database of an earlier SIP=1 run).
    psql -q -d "$DB" -c "UPDATE axivox_account SET sip_websocket_url = NULL"
fi
if [ "$PBX" = asterisk ]; then
    say "The gateway on http://127.0.0.1:$SIM_PORT (state in $VAR/gateway-state.json)"
    (cd "$REPO_ROOT" && AXIVOX_WEBHOOK_SECRET=$AXIVOX_DEMO_SECRET exec "$ODOO_PYTHON" \
        -m axivox_gateway "${PBX_FLAGS[@]}" --asterisk "$VAR/asterisk" \
        "${DEVICE_FLAGS[@]}" --state "$VAR/gateway-state.json") &
    SIM_PID=$!
else
AXIVOX_DEMO_SECRET=$AXIVOX_DEMO_SECRET SIM_PORT=$SIM_PORT "$ODOO_PYTHON" - <<'PY' \
    || { echo "The PBX simulator could not be given the webhook secret." >&2; exit 1; }
import json, os, time, urllib.request
request = urllib.request.Request(
    "http://127.0.0.1:%s/api/v1/_sim/webhook" % os.environ["SIM_PORT"],
    data=json.dumps({"secret": os.environ["AXIVOX_DEMO_SECRET"]}).encode(),
    headers={"Authorization": "Bearer demo-api-key", "Content-Type": "application/json"},
    method="POST",
)
for attempt in range(60):  # the simulator may still be starting
    try:
        urllib.request.urlopen(request, timeout=5).read()
        break
    except OSError:
        if attempt == 59:
            raise
        time.sleep(0.5)
PY
fi

read -r ODOO_HTTP ODOO_GEVENT < <(free_ports 2)
# In the background, waited for: a TERM to this script stops nginx, Odoo, the simulator and
# PostgreSQL together (exec: $! is Odoo itself). Prefork mode: no two requests share a Python
# process, as in production. One database, named by -d and no --db-filter: see
# docs/deployment.md (a filter costs every request without a session a new PostgreSQL
# connection).
( exec "$ODOO_PYTHON" "$ODOO_SRC/odoo-bin" --addons-path="$ADDONS" $(odoo_db_args) -d "$DB" \
    --http-interface=127.0.0.1 --http-port="$ODOO_HTTP" \
    --gevent-port="$ODOO_GEVENT" --workers="${WORKERS:-2}" --max-cron-threads=1 --proxy-mode ) &
ODOO_PID=$!
if [ "${APPLIER:-1}" != 0 ]; then
    ( exec "$ODOO_PYTHON" "$ODOO_SRC/odoo-bin" --addons-path="$ADDONS" axivox-apply \
        $(odoo_db_args) -d "$DB" ${APPLIER_LOGFILE:+--logfile="$APPLIER_LOGFILE"} ) &
    APPLIER_PID=$!
    echo "$APPLIER_PID" >"$VAR/applier.pid"  # scripts/test.sh checks it is still alive
fi
wait_http "http://127.0.0.1:$ODOO_HTTP/web/health" 600 \
    || { echo "Odoo did not answer on port $ODOO_HTTP within 10 minutes (see its log above)." >&2; exit 1; }
wait_http "http://127.0.0.1:$ODOO_GEVENT/websocket" 120 \
    || { echo "Odoo's bus did not answer on port $ODOO_GEVENT within 2 minutes (see its log above)." >&2; exit 1; }
# nginx once Odoo and its bus answer: before, it would answer the PBX's first webhooks
# (Asterisk's members join their queues at its start) and the first websockets with 502;
# until then the PBX finds no one listening and retries, as it does while Odoo restarts.
nginx_start "$VAR/nginx" "$HTTP_PORT" "$ODOO_HTTP" "$ODOO_GEVENT" || exit 1
if [ "$PBX" = asterisk ] && [ "${TRAFFIC_RATE:-0.05}" != 0 ]; then
    say "Callers enter the queues: ${TRAFFIC_RATE:-0.05} a second (axivox_gateway.traffic)"
    (cd "$REPO_ROOT" && exec "$ODOO_PYTHON" -m axivox_gateway.traffic --asterisk "$VAR/asterisk" \
        --rate "${TRAFFIC_RATE:-0.05}" --patience 20-120 --talk 20-90) &
    TRAFFIC_PID=$!
fi
say "Odoo on http://127.0.0.1:$HTTP_PORT (database $DB; admin/admin) - Ctrl-C stops everything"
wait "$ODOO_PID"
