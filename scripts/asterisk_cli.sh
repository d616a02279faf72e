#!/usr/bin/env bash
# Runs one Asterisk CLI command against the product's Asterisk instance, the one in
# ${AXIVOX_VAR:-<repository>/var}/asterisk (started by python -m axivox_gateway.instance
# start --dir <that folder>), and prints its answer. Examples:
#
#   scripts/asterisk_cli.sh "queue show sales"
#   scripts/asterisk_cli.sh "dialplan show axivox-agents"
#   scripts/asterisk_cli.sh "core show channels"
#
# Exit status: the CLI's, or 1 when no instance runs there.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${AXIVOX_VAR:-$REPO_ROOT/var}/asterisk

if [ "$#" = 0 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
    sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    [ "$#" != 0 ] || exit 2
    exit 0
fi
if [ ! -f "$DIR/instance.json" ]; then
    echo "asterisk_cli.sh: no Asterisk instance runs in $DIR (no instance.json there)." >&2
    echo "  Start one: python3 -m axivox_gateway.instance start --dir $DIR (with ASTERISK_PREFIX set)" >&2
    exit 1
fi
cd "$REPO_ROOT"
exec python3 -m axivox_gateway.instance cli --dir "$DIR" "$*"
