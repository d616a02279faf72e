#!/usr/bin/env bash
# The OCA's checks on voip_axivox_queue, offline from the package registries once set up:
#
#   ruff check, ruff format --check      the addon's Python (pyproject.toml [tool.ruff])
#   pylint with pylint-odoo              the addon's Python (.pylintrc: the OCA's mandatory
#                                        and optional checks)
#   oca-checks-odoo-module, oca-checks-po  manifest, XML, CSV and .po checks (the OCA's
#                                        odoo-pre-commit-hooks)
#   eslint, prettier --check             static/ (eslint.config.js, .prettierrc)
#
# The tools are installed once, at the versions pinned in scripts/lint-requirements.txt and
# scripts/package.json + package-lock.json, into
# ${AXIVOX_CACHE:-~/.cache/voip_axivox_queue}/lint-<hash of the pins> (a Python venv and an
# npm prefix, nothing in the repository); later runs use them without the network.
#
#   scripts/lint.sh          check; exit 1 on any finding (2 when a tool cannot run)
#   scripts/lint.sh --fix    apply ruff's, ruff format's, eslint's and prettier's fixes first,
#                            then report what is left
#
# Not linted: i18n/ (only the .po checks), docs/ (screenshots, API text), static/description,
# static/lib, var/, build output. Environment: AXIVOX_CACHE moves the cache; LINT_KEEP=1
# keeps the working folder with each tool's raw output.
set -uo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ADDON=voip_axivox_queue
HERE="$REPO_ROOT/scripts"

die() { echo "lint.sh: $*" >&2; exit 2; }

FIX=0
for arg in "$@"; do
    case $arg in
        --fix) FIX=1 ;;
        -h | --help) sed -n '2,23p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option '$arg' (use --fix, or --help)" ;;
    esac
done

# --- The tools: what the machine must have ---------------------------------------------
command -v python3 >/dev/null || die "python3 is missing (Python 3.10 or later is needed)"
python3 -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 10))' 2>/dev/null \
    || die "python3 must be 3.10 or later with the venv module (Debian: apt-get install python3-venv)"
command -v node >/dev/null || die "node is missing (Node.js 18.18 or later: apt-get install nodejs npm)"
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 18 || (a === 18 && b >= 18) ? 0 : 1)' \
    || die "node $(node --version) is too old: eslint 9 needs Node.js 18.18 or later"
for f in lint-requirements.txt package.json package-lock.json; do
    [ -f "$HERE/$f" ] || die "scripts/$f is missing: it pins the lint tools"
done

PIN_HASH=$(
    cat "$HERE/lint-requirements.txt" "$HERE/package.json" "$HERE/package-lock.json"
    python3 -c 'import sys; print("python%d.%d" % sys.version_info[:2])'
    node -p '"node" + process.versions.node.split(".")[0]'
) || die "cannot read the pins"
PIN_HASH=$(printf '%s' "$PIN_HASH" | sha256sum | cut -c1-16)
CACHE=${AXIVOX_CACHE:-$HOME/.cache/voip_axivox_queue}
TOOLS=$CACHE/lint-$PIN_HASH
VENV=$TOOLS/venv
NPM=$TOOLS/npm

install_tools() {
    local log=$TOOLS.log
    rm -rf "$TOOLS"
    mkdir -p "$TOOLS" || die "cannot create $TOOLS"
    echo "lint.sh: installing the lint tools once into $TOOLS (log: $log)" >&2
    : >"$log"
    {
        python3 -m venv "$VENV" &&
            "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -q \
                --no-deps -r "$HERE/lint-requirements.txt" &&
            "$VENV/bin/python" -m pip check
    } >>"$log" 2>&1 \
        || die "could not install the Python lint tools (no access to PyPI?): $(grep -v '^WARNING: Location' "$log" | tail -1) — see $log"
    command -v npm >/dev/null || die "npm is missing (apt-get install npm)"
    mkdir -p "$NPM" && cp "$HERE/package.json" "$HERE/package-lock.json" "$NPM/" \
        && (cd "$NPM" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) >>"$log" 2>&1 \
        || die "could not install the JavaScript lint tools (no access to the npm registry?): $(tail -1 "$log") — see $log"
    for bin in "$VENV/bin/ruff" "$VENV/bin/pylint" "$VENV/bin/oca-checks-odoo-module" \
        "$VENV/bin/oca-checks-po" "$NPM/node_modules/.bin/eslint" "$NPM/node_modules/.bin/prettier"; do
        [ -x "$bin" ] || die "the install left no $bin — see $log"
    done
    touch "$TOOLS/.complete"
}

mkdir -p "$CACHE" || die "cannot create the cache folder $CACHE (set AXIVOX_CACHE)"
if [ ! -f "$TOOLS/.complete" ]; then
    # One install at a time (two lint runs at once share one cache).
    exec 9>"$TOOLS.lock"
    flock 9
    [ -f "$TOOLS/.complete" ] || install_tools
    flock -u 9
fi

