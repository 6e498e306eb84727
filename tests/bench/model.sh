#!/usr/bin/env bash
# tests/bench/model.sh — model throughput: training (forward + backward + AdamW)
# and batched sampling, rlhfd against PyTorch (Debian python3-torch) on the
# same Llama 2 shapes, at 1 and 2 threads, as one compact table.
#
#   stories15M:  dim 288, hidden 768, 6 layers, 6 heads, 6 kv heads, vocab 32000,
#                seq 256; training batch 8 x 256 tokens
#   stories260K: dim 64, hidden 172, 5 layers, 8 heads, 4 kv heads, vocab 512,
#                seq 512 (as stories260K was trained); training batch 8 x 512
#   sampling:    one prompt token, K = 1 and K = 4 sequences, 200 new tokens each
#   many prompts: the demo model's shape (dim 192, hidden 512, 4 layers, 6 heads,
#                vocab 1024, seq 192), K = 4 answers to each of 1, 4 or 16 prompts
#                in one call, 96 new tokens each
#
# Environment: STEPS (training steps timed, default 3), SAMPLE_STEPS (200),
# THREADS ("1 2"), TORCH=0 to skip PyTorch.  Figures are tokens/s; each run is
# pinned with taskset to as many cores as it has threads.
set -u
cd "$(dirname "$0")/../.."
[ -x ./rlhfd ] || make -s rlhfd || exit 1
STEPS=${STEPS:-3}
SAMPLE_STEPS=${SAMPLE_STEPS:-200}
THREADS=${THREADS:-"1 2"}
TORCH=${TORCH:-1}
PY=/usr/bin/python3
log=build/bench-model.log
mkdir -p build
: > "$log"

shape_15m="--dim 288 --hidden 768 --layers 6 --heads 6 --kv-heads 6 --vocab 32000 --seq 256"
shape_260k="--dim 64 --hidden 172 --layers 5 --heads 8 --kv-heads 4 --vocab 512 --seq 512"

pin() { # $1 = threads: the cores 0..n-1
	if command -v taskset >/dev/null; then echo "taskset -c 0-$(($1 - 1))"; fi
}

# run <label> <command...>: prints the tokens_per_sec figure, or "-" if it failed
run() {
	local label=$1; shift
	echo "== $label: $*" >> "$log"
	local out
	out=$("$@" 2>&1); local rc=$?
	echo "$out" >> "$log"
	local v
	v=$(echo "$out" | tail -n 1 | sed -n 's/^tokens_per_sec=//p')
	if [ $rc -ne 0 ] || [ -z "$v" ]; then echo "-"; else printf '%.0f' "$v"; fi
}

have_torch=0
if [ "$TORCH" = 1 ] && [ -x "$PY" ] && "$PY" -c 'import torch' 2>/dev/null; then have_torch=1; fi

printf '%-12s %-3s | %12s %12s | %12s %12s %12s %12s\n' \
	shape thr "train rlhfd" "train torch" "K=1 rlhfd" "K=4 rlhfd" "K=1 torch" "K=4 torch"
for shape in 15m 260k; do
	eval "sh=\$shape_$shape"
	name=stories15M; [ "$shape" = 260k ] && name=stories260K
	for t in $THREADS; do
		p=$(pin "$t")
		tr=$(run "train $shape t$t" $p ./rlhfd bench train $sh --batch 8 --steps "$STEPS" --threads "$t")
		s1=$(run "sample $shape t$t K1" $p ./rlhfd bench sample $sh --batch 1 --steps "$SAMPLE_STEPS" --threads "$t")
		s4=$(run "sample $shape t$t K4" $p ./rlhfd bench sample $sh --batch 4 --steps "$SAMPLE_STEPS" --threads "$t")
		if [ $have_torch = 1 ]; then
			pt=$(run "torch train $shape t$t" $p "$PY" tests/bench/torch_bench.py train $sh --batch 8 --steps "$STEPS" --threads "$t")
			p1=$(run "torch sample $shape t$t K1" $p "$PY" tests/bench/torch_bench.py sample $sh --batch 1 --steps "$SAMPLE_STEPS" --threads "$t")
			p4=$(run "torch sample $shape t$t K4" $p "$PY" tests/bench/torch_bench.py sample $sh --batch 4 --steps "$SAMPLE_STEPS" --threads "$t")
		else
			pt=-; p1=-; p4=-
		fi
		printf '%-12s %-3s | %12s %12s | %12s %12s %12s %12s\n' \
			"$name" "$t" "$tr" "$pt" "$s1" "$s4" "$p1" "$p4"
	done
done
echo "(tokens/s; training = batch 8 x seq tokens per optimizer step; full output in $log)"

# Many prompts per call (infer_generate_batch, as the generate job, RL rollouts
# and the promotion gate sample): the demo model's shape, K = 4 answers per
# prompt, 96 new tokens each (the generate job's max_tokens), top-p 0.95.
shape_demo="--dim 192 --hidden 512 --layers 4 --heads 6 --kv-heads 6 --vocab 1024 --seq 192"
echo
printf '%-12s %-3s | %14s %14s %14s\n' shape thr "1 prompt/call" "4 prompts" "16 prompts"
for t in $THREADS; do
	p=$(pin "$t")
	row=()
	for np in 1 4 16; do
		row+=("$(run "sample demo t$t P$np" $p ./rlhfd bench sample $shape_demo --batch 4 --prompts "$np" --steps 96 --top-p 0.95 --threads "$t")")
	done
	printf '%-12s %-3s | %14s %14s %14s\n' demo "$t" "${row[@]}"
done
echo "(tokens/s of K = 4 answers to each prompt of one call; full output in $log)"
