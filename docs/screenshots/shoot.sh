#!/usr/bin/env bash
# Screenshots of the product for the README and docs/: scripts/run.sh (Odoo, demo data, the
# PBX simulator) on free ports in a temporary folder, a queue call in progress for Sofia
# (a signed webhook), then docs/screenshots/shoot.py (headless Chromium, 1400x900, the demo
# users' time zone): the main screens in English (docs/screenshots/), Italian (it/) and
# French (fr/), and the softphone's states (panel*.png). Stops everything it started, also
# when a shot fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source scripts/lib.sh
ensure_odoo
VAR=$(mktemp -d /tmp/voip_axivox_queue-shots.XXXXXX)
chmod 755 "$VAR"
HTTP_PORT=$(free_port) SIM_PORT=$(free_port) PGPORT_WANTED=$(free_port)
AXIVOX_VAR=$VAR HTTP_PORT=$HTTP_PORT SIM_PORT=$SIM_PORT PGPORT_WANTED=$PGPORT_WANTED \
    bash scripts/run.sh >"$VAR/run.log" 2>&1 &
RUN_PID=$!
BG_PIDS=
# On any exit (a failed shot, Ctrl-C, a TERM): the webhook sender, then scripts/run.sh (which
# stops nginx, Odoo, the simulator and PostgreSQL), then its folder.
# (each step "|| true": under set -e a failing step would end the trap before the others)
stop() {
    trap - EXIT
    kill $BG_PIDS 2>/dev/null || true
    kill "$RUN_PID" 2>/dev/null || true
    wait "$RUN_PID" 2>/dev/null || true
    rm -rf "$VAR"
}
trap stop EXIT
trap 'exit 143' INT TERM
BASE=http://127.0.0.1:$HTTP_PORT
for _ in $(seq 600); do curl -sf "$BASE/web/login" >/dev/null && break; sleep 1; done
# The demo account's webhook secret (generated at install)
export AXIVOX_DEMO_SECRET=$(PGHOST=$VAR/pg/sock PGPORT=$PGPORT_WANTED PGUSER=odoo psql \
    -d axivox_demo -Atc "SELECT webhook_secret FROM axivox_account WHERE webhook_token = 'demo-webhook-token'")
"$ODOO_PYTHON" - "$BASE" <<'PY'
import json, os, sys, time, datetime, requests
from axivox_api import signature
now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=4)
stamp = now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
base = sys.argv[1]
# A contact for the caller card (the caller of the call in progress) and its company.
rpc = requests.Session()
rpc.post(base + "/web/session/authenticate", json={"params": {"db": "axivox_demo",
    "login": "admin", "password": "admin"}}, timeout=60).raise_for_status()
def create(model, vals):
    r = rpc.post(base + "/web/dataset/call_kw", json={"params": {"model": model,
        "method": "create", "args": [vals], "kwargs": {}}}, timeout=60).json()
    return r["result"]
company = create("res.partner", {"name": "Dubois & Fils", "is_company": True})
create("res.partner", {"name": "Alice Dubois", "phone": "+32 2 555 01 00",
    "parent_id": company})
def at(minutes):
    moment = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=minutes)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")
events = [{"id": "shot-connect-1", "type": "CONNECT", "queue_id": "sales",
    "timestamp": stamp, "call_id": "shot.1", "caller_number": "+3225550100",
    "agent_extension": "102", "agent_name": "Sofia Rossi", "wait_time": 12}]
# Callers who hung up before an agent answered: the callbacks.
for n, (number, queue, waited) in enumerate([("+3225557777", "sales", 95),
        ("+33145550123", "support", 240), ("+390212345678", "sales", 61)]):
    events += [{"id": "shot-enter-%d" % n, "type": "ENTERQUEUE", "queue_id": queue,
                "timestamp": at(30 + 9 * n), "call_id": "shot.a%d" % n,
                "caller_number": number},
               {"id": "shot-abandon-%d" % n, "type": "ABANDON", "queue_id": queue,
                "timestamp": at(30 + 9 * n - waited / 60), "call_id": "shot.a%d" % n,
                "caller_number": number, "wait_time": waited}]
