# Shared helpers for scripts/run.sh and scripts/test.sh (sourced, not executed).
#
# Odoo 17 comes from scripts/setup_odoo.sh (`ensure_odoo`): an existing one at ODOO_SRC /
# ODOO_VENV, or one the project installs from ODOO_ARCHIVE into ~/.cache/voip_axivox_queue.
# PostgreSQL comes from the machine (initdb, pg_ctl); every run starts its own cluster.

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$REPO_ROOT/scripts/setup_odoo.sh"
source "$REPO_ROOT/scripts/setup_asterisk.sh"
ADDON=voip_axivox_queue

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
loud() {
    printf '\n\033[1;33m%s\n!!! %s\n%s\033[0m\n\n' \
        "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" "$*" \
        "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
}

# A Python for the tests that need no Odoo: the Odoo venv when there is one, else python3.
plain_python() {
    if [ -x "${ODOO_PYTHON:-}" ]; then echo "$ODOO_PYTHON"; else command -v python3; fi
}

free_port() { free_ports 1; }

# free_ports N: N distinct free TCP ports on 127.0.0.1, on one line.
free_ports() {
    python3 - "$1" <<'PY'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
PY
}

# pg_start DIR: a private PostgreSQL cluster in DIR, listening on a Unix socket only.
# Sets PGHOST (the socket folder), PGPORT and PGUSER=odoo for the callers.
pg_start() {
    local dir=$1 bindir=/usr/lib/postgresql/15/bin
    [ -x "$bindir/initdb" ] || bindir=$(dirname "$(readlink -f "$(command -v initdb)")")
    mkdir -p "$dir/sock"
    PGHOST="$dir/sock"; PGPORT=${PGPORT_WANTED:-$(free_port)}; PGUSER=odoo
    export PGHOST PGPORT PGUSER
    local as=()
    if [ "$(id -u)" = 0 ]; then
        # initdb refuses root: the cluster belongs to the postgres account (or nobody).
        local owner=postgres
        id "$owner" >/dev/null 2>&1 || owner=nobody
        chown -R "$owner" "$dir"
        chmod 711 "$dir"
        as=(runuser -u "$owner" --)
    fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        "${as[@]}" "$bindir/initdb" -D "$dir/data" -U odoo --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log"; return 1; }
    fi
    "${as[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -o \
        "-k $dir/sock -p $PGPORT -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >/dev/null || { cat "$dir/postgres.log"; return 1; }
    PG_DIR=$dir
    PG_AS=("${as[@]}")
    PG_BINDIR=$bindir
}

pg_stop() {
    [ -n "${PG_DIR:-}" ] || return 0
    "${PG_AS[@]}" "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    PG_DIR=
}

# work_dir NAME: WORK, a private temporary folder (/tmp/voip_axivox_queue-NAME.XXXXXX) with
# Odoo's data folder in it; at exit the PostgreSQL cluster started in it is stopped and the
# folder removed (kept with KEEP=1).
work_dir() {
    WORK=$(mktemp -d "/tmp/voip_axivox_queue-$1.XXXXXX")
    chmod 755 "$WORK"
    export ODOO_DATA_DIR="$WORK/odoo-data"
    trap work_dir_cleanup EXIT
}
work_dir_cleanup() {
    pg_stop
    if [ -n "${KEEP:-}" ]; then echo "Kept $WORK"; else rm -rf "$WORK"; fi
}

# addons_dir DIR: an addons folder in which this repository is named voip_axivox_queue
# (Odoo and pytest-odoo name an addon after its folder; a clone may be called anything).
addons_dir() {
    local dir=$1
    mkdir -p "$dir"
    rm -rf "${dir:?}/$ADDON"
    # A copy, not a symlink: pytest-odoo resolves links and would see the clone's own name.
    (cd "$REPO_ROOT" && tar --exclude=.git --exclude=var --exclude=__pycache__ -cf - .) \
        | (mkdir -p "$dir/$ADDON" && cd "$dir/$ADDON" && tar -xf -)
}

odoo_bin() {
    "$ODOO_PYTHON" "$ODOO_SRC/odoo-bin" "$@"
}

# The database and, when ODOO_DATA_DIR is set, Odoo's own data folder (filestore, sessions):
# each run keeps its own, so that two runs never delete each other's assets.
odoo_db_args() {
    echo "--db_host=$PGHOST --db_port=$PGPORT --db_user=odoo${ODOO_DATA_DIR:+ --data-dir=$ODOO_DATA_DIR}"
}

# nginx_start DIR LISTEN_PORT ODOO_PORT GEVENT_PORT: nginx in front of Odoo's prefork workers,
# with deploy/nginx/voip_axivox_queue.conf (the file administrators install) and only its
# three ports rewritten; everything nginx writes stays in DIR.
nginx_start() {
    local dir=$1 listen=$2 odoo=$3 gevent=$4 bin
    bin=$(command -v nginx || echo /usr/sbin/nginx)
    [ -x "$bin" ] || { echo "nginx is missing: apt-get install nginx-light" >&2; return 1; }
    mkdir -p "$dir/tmp" "$dir/logs"
    chmod 777 "$dir/tmp"
    sed -e "s/listen 80;/listen 127.0.0.1:$listen;/" \
        -e "s/127\.0\.0\.1:8069;/127.0.0.1:$odoo;/" \
        -e "s/127\.0\.0\.1:8072;/127.0.0.1:$gevent;/" \
        "$REPO_ROOT/deploy/nginx/voip_axivox_queue.conf" >"$dir/site.conf"
    cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 1024; }
http {
    log_format timed '\$remote_addr [\$time_local] "\$request" \$status \$body_bytes_sent \$request_time \$upstream_status';
    access_log $dir/logs/access.log timed;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    include $dir/site.conf;
}
CONF
    "$bin" -p "$dir" -c "$dir/nginx.conf" -t >"$dir/logs/check.log" 2>&1 \
        || { cat "$dir/logs/check.log" >&2; return 1; }
    "$bin" -p "$dir" -c "$dir/nginx.conf" || return 1
    NGINX_DIR=$dir NGINX_BIN=$bin
}

nginx_stop() {
    [ -n "${NGINX_DIR:-}" ] || return 0
    "$NGINX_BIN" -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" -s quit 2>/dev/null || true
    NGINX_DIR=
}

# wait_http URL SECONDS: until URL answers (any HTTP status), or fail.
wait_http() {
    local url=$1 n=${2:-120}
    for _ in $(seq "$n"); do
        curl -s -o /dev/null -m 5 "$url" && return 0
        sleep 1
    done
    return 1
}
