#!/usr/bin/env bash
# regwasm's one entry point.
#   ./build.sh          build: the wasm module (host/registry.wasm), the CLI, the JS bundle
#   ./build.sh test     install what is missing, build, run every suite, print a summary
#   ./build.sh bench    test1 at full size on every host; rewrites BENCHMARKS.md (--small: quick)
#   ./build.sh serve    build and run `regwasm serve` on the default data directory
# Everything a step needs (Go modules, npm packages, Debian's Chromium) is installed here,
# never assumed to be on the machine.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
export GOFLAGS=${GOFLAGS:--mod=readonly}
OUT=$ROOT/tests/out
mkdir -p "$OUT"

log() { printf '==> %s\n' "$*" >&2; }

# --- installs -------------------------------------------------------------------------------
ensure_go_modules() { go mod download; }

ensure_npm() {
	[ -f package.json ] || return 0
	if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
		log "npm ci"
		npm ci --no-audit --no-fund --loglevel=error
	fi
}

ensure_chromium() {
	[ -x /usr/bin/chromium ] && return 0
	log "installing Debian's chromium"
	local sudo=""
	[ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
}

# --- builds ---------------------------------------------------------------------------------
# The committed module must equal a fresh build with exactly these flags (host's
# TestCommittedWasmIsFresh checks it). -buildvcs=false: the commit and dirty bit would
# otherwise be stamped in, and every commit would change the blob.
build_wasm() {
	log "building host/registry.wasm"
	GOOS=wasip1 GOARCH=wasm go build -trimpath -buildvcs=false -buildmode=c-shared -o host/registry.wasm ./wasm
}

build_cli() {
	log "building bin/regwasm"
	go build -trimpath -o bin/regwasm ./host/cmd/regwasm
}

build_web() {
	[ -f web/build.mjs ] || return 0
	ensure_npm
	log "bundling web/ into dist/"
	node web/build.mjs
}

# build_all [--committed-wasm]: with the flag, host/registry.wasm is used as committed, not
# rebuilt, so the tests run (and check) the blob that ships.
build_all() {
	ensure_go_modules
	if [ "${1:-}" != --committed-wasm ]; then build_wasm; fi
	[ -f host/cmd/regwasm/main.go ] && build_cli
	build_web
}

# --- tests ----------------------------------------------------------------------------------
PASSED=0
FAILED=0
SUITES=()

# run_suite NAME CMD...: runs one suite, logs to tests/out/NAME.log, counts its tests.
run_suite() {
	local name=$1; shift
	local logf=$OUT/$name.log rc=0 p f
	log "suite $name"
	"$@" >"$logf" 2>&1 || rc=$?
	p=$( (grep -cE '^\s*--- PASS|^ok\s' "$logf" || true) )
	f=$( (grep -cE '^\s*--- FAIL|^FAIL\s' "$logf" || true) )
	if grep -qE '^# (pass|fail) [0-9]+' "$logf"; then
		p=$(awk '/^# pass /{s+=$3} END{print s+0}' "$logf")
		f=$(awk '/^# fail /{s+=$3} END{print s+0}' "$logf")
	fi
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
	PASSED=$((PASSED + p)); FAILED=$((FAILED + f))
	SUITES+=("$(printf '%-14s %s passed, %s failed (exit %s, log tests/out/%s.log)' "$name" "$p" "$f" "$rc" "$name")")
	if [ "$rc" != 0 ]; then tail -n 60 "$logf" >&2; fi
}

go_tests() {
	go vet ./...
	GOOS=wasip1 GOARCH=wasm go vet ./wasm ./registry/...
	# The core is single-threaded by contract (hosts serialize calls): no -race there, so the
	# crash simulation's 10,000+ cases stay fast. The hosts are where goroutines meet.
	go test -count=1 -v ./registry/...
	local race=()
	if [ "$(go env CGO_ENABLED)" = 1 ]; then race=(-race); fi
	go test -count=1 -v "${race[@]}" ./host/...
	if [ -d tests ] && [ -n "$(find tests -name '*_test.go' -print -quit)" ]; then
		go test -count=1 -v ./tests/...
	fi
}

cmd_test() {
	build_all --committed-wasm
	run_suite go go_tests
	if [ -f tests/web.sh ]; then
		ensure_chromium
		run_suite web bash tests/web.sh
	fi
	echo
	printf '%s\n' "${SUITES[@]}"
	echo "tests: $PASSED passed, $FAILED failed"
	[ "$FAILED" = 0 ]
}

# cmd_bench: test1 on all four hosts, side by side. Without arguments: full size (1M persons,
# 25M requests, ~15 min here; native three times, each phase reported as its median), rewriting
# BENCHMARKS.md and docs/bench.svg, then the large random differential (50,000 actions) on
# every host. With --small, or
# any flags of `regwasm bench` and tests/web/bench.mjs (--persons N --machines M ...), the
# report goes to tests/out/ instead, so a quick run never overwrites the recorded one.
cmd_bench() {
	local scale=(--full) runs=(--native-runs 3) md=BENCHMARKS.md svg=docs/bench.svg
	if [ $# -gt 0 ]; then
		scale=() runs=() md=$OUT/BENCHMARKS.md svg=$OUT/bench.svg
		if [ "$1" = --small ]; then shift; scale=(--persons 20000 --machines 4000); fi
	fi
	build_all
	ensure_chromium
	log "test1 on native and wazero"
	./bin/regwasm bench "${scale[@]}" "${runs[@]}" --http --json "$OUT/bench-go.json" "$@"
	log "test1 on Node and Chromium"
	node tests/web/bench.mjs "${scale[@]}" --json "$OUT/bench-js.json" "$@"
	log "wasm-opt A/B: test1 through wazero and in Node, module as built and optimized"
	node tests/bench/wasm-opt-ab.mjs --json "$OUT/wasm-opt.json"
	log "writing $md and $svg"
	./bin/regwasm bench report --go "$OUT/bench-go.json" --js "$OUT/bench-js.json" --wasm-opt "$OUT/wasm-opt.json" --md "$md" --svg "$svg"
	if [ ${#scale[@]} -gt 0 ] && [ "${scale[0]}" = --full ]; then
		log "random differential, 50,000 actions, on native, wazero, Node and Chromium"
		REGWASM_FULL=1 go test -count=1 -run 'TestRandom$' ./tests/conformance
		REGWASM_FULL=1 node --test --test-concurrency=1 tests/web/conformance.test.mjs
	fi
}

cmd_serve() {
	build_all
	exec ./bin/regwasm serve "$@"
}

case "${1:-build}" in
	build) build_all ;;
	test) shift; cmd_test "$@" ;;
	bench) shift; cmd_bench "$@" ;;
	serve) shift; cmd_serve "$@" ;;
	*) echo "usage: ./build.sh [build|test|bench|serve]" >&2; exit 2 ;;
esac
