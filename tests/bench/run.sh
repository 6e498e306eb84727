#!/usr/bin/env bash
# tests/bench/run.sh — `make bench`: every benchmark in turn.  Each prints its own
# figures; nothing here is a pass/fail test.
set -u
cd "$(dirname "$0")/../.."
status=0
for b in tests/bench/model.sh tests/bench/ratings.sh tests/bench/worker_latency.sh; do
	[ -f "$b" ] || continue
	echo "== $b"
	bash "$b" || status=1
done
exit $status