body = json.dumps({"events": events}).encode()
headers = signature.signed_headers(os.environ["AXIVOX_DEMO_SECRET"], body)
headers["Content-Type"] = "application/json"
r = requests.post(base + "/voip_axivox_queue/webhook/demo-webhook-token", data=body,
                  headers=headers, timeout=30)
print("webhook", r.status_code, r.text[:200])
PY
OUT=${SHOOT_OUT:-docs/screenshots}   # SHOOT_SIZE=1920x1080 SHOOT_OUT=/tmp/x: another size, elsewhere
SALES=$(PGHOST=$VAR/pg/sock PGPORT=$PGPORT_WANTED PGUSER=odoo psql -d axivox_demo -Atc \
    "SELECT res_id FROM ir_model_data WHERE module='voip_axivox_queue' AND name='demo_queue_sales'" || true)
A="/web#action=voip_axivox_queue"
TOGGLE=.o_axivox_softphone_toggle
KEY=".o_axivox_dial_key[data-key"
sql() { PGHOST=$VAR/pg/sock PGPORT=$PGPORT_WANTED PGUSER=odoo psql -q -d axivox_demo -c "$1"; }
# lang CODE: admin's and Sofia's language (installed first).
lang() {
    "$ODOO_PYTHON" - "$BASE" "$1" <<'PY'
import sys, requests
base, lang = sys.argv[1:]
rpc = requests.Session()
rpc.post(base + "/web/session/authenticate", json={"params": {"db": "axivox_demo",
    "login": "admin", "password": "admin"}}, timeout=60).raise_for_status()
def call(model, method, args, kwargs=None):
    r = rpc.post(base + "/web/dataset/call_kw", json={"params": {"model": model,
        "method": method, "args": args, "kwargs": kwargs or {}}}, timeout=600).json()
    if r.get("error"):
        raise RuntimeError(r["error"])
    return r["result"]
ids = call("res.lang", "search", [[("code", "=", lang), ("active", "in", [True, False])]])
if lang != "en_US":
    wizard = call("base.language.install", "create", [{"lang_ids": [(6, 0, ids)]}])
    call("base.language.install", "lang_install", [[wizard]])
users = call("res.users", "search", [[("login", "in", ["admin", "sofia"])]])
call("res.users", "write", [users, {"lang": lang}])
print("language", lang)
PY
}
# main DIR: the main screens, as a manager and as an agent.
main() {
    mkdir -p "$1"
    "$ODOO_PYTHON" docs/screenshots/shoot.py "$BASE" admin admin "$1" \
        "dashboard=$A.axivox_queue_action&view_type=list@.o_axivox_agent_on_call" \
        "queue_form=$A.axivox_queue_action&model=axivox.queue&view_type=form&id=${SALES:-1}@.o_form_view .o_notebook" \
        "report_page=$A.axivox_queue_report_page_action@.o_axivox_report_row" \
        "wallboard=$A.axivox_wallboard_action@.o_axivox_wallboard_queue" \
        "callbacks=$A.axivox_callback_action@.o_data_row" \
        "agent_days=$A.axivox_agent_day_report_action&view_type=list@.o_data_row" \
        "agent_days_pivot=$A.axivox_agent_day_report_action&view_type=pivot@.o_pivot_cell_value"
    "$ODOO_PYTHON" docs/screenshots/shoot.py "$BASE" sofia sofia "$1" \
        "softphone=/web@.o_axivox_queue_codes@$TOGGLE"
}
main "$OUT"
# The softphone's states (English): the systray, the panel, a call from the pad, a code
# the PBX refuses, folded, its dial pad and callbacks folded (last: the browser remembers
# the folded sections); the PBX out of reach (the account's API address made wrong).
"$ODOO_PYTHON" docs/screenshots/shoot.py "$BASE" sofia sofia "$OUT" \
    "systray=/web@$TOGGLE@@.o_menu_systray" \
    "panel=/web@.o_axivox_queue_codes@$TOGGLE@.o_axivox_softphone_panel" \
    "panel_call=/web@.o_axivox_call_status@$TOGGLE|$KEY='0']|$KEY='4']|$KEY='7']|$KEY='5']|$KEY='1']|$KEY='2']|$KEY='3']|.o_axivox_dial_call@.o_axivox_softphone_panel" \
    "panel_refused=/web@.o_axivox_softphone_feedback@$TOGGLE|$KEY='*']|$KEY='6']|$KEY='1']|$KEY='0']|.o_axivox_dial_call@.o_axivox_softphone_panel" \
    "panel_folded=/web@.o_axivox_softphone_folded@$TOGGLE|.o_axivox_softphone_fold@.o_axivox_softphone_panel" \
    "panel_sections=/web@.o_axivox_queue_codes@$TOGGLE|.o_axivox_dial_title|.o_axivox_callback_title@.o_axivox_softphone_panel"
