#!/usr/bin/env bash
# tests/run.sh — runs every test suite and prints the total as the last line,
# `N passed, N failed, N skipped`.  Called by `make test` after the binaries
# are built.  A run cannot hide a failure: a suite that hangs is killed after
# its time limit and counted as failed (TEST_TIMEOUT seconds, default 900 a
# suite, 1800 for e2e), a suite that ends without its count line is a failure,
# skips are counted and shown, and a TEST_FILTER that matches nothing is an
# error.  Under CI a skip for a dependency `make deps-test` installs is a
# failure (tests/test.h TEST_SKIP_DEP).  A node test marked TODO (a known
# failure with its reason, e.g. the end-to-end 0.5 floor on some CPUs) is not
# counted as passed: each one is named, and their number printed above the
# closing line.
#
#   unit:    build/tests/test_*      (C; each prints its own `N passed, N failed`)
#   node:    tests/api/*.test.mjs, tests/browser/*.test.mjs, tests/tools/*.test.mjs
#            (node:test, TAP counts)
#   e2e:     tests/e2e/*.test.mjs — the end-to-end learning test on the demo
#            model (about 17 minutes; alone: `make test-e2e`), last
#
# Set TESTS=unit, node (api + browser + tools), api, browser or e2e to run one
# kind, or a comma-separated list (TESTS=unit,api); set TEST_FILTER=substr to
# run only suites whose file name contains it.  TEST_BIN_DIR (default
# build/tests) and TEST_LOG_DIR (build/test-logs) choose where the unit
# binaries are and the logs go (make test-asan uses its own).
set -u
if [ $# -gt 0 ]; then
	# a word here used to be ignored, running every suite: say how to choose
	echo "run.sh takes no arguments (got: $*); choose with TESTS=unit|api|browser|tools|e2e and TEST_FILTER=substr" >&2
	exit 2
fi
cd "$(dirname "$0")/.."
passed=0; failed=0; skipped=0; todo=0; suites=0; broken=()
timeout_s=${TEST_TIMEOUT:-900}
log_dir=${TEST_LOG_DIR:-build/test-logs}; mkdir -p "$log_dir"
bin_dir=${TEST_BIN_DIR:-build/tests}
want=${TESTS:-all}; filter=${TEST_FILTER:-}
wants() { [ "$want" = all ] || [[ ",$want," == *",$1,"* ]]; }

add_counts() { # $1 = suite name, $2 = log file, $3 = exit code, $4/$5/$6 = regexes
	local p f k
	suites=$((suites + 1))
	if [ "$3" -eq 124 ] || [ "$3" -eq 137 ]; then
		echo "  $1: killed after its time limit (${timeout_s} s) — counted as one failure"
		failed=$((failed + 1)); broken+=("$1"); return
	fi
	p=$(grep -aE "$4" "$2" | tail -n 1 | grep -oE '[0-9]+' | head -n 1)
	f=$(grep -aE "$5" "$2" | tail -n 1 | grep -oE '[0-9]+' | sed -n 2p)
	[ -n "$p" ] && [ -z "$f" ] && f=$(grep -aE "$5" "$2" | tail -n 1 | grep -oE '[0-9]+' | tail -n 1)
	k=$(grep -aE "$6" "$2" | tail -n 1 | grep -oE '[0-9]+' | tail -n 1)
	skipped=$((skipped + ${k:-0}))
	if [ -z "$p" ] || [ -z "$f" ]; then
		echo "  $1: exited $3 without a count line — counted as one failure"
		failed=$((failed + 1)); broken+=("$1"); return
	fi
	passed=$((passed + p)); failed=$((failed + f))
	if [ "$f" -gt 0 ] || [ "$3" -ne 0 ]; then
		broken+=("$1")
		[ "$f" -eq 0 ] && { failed=$((failed + 1)); echo "  $1: exit $3 with no failed test — counted as one failure"; }
	fi
}

if wants unit; then
	for t in "$bin_dir"/test_*; do
		[ -x "$t" ] || continue
		name=$(basename "$t")
		[ -n "$filter" ] && [[ "$name" != *"$filter"* ]] && continue
		echo "== $name"
		timeout -k 10 "$timeout_s" "$t" > "$log_dir/$name.log" 2>&1; rc=$?
		grep -aE '^(FAIL|skip) |check failed|required: |: [^ ]+ (==|~=) ' "$log_dir/$name.log" | head -n 40
		tail -n 1 "$log_dir/$name.log"
		add_counts "$name" "$log_dir/$name.log" "$rc" '^[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' \
			'^[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$'
	done
fi

run_node() { # $1 = a node:test file; $2 = a regex of diagnostic lines to show; $3 = seconds
	local t=$1 name rc
	name=$(basename "$t" .test.mjs)
	[ -n "$filter" ] && [[ "$name" != *"$filter"* ]] && return
	echo "== $t"
	timeout -k 10 "${3:-$timeout_s}" node --test --test-reporter=tap "$t" > "$log_dir/$name.log" 2>&1; rc=$?
	[ -n "${2:-}" ] && grep -aE "$2" "$log_dir/$name.log"
	grep -aE '^\s*not ok|^# (Subtest|skip)' "$log_dir/$name.log" | grep -a 'not ok' -A0 | head -n 20
	grep -aE '^# (pass|fail|skipped)' "$log_dir/$name.log" | tr '\n' ' '; echo
	add_counts "$name" "$log_dir/$name.log" "$rc" '^# pass [0-9]+' '^# fail [0-9]+' '^# skipped [0-9]+'
	# a test marked TODO is a known failure: counted and named, never silent
	if grep -qaE '^not ok .*# TODO' "$log_dir/$name.log"; then
		grep -aE '^not ok .*# TODO' "$log_dir/$name.log" | sed 's/^/  known failure: /'
		todo=$((todo + $(grep -caE '^not ok .*# TODO' "$log_dir/$name.log")))
	fi
	# a node test skipped under CI hides what it should have shown
	if [ -n "${CI:-}" ] && [ "${CI:-}" != false ] && grep -qaE '^# skipped [1-9]' "$log_dir/$name.log"; then
		echo "  $name: tests skipped under CI — counted as one failure"
		failed=$((failed + 1)); broken+=("$name")
	fi
}

for kind in api browser tools; do
	wants node || wants "$kind" || continue
	for t in tests/$kind/*.test.mjs; do
		[ -f "$t" ] && run_node "$t"
	done
done

if wants e2e; then
	for t in tests/e2e/*.test.mjs; do
		[ -f "$t" ] && run_node "$t" '^# (round|learning|demo init|settings| +[0-9]+ )' "${TEST_TIMEOUT:-1800}"
	done
fi

if [ ${#broken[@]} -gt 0 ]; then
	echo "failing suites: ${broken[*]} (logs in $log_dir/)"
fi
if [ "$suites" -eq 0 ]; then
	echo "no test suite matched TESTS=$want${filter:+ TEST_FILTER=$filter} — counted as one failure"
	failed=$((failed + 1))
fi
[ "$todo" -gt 0 ] && echo "known failures (marked TODO, listed above, not counted as passed): $todo"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
