#!/usr/bin/env bash
# tests/bench/loop.sh — `make bench-loop`: the end-to-end learning loop
# (tests/e2e/learning.test.mjs, default settings, the demo model) over seeds
# 1, 2 and 3 (LOOP_SEEDS to choose), printing each run's table per round —
# ratings used, reward-model accuracy (held-out split, cross-validated) with 95 % intervals, what
# the gates decided, KL, the eval rubric mean, seconds — and its whole log in
# build/bench/loop-seed<N>.log; then that run's development measure
# (tests/bench/dev.mjs: every model of the run on the eval texts of the demo
# world under other seeds — the held-out items in other words — the split
# settings are chosen on, where the eval is the split they are reported on;
# log in build/bench/dev-seed<N>.log); then the runs together
# (tests/bench/loop_summary.mjs: each figure's mean over the seeds with its
# 95 % t interval, and how many runs reach the issue's floors).  Then the
# "uncertain vs fifo" table (tests/bench/queue_curve.mjs: reward-model
# accuracy against ratings for queue_order "uncertain" and "fifo", seeds
# QUEUE_SEEDS, default 1 2 3, and the labels saved at equal accuracy; log in
# build/bench/queue.log).
# LOOP_PARTS ("learning queue") runs one part alone.
set -u
cd "$(dirname "$0")/../.."
mkdir -p build/bench
status=0
parts=${LOOP_PARTS:-learning queue}
case " $parts " in *" learning "*) ;; *) LOOP_SEEDS=" " ;; esac
for seed in ${LOOP_SEEDS:-1 2 3}; do
	log=build/bench/loop-seed$seed.log
	echo "== loop, seed $seed (log: $log)"
	RLHFD_E2E_KEEP=1 RLHFD_E2E_SETTINGS="{\"seed\":$seed}" \
		node --test --test-reporter=tap tests/e2e/learning.test.mjs >"$log" 2>&1 || status=1
	sed -n 's/^# //p' "$log" | grep -E '^(round|learning curve|demo init|settings|rise of)|^ +[0-9]' || echo "   (no table: see $log)"
	kept=$(sed -n 's/.*data kept in //p' "$log" | tail -1)
	if [ -n "$kept" ] && [ -d "$kept" ]; then
		node tests/bench/dev.mjs "$kept" >build/bench/dev-seed$seed.log 2>&1 || status=1
		sed -n '/^dev /,$p' build/bench/dev-seed$seed.log | grep . || { echo "   (no dev table: see build/bench/dev-seed$seed.log)"; status=1; }
		rm -rf "$kept"
	fi
done
# the runs together: means over seeds with their t intervals, against the floors
case " $parts " in *" learning "*) node tests/bench/loop_summary.mjs ${LOOP_SEEDS:-1 2 3} || status=1 ;; esac
case " $parts " in
*" queue "*)
	echo "== uncertain vs fifo (log: build/bench/queue.log)"
	node tests/bench/queue_curve.mjs >build/bench/queue.log 2>&1 || status=1
	sed -n '/^uncertain vs fifo/,$p' build/bench/queue.log | grep . || { echo "   (no table: see build/bench/queue.log)"; status=1; }
	;;
esac
exit $status
