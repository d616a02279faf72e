# What the benchmarks that compare versions of the addon share; sourced after
# scripts/lib.sh (ODOO_SRC, ADDON, REPO_ROOT, odoo_bin, odoo_db_args).

# version_tree DIR REV: the addon as it was at git revision REV, in DIR/$ADDON
version_tree() {
    mkdir -p "$1/$ADDON"
    git -C "$REPO_ROOT" archive "$2" | tar -x -C "$1/$ADDON"
}

# bench_database DB DIR: the addon of DIR installed in database DB without demo data,
# with the bench account (that version's own bench/setup_bench.py) and 1,000,000 stored
# events (bench/store_events.sql)
bench_database() {
    local db=$1 addons="$ODOO_SRC/odoo/addons,$2" account company
    odoo_bin --addons-path="$addons" $(odoo_db_args) -d "$db" -i "$ADDON" \
        --without-demo=all --stop-after-init --no-http --log-level=warn
    read -r _ _ _ account company < <(odoo_bin shell --addons-path="$addons" \
        $(odoo_db_args) -d "$db" --no-http --log-level=warn \
        < "$2/$ADDON/bench/setup_bench.py" | grep '^BENCH ')
    psql -q -d "$db" -v account="$account" -v company="$company" \
        -f "$REPO_ROOT/bench/store_events.sql"
}