DEMO_ACCOUNT="id = (SELECT res_id FROM ir_model_data
    WHERE module = 'voip_axivox_queue' AND name = 'demo_account')"
API_URL=$(PGHOST=$VAR/pg/sock PGPORT=$PGPORT_WANTED PGUSER=odoo psql -d axivox_demo -Atc \
    "SELECT api_url FROM axivox_account WHERE $DEMO_ACCOUNT")
sql "UPDATE axivox_account SET api_url = 'http://127.0.0.1:9' WHERE $DEMO_ACCOUNT"
"$ODOO_PYTHON" docs/screenshots/shoot.py "$BASE" sofia sofia "$OUT" \
    "panel_pbx_unreachable=/web@.o_axivox_queue_error@$TOGGLE|.o_axivox_queue_connect@.o_axivox_softphone_panel"
sql "UPDATE axivox_account SET api_url = '$API_URL' WHERE $DEMO_ACCOUNT"
# Italian and French.
for code in it_IT fr_FR; do
    lang "$code"
    main "$OUT/${code%_*}"
done
lang en_US
# The caller card comes with the bus, live: a queue caller (the contact made above) is
# connected to Sofia while her softphone is open.
(sleep 12 && "$ODOO_PYTHON" - "$BASE" <<'PY'
import datetime, json, os, sys, requests
from axivox_api import signature
stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
body = json.dumps({"events": [{"id": "shot-connect-2", "type": "CONNECT", "queue_id": "sales",
    "timestamp": stamp, "call_id": "shot.2", "caller_number": "+3225550100",
    "agent_extension": "102", "agent_name": "Sofia Rossi", "wait_time": 8}]}).encode()
headers = dict(signature.signed_headers(os.environ["AXIVOX_DEMO_SECRET"], body),
               **{"Content-Type": "application/json"})
r = requests.post(sys.argv[1] + "/voip_axivox_queue/webhook/demo-webhook-token", data=body,
                  headers=headers, timeout=30)
print("webhook", r.status_code, r.text[:200])
PY
) &
BG_PIDS=$!
"$ODOO_PYTHON" docs/screenshots/shoot.py "$BASE" sofia sofia "$OUT" \
    "caller_card=/web@.o_axivox_caller_card .o_axivox_caller_name@.o_axivox_softphone_toggle"
wait $BG_PIDS   # the webhook sender only (a bare wait would wait for scripts/run.sh too)
# Last (it changes the demo): Sofia connects to Billing; the PBX's event shows it.
"$ODOO_PYTHON" docs/screenshots/shoot.py "$BASE" sofia sofia "$OUT" \
    "panel_connected=/web@.o_axivox_queue_connected ~ .o_axivox_queue_connected@$TOGGLE|.o_axivox_queue_connect@.o_axivox_softphone_panel"
