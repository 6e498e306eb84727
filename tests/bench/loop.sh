#!/usr/bin/env bash
# tests/bench/loop.sh — `make bench-loop`: the end-to-end learning loop
# (tests/e2e/learning.test.mjs, default settings, the demo model) over seeds
# 1, 2 and 3 (LOOP_SEEDS to choose), printing each run's table per round —
# ratings used, reward-model held-out accuracy with its 95 % interval, what
# the gates decided, KL, the eval rubric mean, seconds — and its whole log in
# build/bench/loop-seed<N>.log.
set -u
cd "$(dirname "$0")/../.."
mkdir -p build/bench
status=0
for seed in ${LOOP_SEEDS:-1 2 3}; do
	log=build/bench/loop-seed$seed.log
	echo "== loop, seed $seed (log: $log)"
	RLHFD_E2E_SETTINGS="{\"seed\":$seed}" node --test --test-reporter=tap tests/e2e/learning.test.mjs >"$log" 2>&1 || status=1
	sed -n 's/^# //p' "$log" | grep -E '^(round|learning curve|demo init|settings)|^ +[0-9]' || echo "   (no table: see $log)"
done
exit $status
