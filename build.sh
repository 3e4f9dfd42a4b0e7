#!/usr/bin/env bash
# regwasm's one entry point.
#   ./build.sh          build: the wasm module (host/registry.wasm), the CLI, the JS bundle
#   ./build.sh test     install what is missing, build, run every suite, print a summary
#   ./build.sh bench    test1 at full size on every host; rewrites BENCHMARKS.md (--small: quick)
#   ./build.sh serve    build and run `regwasm serve` on the default data directory
# The machine needs Go >= 1.26 and Node >= 20 (with npm); everything else a step needs (Go
# modules, npm packages, staticcheck, Debian's Chromium) is installed here, never assumed.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
export GOFLAGS=${GOFLAGS:--mod=readonly}
OUT=$ROOT/tests/out
TOOLS=$ROOT/.cache/bin
mkdir -p "$OUT"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }

# --- prerequisites --------------------------------------------------------------------------
GO_MIN=1.26
NODE_MIN=20
STATICCHECK_VERSION=v0.8.2 # staticcheck 2026.2.2, honnef.co/go/tools/cmd/staticcheck

# version_at_least HAVE WANT: compares dotted versions numerically (1.26.8 >= 1.26).
version_at_least() {
	local have=$1 want=$2 h w
	IFS=. read -r -a h <<<"$have"
	IFS=. read -r -a w <<<"$want"
	for i in 0 1 2; do
		if [ "${h[i]:-0}" -gt "${w[i]:-0}" ]; then return 0; fi
		if [ "${h[i]:-0}" -lt "${w[i]:-0}" ]; then return 1; fi
	done
	return 0
}

require_go() {
	command -v go >/dev/null 2>&1 ||
		die "Go >= $GO_MIN is needed and \`go\` is not on PATH (https://go.dev/dl/; then PATH=\$PATH:/usr/local/go/bin)"
	local v
	v=$(go env GOVERSION)
	v=${v#go}
	v=${v%%[!0-9.]*}
	version_at_least "$v" "$GO_MIN" || die "Go >= $GO_MIN is needed; \`go\` is $(go env GOVERSION)"
}

require_node() {
	command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
		die "Node >= $NODE_MIN with npm is needed and is not on PATH (Debian: apt-get install nodejs npm)"
	local v
	v=$(node --version)
	version_at_least "${v#v}" "$NODE_MIN" || die "Node >= $NODE_MIN is needed; \`node\` is $v"
}

# --- installs -------------------------------------------------------------------------------
ensure_go_modules() { go mod download; }

# ensure_tools: staticcheck, pinned, from the Go module proxy, and the Go suite's reporter,
# both into .cache/bin.
ensure_tools() {
	if [ "$("$TOOLS/staticcheck" -version 2>/dev/null | sed -n 's/.*(\(.*\))/\1/p')" != "${STATICCHECK_VERSION#v}" ]; then
		log "installing staticcheck $STATICCHECK_VERSION"
		GOFLAGS= GOBIN=$TOOLS go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
	fi
	go build -o "$TOOLS/gosuite" ./tests/gosuite
}

ensure_npm() {
	[ -f package.json ] || return 0
	require_node
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
	require_go
	ensure_go_modules
	if [ "${1:-}" != --committed-wasm ]; then build_wasm; fi
	[ -f host/cmd/regwasm/main.go ] && build_cli
	build_web
}

# --- tests ----------------------------------------------------------------------------------
PASSED=0
FAILED=0
SKIPPED=0
SUITES=()

# run_suite NAME CMD...: runs one suite, logs to tests/out/NAME.log, counts its tests from
# the `# pass N` / `# fail N` / `# skip(ped) N` lines its runners print (tests/gosuite for
# Go, node's TAP reporter). The suite may write progress lines to fd 3, the terminal.
run_suite() {
	local name=$1; shift
	local logf=$OUT/$name.log rc=0 p f k
	log "suite $name"
	"$@" 3>&2 >"$logf" 2>&1 || rc=$?
	p=$(awk '/^# pass [0-9]+$/{s+=$3} END{print s+0}' "$logf")
	f=$(awk '/^# fail [0-9]+$/{s+=$3} END{print s+0}' "$logf")
	k=$(awk '/^# skip(ped)? [0-9]+$/{s+=$3} END{print s+0}' "$logf")
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
	PASSED=$((PASSED + p)); FAILED=$((FAILED + f)); SKIPPED=$((SKIPPED + k))
	SUITES+=("$(printf '%-6s %s passed, %s failed, %s skipped (exit %s, log tests/out/%s.log)' "$name" "$p" "$f" "$k" "$rc" "$name")")
	if [ "$k" != 0 ] && grep -q '^skipped tests:' "$logf"; then
		sed -n '/^skipped tests:/,/^[^ ]/{/^  /p}' "$logf" >&2
	fi
	if [ "$rc" != 0 ]; then tail -n 60 "$logf" >&2; fi
}

# step NAME CMD...: runs one step of a suite, noting its failure without stopping the rest
# (a suite runs inside `||`, where set -e does not apply).
STEP_FAILED=0
step() {
	printf '>>> %s\n' "$*"
	if ! "$@"; then
		printf '>>> FAILED: %s\n' "$*"
		printf 'build.sh: %s failed\n' "$1" >&3
		STEP_FAILED=1
	fi
}

# go_test ARGS...: go test -json through tests/gosuite: the log gets the verbose output, the
# terminal a line per finished package.
go_test() { go test -json -count=1 "$@" 2>&1 | "$TOOLS/gosuite" -progress-fd 3; }

go_tests() {
	STEP_FAILED=0
	step go vet ./...
	step env GOOS=wasip1 GOARCH=wasm go vet ./wasm ./registry/...
	# The module's package is wasip1's, and staticcheck does not count //go:wasmexport as a
	# use: its exports are checked for everything but being unused (U1000).
	step "$TOOLS/staticcheck" $(go list ./... | grep -v '/wasm$')
	step env GOOS=wasip1 GOARCH=wasm "$TOOLS/staticcheck" ./registry/...
	step env GOOS=wasip1 GOARCH=wasm "$TOOLS/staticcheck" -checks inherit,-U1000 ./wasm
	# The core is single-threaded by contract (hosts serialize calls): no -race there, so the
	# crash simulation's 10,000+ cases stay fast. The hosts are where goroutines meet.
	step go_test ./registry/...
	local race=()
	if [ "$(go env CGO_ENABLED)" = 1 ]; then race=(-race); fi
	step go_test "${race[@]}" ./host/...
	step go_test ./tests/...
	return $STEP_FAILED
}

cmd_test() {
	build_all --committed-wasm
	ensure_tools
	run_suite go go_tests
	if [ -f tests/web.sh ]; then
		ensure_chromium
		run_suite web bash tests/web.sh
	fi
	echo
	printf '%s\n' "${SUITES[@]}"
	echo "tests: $PASSED passed, $FAILED failed, $SKIPPED skipped"
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
	log "the Node host's calls and event-loop lag"
	node tests/web/bench-node.mjs --json "$OUT/bench-node.json"
	log "wasm-opt A/B: test1 through wazero and in Node, module as built and optimized"
	node tests/bench/wasm-opt-ab.mjs --json "$OUT/wasm-opt.json"
	log "writing $md and $svg"
	./bin/regwasm bench report --go "$OUT/bench-go.json" --js "$OUT/bench-js.json" --node "$OUT/bench-node.json" \
		--wasm-opt "$OUT/wasm-opt.json" --md "$md" --svg "$svg"
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
