#!/usr/bin/env bash
# tests/bench/worker_latency.sh — rating latency while the worker trains (part
# of `make bench`).
#
# The worker thread uses every core for a training job at normal priority;
# this measures what that costs the raters.  It makes a demo-sized model
# (~1.3M parameters: dim 128, 6 layers, a 1024-token BPE vocabulary, a few
# training steps — the weights don't matter, the cost of a step does), imports
# it, seeds raters and imported answers through the API, then drives POST
# /api/ratings with wrk twice for BENCH_SECONDS each:
#   1. idle worker;
#   2. while an SFT job trains on those answers (checked to be running, and
#      its progress to rise, during the run);
# and prints p50/p99/max and ratings/s of both.  Each run rates fresh
# (rater, group) pairs (two seeded sets).
#
# Environment: BENCH_SECONDS (10), BENCH_CONNS (4: a few raters at once;
#              32 to saturate), BENCH_THREADS (2), BENCH_RATERS (32),
#              BENCH_GROUPS (1500), BENCH_K (4), BENCH_SERVER_ARGS,
#              BENCH_TMP (/tmp), BENCH_VERBOSE.
set -euo pipefail
cd "$(dirname "$0")/../.."

secs=${BENCH_SECONDS:-10}; conns=${BENCH_CONNS:-4}; threads=${BENCH_THREADS:-2}
raters=${BENCH_RATERS:-32}; groups=${BENCH_GROUPS:-1500}; k=${BENCH_K:-4}

command -v wrk >/dev/null 2>&1 || { echo "worker latency bench: 'wrk' is not installed" >&2; exit 1; }
[ -x ./rlhfd ] || { echo "worker latency bench: ./rlhfd not built (run make)" >&2; exit 1; }

tmp=$(mktemp -d "${BENCH_TMP:-/tmp}/rlhfd-wlat-XXXXXX")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
token="bench-admin-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
url="http://127.0.0.1:$port"
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

api() { # method path [json body]
	python3 - "$url" "$token" "$@" <<'EOF'
import json, sys, urllib.request
url, token, method, path = sys.argv[1:5]
body = sys.argv[5].encode() if len(sys.argv) > 5 else None
req = urllib.request.Request(url + path, data=body, method=method)
req.add_header("Authorization", "Bearer " + token)
if body is not None:
    req.add_header("Content-Type", "application/json")
with urllib.request.urlopen(req, timeout=60) as r:
    print(r.read().decode())
EOF
}
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(d$1)"; }

echo "model: demo-sized, random-ish weights ..."
./rlhfd demo-data --pretrain "$tmp/pre.txt" --pretrain-bytes 300000 >/dev/null 2>&1
./rlhfd train-tokenizer --corpus "$tmp/pre.txt" --vocab 1024 --out "$tmp/tok.bin" >/dev/null
./rlhfd train-lm --tokenizer "$tmp/tok.bin" --data "$tmp/pre.txt" --out "$tmp/base.bin" --dim 128 \
	--hidden 344 --layers 6 --heads 8 --kv-heads 4 --seq 256 --steps 2 --batch 4 >/dev/null 2>&1
./rlhfd import-model --data "$tmp/data" --model "$tmp/base.bin" --tokenizer "$tmp/tok.bin" --activate >/dev/null

RLHFD_ADMIN_TOKEN=$token ./rlhfd serve --port "$port" --data "$tmp/data" ${BENCH_SERVER_ARGS:-} \
	>"$tmp/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 200); do
	python3 -c "import urllib.request; urllib.request.urlopen('$url/healthz', timeout=1)" 2>/dev/null && break
	kill -0 "$pid" 2>/dev/null || { echo "server exited:" >&2; cat "$tmp/server.log" >&2; exit 1; }
	sleep 0.05
done

echo "seeding: 2 x ($raters raters, $groups prompts x $k imported answers) ..."
python3 tests/bench/seed_ratings.py seed "$url" "$token" "$tmp/tasks1.txt" "$raters" "$groups" "$k"
python3 tests/bench/seed_ratings.py seed "$url" "$token" "$tmp/tasks2.txt" "$raters" "$groups" "$k"

run_wrk() { # label tasks-file
	wrk -t"$threads" -c"$conns" -d"${secs}s" --latency -s tests/bench/ratings.lua "$url" -- "$2" "$threads" \
		>"$tmp/wrk-$1.out" 2>&1 || { cat "$tmp/wrk-$1.out"; exit 1; }
	[ -n "${BENCH_VERBOSE:-}" ] && cat "$tmp/wrk-$1.out"
	local rps p50 p99 max
	rps=$(sed -n 's/^BENCH ratings_per_sec=\([0-9.]*\) .*/\1/p' "$tmp/wrk-$1.out")
	p50=$(sed -n 's/^latency p50 *\([0-9.]*\) ms/\1/p' "$tmp/wrk-$1.out")
	p99=$(sed -n 's/^latency p99 *\([0-9.]*\) ms/\1/p' "$tmp/wrk-$1.out")
	max=$(sed -n 's/^latency max *\([0-9.]*\) ms/\1/p' "$tmp/wrk-$1.out")
	printf "%-9s ratings/s %8s   p50 %7s ms   p99 %7s ms   max %8s ms   (%d connections)\n" \
		"$1" "$rps" "$p50" "$p99" "$max" "$conns"
}

run_wrk idle "$tmp/tasks1.txt"

job=$(api POST /api/train '{"kind":"sft","params":{"epochs":1000,"batch_size":16,"activate":false}}' | field "['job_id']")
for _ in $(seq 1 600); do
	st=$(api GET "/api/jobs/$job" | field "['status'] + ' ' + str(d['progress'])")
	case "$st" in running\ 0|running\ 0.0|queued*) sleep 0.1 ;; running*) break ;;
		*) echo "the training job ended before the run: $st" >&2; tail "$tmp/server.log" >&2; exit 1 ;; esac
done
p0=$(api GET "/api/jobs/$job" | field "['progress']")
run_wrk training "$tmp/tasks2.txt"
read -r st p1 < <(api GET "/api/jobs/$job" | field "['status'] + ' ' + str(d['progress'])")
steps=$(api GET "/api/jobs/$job/metrics" | field "['series'].__len__()")
echo "the SFT job was $st throughout; progress $p0 -> $p1 ($steps metric values written so far)"
[ "$st" = running ] || { echo "the job was not running at the end of the run" >&2; exit 1; }
api POST "/api/jobs/$job/cancel" '{}' >/dev/null
