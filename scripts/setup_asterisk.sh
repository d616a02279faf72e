#!/usr/bin/env bash
# Makes sure an Asterisk build is there for the gateway's scripts and tests, once (idempotent).
#
#   - ASTERISK_PREFIX set: that existing build is used as it is (checked): a folder holding
#     usr/sbin/asterisk, usr/lib (its libraries, asterisk/modules) and var/lib/asterisk (with
#     documentation/, which Asterisk's Stasis core needs to start).
#   - otherwise Asterisk is built from ASTERISK_ARCHIVE, a local path or a URL of an Asterisk
#     20 or later source archive (one top folder); default: the newest asterisk-*.tar.* in
#     <repository>/../shared/asterisk/, checked with the SHA256SUMS beside it. The build is
#     cached in $AXIVOX_CACHE (default ~/.cache/voip_axivox_queue) as
#     asterisk-<archive's sha256, 16 digits>-<recipe's hash, 8 digits>/ (the `make install`
#     DESTDIR), so a warm cache costs two checksums and a few stats.
#   - SIP: when the pjproject archive that Asterisk bundles (third-party/versions.mak) lies
#     beside the Asterisk archive (or ASTERISK_PJPROJECT names it: needed with a URL), it is
#     built in, offline (--with-pjproject-bundled --with-externals-cache): chan_pjsip, the
#     res_pjsip modules, the WebSocket transport and DTLS-SRTP (WebRTC). Without it, Asterisk
#     is built without PJSIP (queues, dial codes, AMI and Local channels need none).
#   - The Debian build packages are installed when missing and we are root; otherwise one line
#     says what to install.
#
# Sourced (by scripts/lib.sh): `ensure_asterisk` exports ASTERISK_PREFIX. Run directly
# (`bash scripts/setup_asterisk.sh`), it builds or finds the build and prints
# ASTERISK_PREFIX=... Building takes a few minutes on 2 cores; the log is kept beside the
# build. ASTERISK_REFRESH=1 downloads a URL archive again.

AXIVOX_CACHE=${AXIVOX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/voip_axivox_queue}
_AST_SETUP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# _step, _fail, _sha256: shared with the Odoo set-up (sourcing it only defines functions).
# shellcheck source=scripts/setup_odoo.sh
declare -F _fail >/dev/null || source "$_AST_SETUP_DIR/setup_odoo.sh"

# Debian packages the build needs (beyond what configure finds on any Debian).
_AST_PACKAGES=(build-essential pkg-config libedit-dev libjansson-dev libxml2-dev libsqlite3-dev
    uuid-dev libssl-dev libsrtp2-dev xz-utils bzip2 patch)

# menuselect: every category off but these two (the compiler flags' defaults, among them
# OPTIONAL_API, without which a module such as app_stack or res_pjsip needs the modules it
# only uses when loaded (res_agi, res_geolocation); the channel storage's default), and:
_AST_KEEP_CATEGORIES=" MENUSELECT_CFLAGS MENUSELECT_CHANNELSTORAGE "
# BUILD_NATIVE off: the cached build runs on any x86-64, not only on this CPU.
_AST_DISABLE=(BUILD_NATIVE)
# Everything else stays out: this is only what the gateway, its tests and the demo need.
_AST_CONFIGURE=(--without-libjwt-bundled --with-jansson-bundled=no --without-dahdi
    --without-pri --without-ss7)
_AST_MODULES=(
    app_queue app_dial app_playback app_verbose app_stack app_exec app_originate app_echo
    app_senddtmf app_db app_userevent pbx_config res_clioriginate
    func_db func_strings func_callerid func_channel func_logic func_cut func_global func_math
    func_rand func_hangupcause
    res_musiconhold res_timing_timerfd res_crypto res_format_attr_opus
    res_sorcery_config res_sorcery_memory res_sorcery_astdb res_sorcery_realtime
    codec_ulaw codec_alaw codec_a_mu codec_gsm codec_g722 format_wav format_pcm format_gsm
    format_sln bridge_simple bridge_native_rtp bridge_holding bridge_builtin_features
    chan_bridge_media cdr_csv res_rtp_asterisk res_http_websocket
)
# With pjproject: SIP, its WebSocket transport and WebRTC's DTLS-SRTP. res_pjsip refuses to
# load without res_statsd. Left out: the res_pjsip modules that need modules kept out
# (geolocation, phoneprov_provider, stir_shaken).
_AST_SIP_MODULES=(
    res_statsd res_pjproject res_srtp chan_pjsip func_pjsip_endpoint func_pjsip_contact
    func_pjsip_aor res_pjsip res_pjsip_session res_pjsip_pubsub res_pjsip_outbound_publish
    res_pjsip_exten_state res_pjsip_acl res_pjsip_aoc res_pjsip_authenticator_digest
    res_pjsip_caller_id res_pjsip_config_wizard res_pjsip_dialog_info_body_generator
    res_pjsip_diversion res_pjsip_dlg_options res_pjsip_dtmf_info res_pjsip_empty_info
    res_pjsip_endpoint_identifier_anonymous res_pjsip_endpoint_identifier_ip
    res_pjsip_endpoint_identifier_user res_pjsip_header_funcs res_pjsip_history
    res_pjsip_logger res_pjsip_maintenance res_pjsip_messaging res_pjsip_mwi
    res_pjsip_mwi_body_generator res_pjsip_nat res_pjsip_notify res_pjsip_one_touch_record_info
    res_pjsip_outbound_authenticator_digest res_pjsip_outbound_registration res_pjsip_path
    res_pjsip_pidf_body_generator res_pjsip_pidf_digium_body_supplement
    res_pjsip_pidf_eyebeam_body_supplement res_pjsip_publish_asterisk res_pjsip_refer
    res_pjsip_registrar res_pjsip_rfc3326 res_pjsip_rfc3329 res_pjsip_sdp_rtp
    res_pjsip_send_to_voicemail res_pjsip_sips_contact res_pjsip_t38
    res_pjsip_transport_websocket res_pjsip_xpidf_body_generator
)

