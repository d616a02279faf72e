#!/usr/bin/env bash
# Makes sure Odoo 17 is there for scripts/run.sh and scripts/test.sh, once (idempotent).
#
#   - ODOO_SRC and ODOO_VENV both set: that existing Odoo 17 is used as it is (checked).
#   - otherwise Odoo 17 is installed from ODOO_ARCHIVE, a local path or a URL of an Odoo 17.0
#     source archive (one top folder with odoo-bin, addons under odoo/addons); default: the
#     official nightly archive. It is cached in $AXIVOX_CACHE (default
#     ~/.cache/voip_axivox_queue): the source by the archive's checksum, the Python environment
#     by the requirements it was made from. A warm cache costs a checksum and a few stats.
#   - PostgreSQL 15, Chromium and nginx come from Debian's packages when missing and we are
#     root; otherwise one line says what to install.
#
# Sourced: `ensure_odoo` exports ODOO_SRC, ODOO_VENV and ODOO_PYTHON. Run directly, it sets
# everything up and prints where. ODOO_REFRESH=1 downloads a URL archive again. Without
# ODOO_ARCHIVE, the Odoo this cache last set up is used again (delete the cache to reset).

ODOO_NIGHTLY_URL=https://nightly.odoo.com/17.0/nightly/src/odoo_17.0.latest.tar.gz
AXIVOX_CACHE=${AXIVOX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/voip_axivox_queue}
_SETUP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

_step() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
# _fail WHAT TODO: the one- or two-line failure message, then a non-zero status.
_fail() { printf '\033[1;31mSet-up failed: %s\033[0m\n  What to do: %s\n' "$1" "$2" >&2; return 1; }

_sha256() { sha256sum "$1" | cut -c1-64; }

# is_odoo17 SRC: the folder holds an Odoo 17 source tree.
is_odoo17() {
    [ -f "$1/odoo-bin" ] && [ -d "$1/odoo/addons/base" ] && [ -f "$1/odoo/release.py" ] \
        && grep -qE '^version_info = \(17, ' "$1/odoo/release.py"
}

# _odoo_venv_ok VENV SRC: the environment imports Odoo 17 and its database driver.
_odoo_venv_ok() {
    [ -x "$1/bin/python" ] && "$1/bin/python" - "$2" >/dev/null 2>&1 <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import odoo.release, psycopg2, lxml, werkzeug, pkg_resources  # noqa: F401
assert odoo.release.version_info[0] == 17
# The gevent process (the bus in prefork mode) loads gevent's plugins through pkg_resources.
pkg_resources.require("gevent")
PY
}

# _need_root_pkg CMD PACKAGE WHY: install a Debian package when CMD is missing.
_need_root_pkg() {
    local cmd=$1 pkg=$2 why=$3
    command -v "$cmd" >/dev/null 2>&1 && return 0
    [ -x "$cmd" ] && return 0
    if [ "$(id -u)" != 0 ]; then
        _fail "$cmd is missing ($why)." "as root: apt-get install $pkg"
        return 1
    fi
    _step "Installing the Debian package $pkg ($why)"
    if [ ! -f "$AXIVOX_CACHE/.apt-updated" ]; then
        apt-get update -qq >/dev/null 2>&1 || true
        mkdir -p "$AXIVOX_CACHE" && touch "$AXIVOX_CACHE/.apt-updated"
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" \
        >"$AXIVOX_CACHE/apt-$pkg.log" 2>&1 \
        || { tail -3 "$AXIVOX_CACHE/apt-$pkg.log" >&2
             _fail "apt-get could not install $pkg." "install it by hand (apt-get install $pkg), then run this again"; }
}

# ensure_system_packages [nginx]: PostgreSQL 15 and Chromium (and nginx when asked).
ensure_system_packages() {
    local ok=0
    if ! command -v initdb >/dev/null 2>&1 && [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then
        _need_root_pkg /usr/lib/postgresql/15/bin/initdb postgresql-15 "the tests' own database cluster" || ok=1
    fi
    _need_root_pkg chromium chromium "Odoo's browser tests and tours" || ok=1
    if [ "${1:-}" = nginx ]; then
        _need_root_pkg nginx nginx-light "the reverse proxy in front of Odoo's workers" || ok=1
    fi
    return $ok
}

# _fetch_archive: prints the path of a local copy of ODOO_ARCHIVE.
_fetch_archive() {
    local src=${ODOO_ARCHIVE:-$ODOO_NIGHTLY_URL} dest
    case "$src" in
    http://* | https://*)
        dest="$AXIVOX_CACHE/downloads/$(printf '%s' "$src" | sha256sum | cut -c1-16).tar"
        if [ ! -f "$dest" ] || [ -n "${ODOO_REFRESH:-}" ]; then
            mkdir -p "$AXIVOX_CACHE/downloads"
            _step "Downloading Odoo 17 from $src"
            "${SETUP_PYTHON:-python3}" - "$src" "$dest.part" <<'PY' || { _fail "could not download $src." "give a local archive: ODOO_ARCHIVE=/path/to/odoo-17.0.tar.xz"; return 1; }
import sys, urllib.request
url, out = sys.argv[1], sys.argv[2]
try:
    with urllib.request.urlopen(url, timeout=60) as r, open(out, "wb") as f:
        total, done, last = int(r.headers.get("Content-Length") or 0), 0, -10
        while chunk := r.read(1 << 20):
            f.write(chunk)
            done += len(chunk)
            pct = done * 100 // total if total else 0
            if pct >= last + 10:
                print(f"    {done >> 20} MB" + (f" of {total >> 20} MB ({pct} %)" if total else ""), file=sys.stderr)
                last = pct
except Exception as e:  # one line, not a traceback
    print(f"    {type(e).__name__}: {e}", file=sys.stderr)
    sys.exit(1)
PY
            mv "$dest.part" "$dest"
        fi
        ;;
    *)
        dest=$src
        [ -f "$dest" ] || { _fail "ODOO_ARCHIVE=$src is not a file." "point ODOO_ARCHIVE at an Odoo 17.0 source archive (a path or a URL)"; return 1; }
        ;;
    esac
    printf '%s\n' "$dest"
}

