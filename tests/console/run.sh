#!/usr/bin/env bash
# The web console's browser tests: Debian's Chromium (never a downloaded browser), driven by
# playwright-core from npm, against the real server (`serve --demo`) on SQLite and on a fresh
# PostgreSQL database each (tests/console/harness.mjs).
#
#   tests/console/run.sh                          # every test, both backends
#   CONSOLE_BACKENDS=sqlite tests/console/run.sh pos.test.mjs
#   UPDATE_SCREENSHOTS=1 tests/console/run.sh     # rewrites docs/screenshots/*.png
#
# Needs Node.js 20+, `chromium` (apt-get install chromium) and PostgreSQL on 127.0.0.1:5432.
# Installs the two npm packages (package-lock.json) when they are missing. Exits non-zero on
# any failure; a missing browser, binary or database is a failure, never a skip.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
command -v node >/dev/null || { echo "Node.js is not installed" >&2; exit 2; }
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || { echo "no Chromium: apt-get install chromium" >&2; exit 2; }

# SERIAL_LEDGER_BIN: a binary already built (CI passes the one `cargo test` built);
# otherwise build it.
if [ -z "${SERIAL_LEDGER_BIN:-}" ]; then
    cargo build --quiet --manifest-path "$root/Cargo.toml" --bin serial-ledger
    export SERIAL_LEDGER_BIN="$root/target/debug/serial-ledger"
fi
export SERIAL_LEDGER_BIN=$(cd "$(dirname "$SERIAL_LEDGER_BIN")" && pwd)/$(basename "$SERIAL_LEDGER_BIN")

cd "$here"
if [ ! -d node_modules/playwright-core ] || [ ! -d node_modules/axe-core ]; then
    npm ci --no-audit --no-fund --loglevel=error
fi
if [ "$#" -gt 0 ]; then
    files=("$@")
else
    files=(*.test.mjs)
fi
exec node --test --test-concurrency=1 "${files[@]}"
