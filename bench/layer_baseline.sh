#!/usr/bin/env bash
# The contact-centre layer's target: "ingesting a 1,000-event batch stays within 20 % of
# today's time with matching, callbacks and sessions on". Today's time is that of the version before
# the contact-centre layer (BASE, 3d33cd6 by default: the last commit before it); this
# script measures it now, on this machine, against this tree with the layer on:
#
#   * each version in its own database of one cluster, installed without demo data,
#     with the bench account (its own bench/setup_bench.py), 1,000 contacts and
#     1,000,000 stored events (bench/store_events.sql);
#   * the 1,000-event batch of bench/contact_centre_bench.py (calls, a quarter
#     abandoned, half the callers contacts, one event in ten a login or logout)
#     ingested 10 times by each, rolled back each time, in alternated rounds.
#
# Prints figures; asserts nothing. Needs Odoo 17 (see scripts/lib.sh) and git.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_odoo || exit 1
BASE=${BASE:-3d33cd6}

WORK=$(mktemp -d /tmp/voip_axivox_queue-baseline.XXXXXX)
chmod 755 "$WORK"
cleanup() {
    pg_stop
    [ -n "${KEEP:-}" ] && echo "Kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT
pg_start "$WORK/pg"

addons_dir "$WORK/head"
version_tree "$WORK/base" "$BASE"
echo "Machine: $(nproc) cores; before the layer: $(git -C "$REPO_ROOT" log -1 --format='%h %s' "$BASE" | cut -c1-90)"

for side in base head; do
    bench_database "$side" "$WORK/$side"
done

run() {
    BENCH_INGEST_ONLY=1 odoo_bin shell --addons-path="$ODOO_SRC/odoo/addons,$WORK/$1" \
        $(odoo_db_args) -d "$1" --no-http --log-level=warn \
        < "$REPO_ROOT/bench/contact_centre_bench.py" | grep '^INGEST ' | sed "s/^INGEST/$1/"
}
results=()
for round in 1 2; do
    for side in base head; do
        line=$(run "$side")
        echo "round $round, $line"
        results+=("$line")
    done
done
printf '%s\n' "${results[@]}" | awk '
    { median[$1] = median[$1] " " $3 }
    END {
        n = split(median["base"], b, " "); split(median["head"], h, " ")
        bm = (b[1] < b[2]) ? b[1] : b[2]; hm = (h[1] < h[2]) ? h[1] : h[2]
        printf "best median: before the layer %.3f s, with the layer %.3f s: %.2fx (target: at most 1.20)\n", bm, hm, hm / bm
    }'