# --- The runs ---------------------------------------------------------------------------
WORK=$(mktemp -d /tmp/voip_axivox_queue-lint.XXXXXX)
cleanup() { if [ -n "${LINT_KEEP:-}" ]; then echo "Kept $WORK"; else rm -rf "$WORK"; fi; }
trap cleanup EXIT
cd "$REPO_ROOT"

# Each run leaves its findings in $WORK/<tool>.txt, one a line: "path:line: [id] message",
# path relative to the repository. A tool that cannot run at all is a failure of its own.
TOOL_NAMES=() BROKEN=()
bold() { printf '\033[1m%s\033[0m\n' "$*"; }

# The addon as pylint-odoo and the OCA hooks see it: a folder named voip_axivox_queue (they
# name the module after its folder; a clone may be called anything), a copy like
# scripts/test.sh makes, without what git ignores.
copy_addon() {
    mkdir -p "$WORK/addons/$ADDON"
    (cd "$REPO_ROOT" && tar --exclude=.git --exclude=var --exclude=__pycache__ \
        --exclude=node_modules --exclude=build --exclude=dist -cf - .) \
        | (cd "$WORK/addons/$ADDON" && tar -xf -)
    git init -q "$WORK/addons" # pylint-odoo looks for the manifest up to git's top folder
}
# unprefix: the copy's paths back to the repository's
unprefix() { sed -e "s#^$WORK/addons/$ADDON/##" -e "s#^${WORK#/}/addons/$ADDON/##" -e "s#^$ADDON/##"; }

run_ruff_check() {
    local args=(--no-fix)
    [ $FIX = 1 ] && args=(--fix)
    "$VENV/bin/ruff" check "${args[@]}" --no-cache --output-format=text . >"$WORK/ruff.raw" 2>&1
    local rc=$?
    # models/x.py:12:89: E501 Line too long (100 > 88)
    sed -nE 's#^(\./)?([^: ]+\.py):([0-9]+):[0-9]+: ([A-Z]+[0-9]+) (.*)$#\2:\3: [\4] \5#p' \
        "$WORK/ruff.raw" >"$WORK/ruff-check.txt"
    [ $rc -le 1 ] || return 2
}

run_ruff_format() {
    if [ $FIX = 1 ]; then
        "$VENV/bin/ruff" format --no-cache . >"$WORK/ruff-format.raw" 2>&1 || return 2
    fi
    "$VENV/bin/ruff" format --check --no-cache . >"$WORK/ruff-format.raw" 2>&1
    local rc=$?
    sed -nE 's#^Would reformat: (\./)?(.*)$#\2:1: [format] would be reformatted by ruff format#p' \
        "$WORK/ruff-format.raw" >"$WORK/ruff-format.txt"
    [ $rc -le 1 ] || return 2
}

run_pylint() {
    (cd "$WORK/addons" && "$VENV/bin/pylint" --rcfile="$ADDON/.pylintrc" --recursive=y \
        --output-format=text --msg-template='{path}:{line}: [{symbol}] {msg}' \
        --ignore-paths="^$ADDON/(var|build|dist|node_modules)/" "$ADDON") >"$WORK/pylint.raw" 2>&1
    local rc=$?
    # A finding is in a .py file, or in a .pylintrc (a check's name pylint does not know).
    grep -E '^[^ ]+(\.py|/\.pylintrc[-a-z]*):[0-9]+: \[' "$WORK/pylint.raw" | unprefix >"$WORK/pylint.txt"
    # pylint's exit code is a bit mask: 1 fatal, 32 usage error; the others are findings.
    [ $((rc & 33)) = 0 ] || return 2
}

