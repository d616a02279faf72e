#!/usr/bin/env bash
# Regenerates i18n/voip_axivox_queue.pot from the committed code (Odoo's own extractor:
# Python _(), fields, views, data, and the web client's _t() and templates), then merges it
# into i18n/it.po and i18n/fr.po. New messages come out with an empty msgstr: translate them,
# then run `QUICK=1 TEST_TAGS=/voip_axivox_queue:TestI18n scripts/test.sh`.
#
# Needs Odoo 17 (scripts/lib.sh) and gettext (msgmerge, msgfmt).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_odoo || exit 1
WORK=$(mktemp -d /tmp/voip_axivox_queue-i18n.XXXXXX)
chmod 755 "$WORK"
trap 'pg_stop; rm -rf "$WORK"' EXIT
pg_start "$WORK/pg"
mkdir -p "$WORK/addons/$ADDON"
git -C "$REPO_ROOT" archive HEAD | tar -x -C "$WORK/addons/$ADDON"   # committed code only
ADDONS="$ODOO_SRC/odoo/addons,$WORK/addons"
odoo_bin --addons-path="$ADDONS" $(odoo_db_args) -d i18n -i "$ADDON" --stop-after-init \
    --no-http --log-level=warn
odoo_bin --addons-path="$ADDONS" $(odoo_db_args) -d i18n --no-http --log-level=warn \
    --i18n-export="$REPO_ROOT/i18n/$ADDON.pot" --modules="$ADDON" --stop-after-init
for lang in it fr; do
    msgmerge --quiet --no-fuzzy-matching --update --backup=none \
        "$REPO_ROOT/i18n/$lang.po" "$REPO_ROOT/i18n/$ADDON.pot"
    # Messages the code no longer has are dropped, not kept as obsolete entries.
    msgattrib --no-obsolete -o "$REPO_ROOT/i18n/$lang.po" "$REPO_ROOT/i18n/$lang.po"
    msgfmt -c --check-format -o /dev/null "$REPO_ROOT/i18n/$lang.po"
    echo "$lang.po: $(msgattrib --untranslated "$REPO_ROOT/i18n/$lang.po" | grep -c '^msgid ' || true) messages to translate (count includes the header when any)"
done
