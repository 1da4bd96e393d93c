#!/bin/bash
# apply.sh: what `leolab apply` costs on a big running lab.
#   apply.sh up N      deploy lab applybench with N busybox nodes (bridges of
#                      at most 250 ports, every pair of nodes also linked)
#   apply.sh add N     add one node to the running N-node lab, then remove it
#                      again (two applies); prints each one's seconds
#   apply.sh one       deploy a one-node lab, then destroy it (the yardstick
#                      for add); prints each one's seconds
#   apply.sh noop N    apply the running N-node lab's own file (no change)
#   apply.sh down      destroy both labs
# Needs root and a built leolab ($LEOLAB, default bin/leolab); files go to
# $APPLY_BENCH_DIR (default /tmp/leolab-apply-bench). Whole-process figures
# come from timing `apply.sh add 500` against `apply.sh one`, and
# `apply.sh noop 1000` alone, with any process timer (/usr/bin/time -v).
set -euo pipefail
LEOLAB=${LEOLAB:-bin/leolab}
DIR=${APPLY_BENCH_DIR:-/tmp/leolab-apply-bench}
LAB=applybench
mkdir -p "$DIR"

# gen N EXTRA FILE: a lab of N nodes n0..n(N-1), plus EXTRA more at the end.
gen() {
	local n=$1 extra=$2 file=$3 total=$(( $1 + $2 ))
	{
		echo "name: $LAB"
		echo "ipv4_pool: 10.80.0.0/12"
		echo "bridges:"
		for b in $(seq 0 $(( (total - 1) / 250 ))); do echo "  b$b: {}"; done
		echo "nodes:"
		for i in $(seq 0 $(( total - 1 ))); do echo "  n$i: {interfaces: {eth0: b$(( i / 250 ))}}"; done
		echo "links:"
		for i in $(seq 0 2 $(( n - 2 ))); do echo "  - endpoints: [n$i:eth1, n$(( i + 1 )):eth1]"; done
	} > "$file"
}

secs() { local t0=$1; echo "$(date +%s.%N) - $t0" | bc; }

case ${1:-} in
up)
	gen "$2" 0 "$DIR/n$2.yaml"
	$LEOLAB deploy -q "$DIR/n$2.yaml" >/dev/null
	;;
add)
	[ -f "$DIR/n$2+1.yaml" ] || gen "$2" 1 "$DIR/n$2+1.yaml"
	t0=$(date +%s.%N); $LEOLAB apply -q "$DIR/n$2+1.yaml" >/dev/null; a=$(secs "$t0")
	t0=$(date +%s.%N); $LEOLAB apply -q "$DIR/n$2.yaml" >/dev/null; r=$(secs "$t0")
	echo "add_one_s=$a remove_one_s=$r"
	;;
one)
	printf 'name: applyone\nbridges: {b0: {}}\nnodes:\n  n0: {interfaces: {eth0: b0}}\n' > "$DIR/one.yaml"
	t0=$(date +%s.%N); $LEOLAB deploy -q "$DIR/one.yaml" >/dev/null; a=$(secs "$t0")
	t0=$(date +%s.%N); $LEOLAB destroy --lab applyone >/dev/null; r=$(secs "$t0")
	echo "deploy_one_s=$a destroy_one_s=$r"
	;;
noop)
	$LEOLAB apply -q "$DIR/n$2.yaml" >/dev/null
	;;
down)
	$LEOLAB destroy --lab $LAB >/dev/null 2>&1 || true
	$LEOLAB destroy --lab applyone >/dev/null 2>&1 || true
	;;
*)
	sed -n '2,14p' "$0" >&2
	exit 2
	;;
esac