# _ensure_source ARCHIVE: prints the Odoo source folder unpacked from ARCHIVE (cached).
_ensure_source() {
    local archive=$1 key dir tmp top
    key=$(_sha256 "$archive" | cut -c1-16)
    dir="$AXIVOX_CACHE/odoo-$key"
    if [ -f "$dir/.complete" ] && is_odoo17 "$dir/src"; then
        printf '%s\n' "$dir/src"; return 0
    fi
    _step "Unpacking $(basename "$archive") into $dir (about 100 MB)"
    rm -rf "$dir"; mkdir -p "$dir"
    tmp=$(mktemp -d "$dir/unpack.XXXX")
    tar -xf "$archive" -C "$tmp" 2>"$dir/tar.log" \
        || { tail -2 "$dir/tar.log" >&2; _fail "$archive could not be unpacked." "check the archive (a .tar.gz or .tar.xz of Odoo 17.0's source)"; return 1; }
    top=$(find "$tmp" -mindepth 1 -maxdepth 1 -type d)
    if [ "$(printf '%s\n' "$top" | grep -c .)" != 1 ] || ! is_odoo17 "$top"; then
        rm -rf "$dir"
        _fail "$archive is not an Odoo 17 source archive (one folder with odoo-bin and odoo/release.py saying 17)." \
            "give an Odoo 17.0 archive, e.g. ODOO_ARCHIVE=$ODOO_NIGHTLY_URL"
        return 1
    fi
    mv "$top" "$dir/src" && rmdir "$tmp" && touch "$dir/.complete"
    printf '%s\n' "$dir/src"
}

# _odoo_requirements SRC: Odoo's requirements.txt with the known traps handled.
_odoo_requirements() {
    # python-ldap: needs libldap/libsasl headers to build and nothing here uses LDAP.
    # psycopg2: source only for Python 3.11 (libpq headers and a compiler); the binary
    #   wheel of the same version is the same driver.
    # zope.interface / zope.event: gevent 22.10 (Python 3.11) takes the newest, whose metadata
    #   the pkg_resources of setuptools<81 cannot find: the gevent process of prefork mode
    #   (the bus) dies at start. Releases of gevent 22.10's time, with wheels for 3.11, work.
    sed -E -e '/^[[:space:]]*python-ldap/d' -e 's/^psycopg2==/psycopg2-binary==/' "$1/requirements.txt"
    printf '%s\n' "zope.interface==6.0 ; python_version < '3.12'" "zope.event==4.6 ; python_version < '3.12'"
}