# asterisk_prefix_ok PREFIX: the folder holds an Asterisk build that starts (`asterisk -V`).
asterisk_prefix_ok() {
    local p=$1
    [ -x "$p/usr/sbin/asterisk" ] && [ -d "$p/usr/lib/asterisk/modules" ] \
        && [ -d "$p/var/lib/asterisk/documentation" ] \
        && LD_LIBRARY_PATH="$p/usr/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
            "$p/usr/sbin/asterisk" -V 2>/dev/null | grep -q '^Asterisk '
}

# _ast_missing_packages: the Debian build packages not installed, on one line.
_ast_missing_packages() {
    local pkg missing=()
    for pkg in "${_AST_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' \
            || missing+=("$pkg")
    done
    echo "${missing[*]}"
}

# _ast_install_packages: the missing build packages, through apt-get when root.
_ast_install_packages() {
    local missing log
    missing=$(_ast_missing_packages)
    [ -n "$missing" ] || return 0
    if [ "$(id -u)" != 0 ]; then
        _fail "Asterisk's build packages are missing: $missing." "as root: apt-get install $missing"
        return 1
    fi
    log="$AXIVOX_CACHE/apt-asterisk.log"
    _step "Installing the Debian packages Asterisk's build needs: $missing"
    # shellcheck disable=SC2086 # one word per package
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >"$log" 2>&1; then
        # Stale package lists: update them once and try again.
        apt-get update -qq >>"$log" 2>&1 || true
        touch "$AXIVOX_CACHE/.apt-updated"
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >>"$log" 2>&1 \
            || { tail -3 "$log" >&2
                 _fail "apt-get could not install $missing (the log: $log)." "install them by hand, then run this again"
                 return 1; }
    fi
}

# _ast_default_archive: the newest Asterisk archive in <repository>/../shared/asterisk/.
_ast_default_archive() {
    local dir
    dir=$(cd "$_AST_SETUP_DIR/../.." 2>/dev/null && pwd)/shared/asterisk
    find "$dir" -maxdepth 1 -name 'asterisk-*.tar.*' 2>/dev/null | sort -V | tail -1
}

# _ast_fetch_archive: prints the path of a local copy of ASTERISK_ARCHIVE (or the default).
_ast_fetch_archive() {
    local src=${ASTERISK_ARCHIVE:-} dest
    if [ -z "$src" ]; then
        src=$(_ast_default_archive)
        [ -n "$src" ] || { _fail "no Asterisk to use: ASTERISK_PREFIX and ASTERISK_ARCHIVE are unset and $(cd "$_AST_SETUP_DIR/../.." && pwd)/shared/asterisk/ holds no asterisk-*.tar.*." \
            "set ASTERISK_ARCHIVE to an Asterisk 20+ source archive (a path or a URL), or ASTERISK_PREFIX to an existing build"; return 1; }
    fi
    case "$src" in
    http://* | https://*)
        dest="$AXIVOX_CACHE/downloads/$(printf '%s' "$src" | sha256sum | cut -c1-16)-$(basename "$src")"
        if [ ! -f "$dest" ] || [ -n "${ASTERISK_REFRESH:-}" ]; then
            mkdir -p "$AXIVOX_CACHE/downloads"
            _step "Downloading Asterisk from $src"
            curl -fsSL --retry 2 -o "$dest.part" "$src" \
                || { rm -f "$dest.part"; _fail "could not download $src." "give a local archive: ASTERISK_ARCHIVE=/path/to/asterisk-22.x.tar.gz"; return 1; }
            mv "$dest.part" "$dest"
        fi
        ;;
    *)
        dest=$(readlink -f "$src")
        [ -f "$dest" ] || { _fail "ASTERISK_ARCHIVE=$src is not a file." "point ASTERISK_ARCHIVE at an Asterisk 20+ source archive (a path or a URL)"; return 1; }
        ;;
    esac
    printf '%s\n' "$dest"
}