run_oca_checks() {
    (cd "$WORK/addons" && "$VENV/bin/oca-checks-odoo-module" "$ADDON" \
        && "$VENV/bin/oca-checks-po" "$ADDON"/i18n/*.po "$ADDON"/i18n/*.pot) >"$WORK/oca.raw" 2>&1
    # views/x.xml:7 Deprecated "<tree string=..." - [xml-deprecated-tree-attribute]
    sed -nE 's#^([^ ]+):([0-9]+) (.*) - \[([a-z0-9-]+)\]$#\1:\2: [\4] \3#p' "$WORK/oca.raw" \
        | unprefix >"$WORK/oca-checks.txt"
    grep -qE 'Traceback|Error:' "$WORK/oca.raw" && return 2
    return 0
}

run_eslint() {
    local args=()
    [ $FIX = 1 ] && args=(--fix)
    NODE_PATH="$NPM/node_modules" "$NPM/node_modules/.bin/eslint" "${args[@]}" --no-warn-ignored \
        --format json --output-file "$WORK/eslint.json" static >"$WORK/eslint.raw" 2>&1
    local rc=$?
    [ $rc -le 1 ] || { cat "$WORK/eslint.raw" >&2; return 2; }
    node -e '
        const root = process.argv[2] + "/";
        for (const file of require(process.argv[1])) {
            for (const m of file.messages) {
                const rule = m.ruleId || (m.fatal ? "parse-error" : "eslint");
                console.log(`${file.filePath.replace(root, "")}:${m.line || 0}: [${rule}] ${m.message.split("\n")[0]}`);
            }
        }' "$WORK/eslint.json" "$REPO_ROOT" >"$WORK/eslint.txt"
}

run_prettier() {
    local prettier=("$NPM/node_modules/.bin/prettier" --plugin-search-dir="$NPM")
    if [ $FIX = 1 ]; then
        "${prettier[@]}" --write --loglevel=warn static >"$WORK/prettier.raw" 2>&1 || return 2
    fi
    "${prettier[@]}" --check static >"$WORK/prettier.raw" 2>&1
    local rc=$?
    sed -nE '/Code style issues/d; s#^\[warn\] (.+)$#\1:1: [prettier] not formatted as prettier would#p' \
        "$WORK/prettier.raw" >"$WORK/prettier.txt"
    [ $rc -le 1 ] || return 2
}

# The README is for users and short (under 200 lines, as the OCA's are); the OCA's readme/
# fragments, from which its tools build theirs, hold the same text as its sections.
run_readme_check() {
    python3 - "$REPO_ROOT" >"$WORK/readme.txt" <<'PY' || return 2
import pathlib, sys
root = pathlib.Path(sys.argv[1])
readme = (root / "README.md").read_text()
flat = " ".join(readme.split())
lines = readme.count("\n")
if lines >= 200:
    print(f"README.md:{lines}: [readme-length] {lines} lines: keep it under 200 (details go to docs/)")
for fragment in sorted((root / "readme").glob("*.md")):
    if fragment.name == "CONTRIBUTORS.md":
        continue
    for block in fragment.read_text().split("\n\n"):
        if " ".join(block.split()) not in flat:
            line = fragment.read_text()[: fragment.read_text().index(block)].count("\n") + 1
            print(f"readme/{fragment.name}:{line}: [readme-fragment] not in README.md: copy it again")
            break
PY
}

step() {
    local name=$1 fn=$2 t0=$SECONDS
    TOOL_NAMES+=("$name")
    $fn || BROKEN+=("$name")
    local n
    n=$(wc -l <"$WORK/$name.txt" 2>/dev/null || echo 0)
    printf '%-14s %4d finding(s)  (%ds)\n' "$name" "$n" $((SECONDS - t0)) >>"$WORK/summary"
}

# pylint, the slow one, reads the copy: in a check it runs beside the others; with --fix the
# copy is made once the fixes are in, so that its lines are the fixed files' lines.
start_pylint() {
    PYLINT_T0=$SECONDS
    (run_pylint; echo $? >"$WORK/pylint.rc") &
    PYLINT_PID=$!
}
wait_pylint() {
    wait "$PYLINT_PID"
    TOOL_NAMES+=(pylint)
    [ "$(cat "$WORK/pylint.rc" 2>/dev/null)" = 0 ] || BROKEN+=(pylint)
    printf '%-14s %4d finding(s)  (%ds)\n' pylint "$(wc -l <"$WORK/pylint.txt")" \
        $((SECONDS - PYLINT_T0)) >>"$WORK/summary"
}

if [ $FIX = 1 ]; then
    bold "==> lint --fix: applying ruff's, ruff format's, eslint's and prettier's fixes"
    step ruff-check run_ruff_check
    step ruff-format run_ruff_format
    step eslint run_eslint
    step prettier run_prettier
    copy_addon
    step oca-checks run_oca_checks
    start_pylint
    wait_pylint
else
    copy_addon
    start_pylint
    step ruff-check run_ruff_check
    step ruff-format run_ruff_format
    step oca-checks run_oca_checks
    step eslint run_eslint
    step prettier run_prettier
    step readme run_readme_check
    wait_pylint
fi

# --- The report -------------------------------------------------------------------------
TOTAL=0
for name in "${TOOL_NAMES[@]}"; do
    f="$WORK/$name.txt"
    [ -s "$f" ] || continue
    bold "--- $name"
    cat "$f"
    TOTAL=$((TOTAL + $(wc -l <"$f")))
done
if [ $TOTAL -gt 0 ]; then
    bold "--- findings per check"
    for name in "${TOOL_NAMES[@]}"; do
        [ -s "$WORK/$name.txt" ] || continue
        sed -nE "s#^[^ ]+:[0-9]+: \[([^]]+)\].*#$name \1#p" "$WORK/$name.txt"
    done | sort | uniq -c | sort -rn
    bold "--- findings per file (top 15)"
    cat "$WORK"/*.txt | sed -nE 's#^([^ ]+):[0-9]+: \[.*#\1#p' | sort | uniq -c | sort -rn | head -15
fi
bold "--- summary (tools in $TOOLS)"
cat "$WORK/summary"
for name in "${BROKEN[@]}"; do
    echo "lint.sh: $name failed to run; its raw output:" >&2
    cat "$WORK/${name%%-*}"*.raw >&2 2>/dev/null
done
if [ ${#BROKEN[@]} -gt 0 ]; then
    echo "lint: ${#BROKEN[@]} tool(s) could not run (${BROKEN[*]}), $TOTAL finding(s)"
    exit 2
fi
if [ $TOTAL -gt 0 ]; then
    echo "lint: $TOTAL finding(s)"
    exit 1
fi
echo "lint: clean"
