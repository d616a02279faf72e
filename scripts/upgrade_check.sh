#!/usr/bin/env bash
# The upgrade from the previous released version, as a customer runs it: that version
# (the commit before the manifest's version became the current one) installed with demo
# data in a fresh database, given rows only earlier versions allowed (two PBX accounts
# sharing a webhook secret), then this code installed over it with -u. Fails when the upgrade logs
# a WARNING or an ERROR, when the module's version is not the current one after it, or
# when what the migration scripts promise does not hold (no secret shared, the unique
# constraint in place, no unused index left, every event with a caller number given its
# E.164 form).
#
#   bash scripts/upgrade_check.sh          (KEEP=1 keeps the temporary folder)
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

ensure_system_packages && ensure_odoo || { echo "Odoo 17 could not be set up." >&2; exit 1; }
work_dir upgrade
fail() { echo "UPGRADE CHECK FAILED: $*" >&2; exit 1; }

version_of() {  # version_of COMMIT: the manifest's version at that commit
    git show "$1:__manifest__.py" | python3 -c "import ast, sys; print(ast.literal_eval(sys.stdin.read())['version'])"
}
current=$(version_of HEAD)
introduced=$(git log --format=%H -S"\"version\": \"$current\"" -- __manifest__.py | tail -1)
[ -n "$introduced" ] || fail "no commit introduces version $current"
previous_commit=$(git rev-parse "$introduced^")
previous=$(version_of "$previous_commit")
say "Upgrade $previous ($(git rev-parse --short "$previous_commit")) -> $current (this tree)"

pg_start "$WORK/pg" || fail "PostgreSQL did not start"
DB=axivox_upgrade
mkdir -p "$WORK/old/$ADDON"
git archive "$previous_commit" | tar -x -C "$WORK/old/$ADDON"
odoo_bin --addons-path="$ODOO_SRC/odoo/addons,$WORK/old" $(odoo_db_args) -d "$DB" \
    -i "$ADDON" --stop-after-init --no-http --log-level=warn --logfile="$WORK/install.log" \
    || fail "installing $previous failed (see $WORK/install.log)"

# Rows only an earlier version allowed: a second account with the first one's secret (when
# the previous version has no unique constraint on it yet).
had_unique=$(psql -d "$DB" -Atc "select count(*) from pg_constraint where conname = 'axivox_account_webhook_secret_unique'")
if [ "$had_unique" = 0 ]; then
    echo "a = env['axivox.account'].search([], limit=1, order='id')
a = a or env['axivox.account'].create({'name': 'Upgrade check', 'api_url': 'http://127.0.0.1:9', 'api_key': 'k', 'webhook_secret': 'upgrade-check-secret-0123456789'})
b = a.copy({'name': 'Upgrade check (shared secret)'})
env.cr.execute('UPDATE axivox_account SET webhook_secret = %s WHERE id = %s', [a.webhook_secret, b.id])
env.cr.commit()" \
        | odoo_bin shell --addons-path="$ODOO_SRC/odoo/addons,$WORK/old" $(odoo_db_args) \
            -d "$DB" --no-http --log-level=warn --logfile="$WORK/rows.log" >/dev/null \
        || fail "the rows of $previous could not be made (see $WORK/rows.log)"
    shared=$(psql -d "$DB" -Atc "select count(*) - count(distinct webhook_secret) from axivox_account")
    [ "$shared" -ge 1 ] || fail "the previous version's rows were not made (no shared secret)"
fi
# The one-column indexes on the queue events that earlier versions made and no query uses.
old_indexes=$(psql -d "$DB" -Atc "select count(*) from pg_indexes where tablename = 'axivox_queue_event' and indexname ~ '^axivox_queue_event__(account_id|agent_user_id|queue_name|caller_number|queue_remote_id|caller_e164)_index$'")
echo "One-column indexes on the queue events before the upgrade: $old_indexes"

addons_dir "$WORK/new"
odoo_bin --addons-path="$ODOO_SRC/odoo/addons,$WORK/new" $(odoo_db_args) -d "$DB" \
    -u "$ADDON" --stop-after-init --no-http --log-level=info --logfile="$WORK/upgrade.log" \
    || fail "odoo-bin -u exited with $? (see $WORK/upgrade.log)"
if grep -E '^[0-9-]+ [0-9:,]+ [0-9]+ (WARNING|ERROR|CRITICAL) ' "$WORK/upgrade.log"; then
    fail "the upgrade logged warnings or errors (above)"
fi
installed=$(psql -d "$DB" -Atc "select latest_version from ir_module_module where name = '$ADDON'")
[ "$installed" = "$current" ] || fail "module version after the upgrade: '$installed', not $current"
shared=$(psql -d "$DB" -Atc "select count(*) - count(distinct webhook_secret) from axivox_account")
[ "$shared" = 0 ] || fail "$shared account(s) still share a webhook secret"
psql -d "$DB" -Atc "select 1 from pg_constraint where conname = 'axivox_account_webhook_secret_unique'" \
    | grep -qx 1 || fail "the unique constraint on the webhook secret is missing"
left=$(psql -d "$DB" -Atc "select count(*) from pg_indexes where tablename = 'axivox_queue_event' and indexname ~ '^axivox_queue_event__(account_id|agent_user_id|queue_name|caller_number|queue_remote_id|caller_e164)_index$'")
[ "$left" = 0 ] || fail "$left unused one-column index(es) on the queue events left after the upgrade"
missing=$(psql -d "$DB" -Atc "select count(*) from axivox_queue_event where caller_number is not null and caller_number ~ '[0-9]' and caller_e164 is null")
echo "Events with a caller number and no E.164 form after the upgrade: $missing"
say "Upgrade $previous -> $current: OK"