# _ast_check_sums ARCHIVE: when a SHA256SUMS lies beside ARCHIVE, the archives it lists match.
_ast_check_sums() {
    local dir out
    dir=$(dirname "$1")
    [ -f "$dir/SHA256SUMS" ] || return 0
    out=$(cd "$dir" && sha256sum -c --ignore-missing --quiet SHA256SUMS 2>&1) \
        || { printf '%s\n' "$out" >&2
             _fail "$dir/SHA256SUMS does not match the archives beside it." "get the archives again"; return 1; }
}

# _ast_pjproject ARCHIVE: prints the pjproject archive beside ARCHIVE (the newest), if any.
_ast_pjproject() {
    find "$(dirname "$1")" -maxdepth 1 -name 'pjproject-*.tar.bz2' 2>/dev/null | sort -V | tail -1
}

# _ast_recipe PJPROJECT: the text whose hash names a build (besides the archive's checksum).
_ast_recipe() {
    echo "recipe 2: categories off but$_AST_KEEP_CATEGORIES; off: ${_AST_DISABLE[*]}"
    if [ -n "$1" ]; then
        echo "pjproject $(_sha256 "$1")"
        echo "configure --with-pjproject-bundled ${_AST_CONFIGURE[*]}"
        echo "modules ${_AST_MODULES[*]} ${_AST_SIP_MODULES[*]}"
    else
        echo "configure --without-pjproject-bundled --without-pjproject ${_AST_CONFIGURE[*]}"
        echo "modules ${_AST_MODULES[*]}"
    fi
}

# _ast_build ARCHIVE PJPROJECT DIR LOG: configure, make and `make install DESTDIR=DIR`, in a
# temporary folder beside DIR, moved into place only when everything worked. The temporary
# folder goes in any case; the log stays beside the build.
_ast_build() {
    local tmp status
    tmp=$(mktemp -d "$3.build.XXXX") || return 1
    _ast_build_in "$tmp" "$@"; status=$?
    rm -rf "$tmp"
    return $status
}

_ast_build_in() {
    local tmp=$1 archive=$2 pj=$3 dir=$4 log=$5 top need mods configure mod missing=() enable=()
    _step "Unpacking $(basename "$archive")"
    tar -xf "$archive" -C "$tmp" >>"$log" 2>&1 \
        || { tail -3 "$log" >&2; _fail "$archive could not be unpacked (the log: $log)." "check the archive (an Asterisk source .tar.gz or .tar.xz)"; return 1; }
    top=$(find "$tmp" -mindepth 1 -maxdepth 1 -type d)
    if [ "$(printf '%s\n' "$top" | grep -c .)" != 1 ] || [ ! -x "$top/configure" ] || [ ! -f "$top/main/asterisk.c" ]; then
        _fail "$archive is not an Asterisk source archive (one folder with configure and main/asterisk.c)." "give an Asterisk 20+ source archive"
        return 1
    fi
    mods=("${_AST_MODULES[@]}")
    if [ -n "$pj" ]; then
        need=$(sed -n 's/^PJPROJECT_VERSION=//p' "$top/third-party/versions.mak" 2>/dev/null)
        if [ "$(basename "$pj")" != "pjproject-$need.tar.bz2" ]; then
            _fail "$(basename "$archive") bundles pjproject $need, but $(basename "$pj") lies beside it." \
                "put pjproject-$need.tar.bz2 there (or remove $(basename "$pj") to build without PJSIP)"
            return 1
        fi
        # A private externals cache holding only that archive (Asterisk checks its md5).
        mkdir -p "$tmp/externals" && ln -s "$pj" "$tmp/externals/"
        configure=(--with-pjproject-bundled --with-externals-cache="$tmp/externals" "${_AST_CONFIGURE[@]}")
        mods+=("${_AST_SIP_MODULES[@]}")
    else
        configure=(--without-pjproject-bundled --without-pjproject "${_AST_CONFIGURE[@]}")
    fi
    _step "Configuring Asterisk (${configure[0]}; the log: $log)"
    (cd "$top" && ./configure "${configure[@]}") >>"$log" 2>&1 \
        || { tail -25 "$log" >&2; _fail "Asterisk's configure failed (the log: $log)." "read the log; a missing library is a missing -dev package"; return 1; }
    _step "Choosing the modules (${#mods[@]}; everything else off, the sound downloads too)"
    for mod in "${_AST_DISABLE[@]}"; do enable+=(--disable "$mod"); done
    for mod in "${mods[@]}"; do enable+=(--enable "$mod"); done
    if ! (cd "$top" && make menuselect.makeopts \
            && for c in $(menuselect/menuselect --category-list); do
                   [[ $_AST_KEEP_CATEGORIES == *" $c "* ]] \
                       || menuselect/menuselect --disable-category "$c" menuselect.makeopts || exit 1
               done \
            && menuselect/menuselect "${enable[@]}" menuselect.makeopts) >>"$log" 2>&1; then
        tail -25 "$log" >&2; _fail "menuselect failed (the log: $log)." "read the log"; return 1
    fi
    _step "Compiling Asterisk with make -j$(nproc) (a few minutes)"
    (cd "$top" && make -j"$(nproc)") >>"$log" 2>&1 \
        || { tail -40 "$log" >&2; _fail "Asterisk's build failed (the log: $log)." "read the log"; return 1; }
    (cd "$top" && make install DESTDIR="$tmp/root") >>"$log" 2>&1 \
        || { tail -25 "$log" >&2; _fail "make install failed (the log: $log)." "read the log"; return 1; }
    for mod in "${mods[@]}"; do
        [ -f "$tmp/root/usr/lib/asterisk/modules/$mod.so" ] || missing+=("$mod")
    done
    if [ "${#missing[@]}" != 0 ]; then
        _fail "the build lacks modules it was asked for: ${missing[*]} (the log: $log)." \
            "read 'menuselect' in the log: a module whose dependencies configure did not find is left out"
        return 1
    fi
    asterisk_prefix_ok "$tmp/root" \
        || { _fail "the new build does not start (asterisk -V)." "read $log"; return 1; }
    {
        echo "archive $(basename "$archive") $(_sha256 "$archive")"
        _ast_recipe "$pj"
        echo "built $(date -u +%FT%TZ) on $(uname -srm)"
    } >"$tmp/root/BUILD-INFO"
    rm -rf "$dir" && mv "$tmp/root" "$dir" && touch "$dir/.complete"
}

