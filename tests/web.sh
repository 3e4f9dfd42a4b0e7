#!/usr/bin/env bash
# The JS hosts' tests: Node host, codec, browser host in Debian's Chromium (IndexedDB and
# memory storage, reloads, several tabs), the dashboard, and the packed npm package.
# `./build.sh test` runs this after building; alone it builds what it needs.
# Prints node's TAP summary (`# pass N` / `# fail N`).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
	npm ci --no-audit --no-fund --loglevel=error
fi
if [ ! -x /usr/bin/chromium ]; then
	echo "tests/web.sh: /usr/bin/chromium is missing (./build.sh test installs Debian's chromium)" >&2
	exit 1
fi
node web/build.mjs
mkdir -p tests/out
exec node --test --test-reporter=tap --test-concurrency=1 tests/web/*.test.mjs
