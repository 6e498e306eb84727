#!/usr/bin/env bash
# tests/check_layers.sh — fails when an #include crosses a line the layout forbids
# (DESIGN.md "Layout"; each area's main header says what the area may use).
#
#   model/          includes nothing of db/ or server/
#   db/             includes nothing of model/ or server/
#   server/worker/  model/, db/, its own headers; nothing of http/, demo/, cli/
#   server/http/    model/, db/, its own headers, server/worker/worker.h
#   server/demo/    model/, db/, its own headers, the worker's public headers
#   server/cli/     anything's public headers (it wires the areas together)
#
# A public header is one another area may include; every other header in an
# area is its own business.  Usage: check_layers.sh [ROOT] (default: the tree
# this script is in).  Prints each crossing as file:line: include, and exits 1
# when there is one.
set -u
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root" || exit 2

public="server/http/http.h
server/worker/worker.h server/worker/modelstore.h server/worker/gen.h server/worker/progress.h
server/demo/demo.h server/demo/demo_world.h server/demo/demo_model.h server/demo/rubric.h server/demo/httpc.h
server/cli/cli.h"

is_public() { case " $(echo $public) " in *" $1 "*) return 0 ;; esac; return 1; }

# may FILE's area include HEADER?
allowed() {
	local file=$1 inc=$2 area
	case $file in
	model/*) case $inc in model/*) return 0 ;; *) return 1 ;; esac ;;
	db/*)    case $inc in db/*) return 0 ;; *) return 1 ;; esac ;;
	server/*/*) area=${file#server/}; area=${area%%/*} ;;
	*) return 0 ;;
	esac
	case $inc in
	model/* | db/*) return 0 ;;
	server/$area/*) return 0 ;;
	server/*) ;;
	*) return 0 ;;   # "build/gen/..." and the like
	esac
	local other=${inc#server/}; other=${other%%/*}
	case $area:$other in
	worker:*) return 1 ;;
	http:worker) [ "$inc" = server/worker/worker.h ] ;;
	demo:worker | cli:*) is_public "$inc" ;;
	*) return 1 ;;
	esac
}

bad=0
n=0
while IFS= read -r f; do
	n=$((n + 1))
	while IFS=: read -r line inc; do
		inc=${inc#*\"}; inc=${inc%%\"*}
		if ! allowed "$f" "$inc"; then
			echo "$f:$line: includes \"$inc\", which its layer may not use"
			bad=1
		fi
	done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f")
done < <(find model db server -name '*.[ch]' | sort)

if [ "$bad" != 0 ]; then
	echo "check-layers: FAILED (see the layout in tests/check_layers.sh)"
	exit 1
fi
echo "check-layers: $n files, no include crosses a layer"
