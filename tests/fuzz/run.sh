#!/usr/bin/env bash
# tests/fuzz/run.sh — runs libFuzzer targets one after the other, each for
# FUZZ_SECONDS (default 60), and says per target how many inputs it ran, the
# coverage it reached, whether it crashed, and which known defects it stepped
# around (tests/fuzz/fuzz.h fuzz_known).  Exits 1 when
# a target crashed (a sanitizer report, a failed check, a timeout, a leak).
# Called by `make fuzz` (and .ci/run with FUZZ_SECONDS=10) after the build.
#
#   usage: run.sh build/fuzz/fuzz_NAME...
#
# Each target starts from a copy of its seed corpus tests/fuzz/corpus/NAME/
# in build/fuzz/run/NAME/corpus (the inputs it finds stay there, out of the
# tree); its log, crash inputs (crash-*, timeout-*, leak-*, oom-*) and
# known-* inputs go to build/fuzz/run/NAME/.  Scratch files of the targets go
# to a directory in /dev/shm (FUZZ_TMPDIR) removed at the end.  Replay a
# crash with `build/fuzz/fuzz_NAME build/fuzz/run/NAME/crash-...`.
#
# fuzz_api and fuzz_export run the server in the process: its thread frees a
# request's memory after the answer has gone out, so libFuzzer's per-input
# leak check would trigger on nearly every input and halve the speed; they
# run with -detect_leaks=0 and LeakSanitizer checks the whole run at exit
# instead (a leak then fails the target without a single input to replay).
set -u
cd "$(dirname "$0")/../.."
seconds=${FUZZ_SECONDS:-60}
root=$(pwd)
out=build/fuzz/run
mkdir -p "$out"
tmp=$(mktemp -d "$( [ -d /dev/shm ] && echo /dev/shm || echo /tmp )/rlhfd-fuzz-run.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export FUZZ_TMPDIR=$tmp
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

failed=()
for bin in "$@"; do
	name=$(basename "$bin"); name=${name#fuzz_}
	dir=$out/$name
	rm -rf "$dir" && mkdir -p "$dir/corpus"
	[ -d "tests/fuzz/corpus/$name" ] && cp tests/fuzz/corpus/"$name"/* "$dir/corpus/"
	seeds=$(ls "$dir/corpus" | wc -l)
	extra=()
	case $name in api | export) extra=(-detect_leaks=0) ;; esac
	FUZZ_ARTIFACTS=$root/$dir "$bin" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 \
		-print_final_stats=1 -artifact_prefix="$root/$dir/" "${extra[@]}" "$dir/corpus" \
		>"$dir/log" 2>&1
	rc=$?
	runs=$(grep -a '^stat::number_of_executed_units:' "$dir/log" | grep -oE '[0-9]+' | tail -n 1)
	rate=$(grep -a '^stat::average_exec_per_sec:' "$dir/log" | grep -oE '[0-9]+' | tail -n 1)
	cov=$(grep -aoE 'cov: [0-9]+ ft: [0-9]+' "$dir/log" | tail -n 1)
	corpus=$(ls "$dir/corpus" | wc -l)
	crash=$(ls "$dir" | grep -E '^(crash|timeout|leak|oom|slow-unit)-' | head -n 1)
	verdict="no crash"
	if [ "$rc" -ne 0 ] || [ -n "$crash" ] || grep -aq 'ERROR: LeakSanitizer' "$dir/log"; then
		verdict="CRASHED (exit $rc)"
		failed+=("$name")
	fi
	printf 'fuzz %-10s %9s runs in %ss (%s/s), %s, corpus %s -> %s: %s\n' "$name" "${runs:-?}" \
		"$seconds" "${rate:-?}" "${cov:-cov: ?}" "$seeds" "$corpus" "$verdict"
	grep -a '^KNOWN DEFECT: .* inputs stepped around' "$dir/log" | sed "s|^|    |"
	for k in "$dir"/known-*; do
		[ -e "$k" ] && echo "    known-defect input: $k"
	done
	if [ "${#failed[@]}" -gt 0 ] && [ "${failed[-1]}" = "$name" ]; then
		[ -n "$crash" ] && echo "    input: $dir/$crash (replay: $bin $dir/$crash)"
		echo "    log: $dir/log"
		# the report: its first lines and the stack frames of our code
		grep -aE '^fuzz: |ERROR: |SUMMARY: |^(READ|WRITE) |^ +#[0-9]+ 0x[0-9a-f]+ in ' "$dir/log" |
			grep -avE 'fuzzer::|__libc_start|in _start |in main \(' | head -n 20 |
			sed -E 's/ \(BuildId: [0-9a-f]+\)//; s/^/    | /'
	fi
done
if [ "${#failed[@]}" -gt 0 ]; then
	echo "fuzz: FAILED: ${failed[*]} crashed"
	exit 1
fi
echo "fuzz: no crash in ${#@} targets (${seconds}s each)"
