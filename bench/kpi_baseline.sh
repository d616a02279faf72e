#!/usr/bin/env bash
# The queue KPIs over 1,000,000 stored events, measured on this machine in one run for
# earlier versions (REVS, git revisions: "3d33cd6 2382434" by default, the version before
# the contact-centre layer and the last one before the KPIs' query bounded the events'
# time by constants) and for this tree:
#
#   * each version in its own database of one cluster, installed without demo data,
#     with the bench account (its own bench/setup_bench.py: 5 queues of 20 dynamic
#     agents) and 1,000,000 stored events (bench/store_events.sql);
#   * bench/kpi_bench.py (today and the last 7 days, every KPI of every queue, caches
#     emptied before each run) run by each, in alternated rounds (KPI_ROUNDS, 3), and
#     the median of each version's runs;
#   * KPI_EXPLAIN=1: then the plan (EXPLAIN (ANALYZE, BUFFERS)) of each query of the
#     KPIs, for each version.
#
# Prints figures; asserts nothing. Needs Odoo 17 (see scripts/lib.sh) and git.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_odoo || exit 1
REVS=${REVS:-3d33cd6 2382434}
SIDES="$REVS tree"

WORK=$(mktemp -d /tmp/voip_axivox_queue-kpi.XXXXXX)
chmod 755 "$WORK"
cleanup() {
    pg_stop
    [ -n "${KEEP:-}" ] && echo "Kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT
pg_start "$WORK/pg"

addons_dir "$WORK/tree"
echo "Machine: $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
for rev in $REVS; do
    version_tree "$WORK/$rev" "$rev"
    echo "$rev: $(git -C "$REPO_ROOT" log -1 --format='%h %ad %s' --date=short "$rev" | cut -c1-100)"
done

for side in $SIDES; do
    bench_database "db$side" "$WORK/$side"
done

run() {
    odoo_bin shell --addons-path="$ODOO_SRC/odoo/addons,$WORK/$1" \
        $(odoo_db_args) -d "db$1" --no-http --log-level=warn \
        < "$REPO_ROOT/bench/kpi_bench.py" | sed "s/^/$1: /"
}
for round in $(seq "${KPI_ROUNDS:-3}"); do
    echo "round $round (load $(cut -d' ' -f1-3 /proc/loadavg))"
    for side in $SIDES; do
        KPI_EXPLAIN= run "$side" | grep ' run ' | tee -a "$WORK/runs"
    done
done
awk '{ t[$1] = t[$1] " " $4 }
    END { for (side in t) { k = split(t[side], a, " ");
            for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { x = a[i]; a[i] = a[j]; a[j] = x }
            printf "%s median of %d runs: %.3f s (%.3f to %.3f)\n", side, k, (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2, a[1], a[k] } }' "$WORK/runs"
if [ -n "${KPI_EXPLAIN:-}" ]; then
    for side in $SIDES; do
        echo
        echo "== $side: the plans"
        KPI_EXPLAIN=1 run "$side" | grep -v ' run '
    done
fi
