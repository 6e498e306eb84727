#!/usr/bin/env bash
# tests/run.sh — runs every test suite and prints the total as the last line,
# `N passed, N failed`.  Called by `make test` after the binaries are built.
#
#   unit:    build/tests/test_*      (C; each prints its own `N passed, N failed`)
#   node:    tests/api/*.test.mjs, tests/browser/*.test.mjs, tests/tools/*.test.mjs
#            (node:test, TAP counts)
#   e2e:     tests/e2e/*.test.mjs — the end-to-end learning test on the demo
#            model (about 17 minutes; alone: `make test-e2e`), last
#
# Set TESTS=unit, TESTS=node or TESTS=e2e to run one kind; set TEST_FILTER=substr
# to run only suites whose file name contains it.
set -u
cd "$(dirname "$0")/.."
passed=0; failed=0; broken=()
log_dir=build/test-logs; mkdir -p "$log_dir"
want=${TESTS:-all}; filter=${TEST_FILTER:-}

add_counts() { # $1 = suite name, $2 = log file, $3 = exit code, $4/$5 = regexes
	local p f
	p=$(grep -aE "$4" "$2" | tail -n 1 | grep -oE '[0-9]+' | head -n 1)
	f=$(grep -aE "$5" "$2" | tail -n 1 | grep -oE '[0-9]+' | tail -n 1)
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

if [ "$want" = all ] || [ "$want" = unit ]; then
	for t in build/tests/test_*; do
		[ -x "$t" ] || continue
		name=$(basename "$t")
		[ -n "$filter" ] && [[ "$name" != *"$filter"* ]] && continue
		echo "== $name"
		"$t" > "$log_dir/$name.log" 2>&1; rc=$?
		grep -aE '^(FAIL|skip) |check failed|: [^ ]+ (==|~=) ' "$log_dir/$name.log" | head -n 40
		tail -n 1 "$log_dir/$name.log"
		add_counts "$name" "$log_dir/$name.log" "$rc" '^[0-9]+ passed, [0-9]+ failed$' '^[0-9]+ passed, [0-9]+ failed$'
	done
fi

run_node() { # $1 = a node:test file; $2 = a regex of diagnostic lines to show
	local t=$1 name rc
	name=$(basename "$t" .test.mjs)
	[ -n "$filter" ] && [[ "$name" != *"$filter"* ]] && return
	echo "== $t"
	node --test --test-reporter=tap "$t" > "$log_dir/$name.log" 2>&1; rc=$?
	[ -n "${2:-}" ] && grep -aE "$2" "$log_dir/$name.log"
	grep -aE '^\s*not ok|^# (Subtest|skip)' "$log_dir/$name.log" | grep -a 'not ok' -A0 | head -n 20
	grep -aE '^# (pass|fail|skipped)' "$log_dir/$name.log" | tr '\n' ' '; echo
	add_counts "$name" "$log_dir/$name.log" "$rc" '^# pass [0-9]+' '^# fail [0-9]+'
}

if [ "$want" = all ] || [ "$want" = node ]; then
	for t in tests/api/*.test.mjs tests/browser/*.test.mjs tests/tools/*.test.mjs; do
		[ -f "$t" ] && run_node "$t"
	done
fi

if [ "$want" = all ] || [ "$want" = e2e ]; then
	for t in tests/e2e/*.test.mjs; do
		[ -f "$t" ] && run_node "$t" '^# (round|learning|demo init|settings| +[0-9]+ )'
	done
fi

if [ ${#broken[@]} -gt 0 ]; then
	echo "failing suites: ${broken[*]} (logs in $log_dir/)"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