# _ensure_venv SRC: prints the path of a Python environment for SRC (cached by requirements).
_ensure_venv() {
    local src=$1 py=${SETUP_PYTHON:-python3} key venv reqs log n
    "$py" -c 'import sys; assert (3, 10) <= sys.version_info[:2] <= (3, 12)' 2>/dev/null \
        || { _fail "Odoo 17 needs Python 3.10 to 3.12; $py is $("$py" -V 2>&1)." "set SETUP_PYTHON to a Python 3.11"; return 1; }
    key=$({ "$py" -V 2>&1; _odoo_requirements "$src"; cat "$_SETUP_DIR/../requirements.txt" "$_SETUP_DIR/../test-requirements.txt"; echo 'setuptools<81'; } | sha256sum | cut -c1-16)
    venv="$AXIVOX_CACHE/venv-$key"
    if [ -f "$venv/.complete" ] && [ -x "$venv/bin/python" ]; then
        printf '%s\n' "$venv"; return 0
    fi
    rm -rf "$venv"; mkdir -p "$AXIVOX_CACHE"
    log="$AXIVOX_CACHE/venv-$key.log"
    _step "Creating Odoo's Python environment in $venv (log: $log)"
    "$py" -m venv "$venv" >"$log" 2>&1 \
        || { tail -3 "$log" >&2; _fail "python3 -m venv failed." "as root: apt-get install python3-venv"; return 1; }
    reqs="$venv/requirements.txt"
    { _odoo_requirements "$src"; echo; cat "$_SETUP_DIR/../requirements.txt"; echo; cat "$_SETUP_DIR/../test-requirements.txt"; echo; echo 'setuptools<81'; } >"$reqs"
    n=$(grep -cE '^[A-Za-z]' "$reqs")
    _step "Installing Odoo's and this addon's Python packages (about 60 packages; a minute or two the first time)"
    # One line per package as pip reaches it, counted, so that a long install shows where it is.
    "$venv/bin/python" -m pip install --disable-pip-version-check --progress-bar off \
        'setuptools<81' wheel -r "$reqs" 2>&1 | tee -a "$log" \
        | awk -v n="$n" '/^Collecting /{i++; printf "    [%d] %s\n", i, $2; fflush()} /^Successfully installed/{print "    installed"; fflush()}' >&2
    if [ "${PIPESTATUS[0]}" != 0 ]; then
        grep -E '^(ERROR|error)' "$log" | tail -3 >&2
        rm -rf "$venv"
        _fail "pip could not install Odoo's packages (the log: $log)." \
            "check that PyPI is reachable; a package that must compile needs build-essential and python3-dev"
        return 1
    fi
    _odoo_venv_ok "$venv" "$src" \
        || { rm -rf "$venv"; _fail "the new environment does not import Odoo 17." "read $log"; return 1; }
    touch "$venv/.complete"
    printf '%s\n' "$venv"
}

# cache_locked LOCK FUNCTION: runs FUNCTION holding the cache's lock file LOCK. Several runs
# at once (tests, the product) wait for each other instead of building the same thing twice.
cache_locked() {
    mkdir -p "$AXIVOX_CACHE"
    local status lock_fd
    exec {lock_fd}>"$AXIVOX_CACHE/$1"
    flock "$lock_fd"
    "$2"; status=$?
    flock -u "$lock_fd"; exec {lock_fd}>&-
    return $status
}

# ensure_odoo: exports ODOO_SRC, ODOO_VENV, ODOO_PYTHON for an Odoo 17 that works.
ensure_odoo() { cache_locked .lock _ensure_odoo_locked; }

_ensure_odoo_locked() {
    if [ -n "${ODOO_SRC:-}" ] || [ -n "${ODOO_VENV:-}" ]; then
        if [ -z "${ODOO_SRC:-}" ] || [ -z "${ODOO_VENV:-}" ]; then
            _fail "only one of ODOO_SRC and ODOO_VENV is set." "set both (an existing Odoo 17), or neither (the project installs its own)"
            return 1
        fi
        is_odoo17 "$ODOO_SRC" || { _fail "ODOO_SRC=$ODOO_SRC is not an Odoo 17 source tree." "unset ODOO_SRC and ODOO_VENV to let the project install Odoo 17"; return 1; }
        _odoo_venv_ok "$ODOO_VENV" "$ODOO_SRC" \
            || { _fail "ODOO_VENV=$ODOO_VENV does not import Odoo 17 (with psycopg2, lxml, werkzeug)." "install Odoo's requirements.txt and 'setuptools<81' into it"; return 1; }
        "$ODOO_VENV/bin/python" -c 'import requests, websocket, aiohttp, pytest_odoo' 2>/dev/null \
            || "$ODOO_VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$_SETUP_DIR/../requirements.txt" -r "$_SETUP_DIR/../test-requirements.txt" >&2 \
            || { _fail "this addon's packages are missing from $ODOO_VENV." "$ODOO_VENV/bin/pip install -r requirements.txt -r test-requirements.txt"; return 1; }
    else
        local archive last=
        # Without ODOO_ARCHIVE, the Odoo this cache set up last (from whatever archive).
        [ -n "${ODOO_ARCHIVE:-}" ] || [ ! -f "$AXIVOX_CACHE/last-source" ] || last=$(cat "$AXIVOX_CACHE/last-source")
        if [ -n "$last" ] && [ -f "$(dirname "$last")/.complete" ] && is_odoo17 "$last"; then
            ODOO_SRC=$last
        else
            archive=$(_fetch_archive) || return 1
            ODOO_SRC=$(_ensure_source "$archive") || return 1
        fi
        ODOO_VENV=$(_ensure_venv "$ODOO_SRC") || return 1
        printf '%s\n' "$ODOO_SRC" >"$AXIVOX_CACHE/last-source"
    fi
    ODOO_PYTHON=$ODOO_VENV/bin/python
    export ODOO_SRC ODOO_VENV ODOO_PYTHON
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -uo pipefail
    ensure_system_packages "${1:-}" && ensure_odoo || exit 1
    echo "ODOO_SRC=$ODOO_SRC"
    echo "ODOO_VENV=$ODOO_VENV"
fi