# ensure_asterisk: exports ASTERISK_PREFIX for an Asterisk build that works. Several runs at
# once wait for each other instead of building the same thing twice.
ensure_asterisk() { cache_locked .asterisk.lock _ensure_asterisk_locked; }

_ensure_asterisk_locked() {
    local started archive pj key dir log seconds
    started=$(date +%s%N)
    if [ -n "${ASTERISK_PREFIX:-}" ]; then
        asterisk_prefix_ok "$ASTERISK_PREFIX" \
            || { _fail "ASTERISK_PREFIX=$ASTERISK_PREFIX is not an Asterisk build that starts (usr/sbin/asterisk -V, usr/lib/asterisk/modules, var/lib/asterisk/documentation)." \
                "unset ASTERISK_PREFIX to let the project build Asterisk"; return 1; }
        export ASTERISK_PREFIX
        return 0
    fi
    archive=$(_ast_fetch_archive) || return 1
    _ast_check_sums "$archive" || return 1
    pj=${ASTERISK_PJPROJECT:-$(_ast_pjproject "$archive")}
    if [ -n "$pj" ]; then
        pj=$(readlink -f "$pj")
        [ -f "$pj" ] || { _fail "ASTERISK_PJPROJECT=$ASTERISK_PJPROJECT is not a file." "point it at the pjproject-<version>.tar.bz2 that Asterisk bundles, or unset it"; return 1; }
    fi
    key=$(_sha256 "$archive" | cut -c1-16)-$(_ast_recipe "$pj" | sha256sum | cut -c1-8)
    dir="$AXIVOX_CACHE/asterisk-$key"
    if [ -f "$dir/.complete" ] && asterisk_prefix_ok "$dir"; then
        _step "Asterisk from the cache: $dir ($(( ($(date +%s%N) - started) / 1000000 )) ms)"
        ASTERISK_PREFIX=$dir
        export ASTERISK_PREFIX
        return 0
    fi
    _ast_install_packages || return 1
    log="$dir.log"
    : >"$log"
    _step "Building $(basename "$archive") into $dir (${pj:+with $(basename "$pj"), }once; the log: $log)"
    _ast_build "$archive" "$pj" "$dir" "$log" || return 1
    seconds=$(( ($(date +%s%N) - started) / 1000000000 ))
    _step "Asterisk built in ${seconds}s (cold), $(du -sm "$dir" | cut -f1) MB: $dir"
    ASTERISK_PREFIX=$dir
    export ASTERISK_PREFIX
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -uo pipefail
    ensure_asterisk || exit 1
    echo "ASTERISK_PREFIX=$ASTERISK_PREFIX"
fi
