#!/usr/bin/env bash
# capture-bench.sh [MIB] — how much of a bulk TCP transfer `leolab capture`
# records, and what it costs. Deploys a two-node lab (a:eth1 — b:eth1, busybox),
# sends MIB MiB (default 4096) from a to b with bench/tcpbulk (a static Go
# sender/receiver bound into the nodes), first without a
# capture, then while `leolab capture a:eth1 > /dev/null` runs, and prints:
#   the transfer's rate with and without the capture,
#   frames the interface counters saw (tx + rx of a:eth1) against frames the
#   capture recorded and the kernel's drop count (from capture's stderr),
#   the capture process's CPU time per Gbit transferred.
# BUFFER_MIB sets capture's -B (default 32); ENDPOINTS="a:eth1 b:eth1" captures both
# ends of the link (each sees every frame: the expected count doubles). Needs root and bin/leolab (make build). Leaves nothing behind: the lab is
# destroyed and its temporary root removed on any exit.
set -euo pipefail

mib=${1:-4096}
endpoints=${ENDPOINTS:-a:eth1}
here=$(cd "$(dirname "$0")" && pwd)
leolab=${LEOLAB:-$here/../bin/leolab}
tmp=$(mktemp -d)
root=$tmp/root
lab=capbench
L() { "$leolab" --root "$root" "$@"; }
cleanup() {
	set +e
	[ -n "${cap_pid:-}" ] && kill -INT "$cap_pid" 2>/dev/null && wait "$cap_pid" 2>/dev/null
	L destroy --lab "$lab" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT

CGO_ENABLED=0 go build -o "$tmp/tcpbulk" "$here/tcpbulk"
cat >"$tmp/lab.yaml" <<YAML
name: $lab
defaults: {binds: ["$tmp/tcpbulk:/usr/local/bin/tcpbulk:ro"]}
nodes:
  a: {}
  b: {}
links:
  - endpoints: [a:eth1, b:eth1]
YAML
L -q deploy "$tmp/lab.yaml" >/dev/null

counters() { # tx+rx packets of a:eth1
	L exec a -- sh -c 'echo $(( $(cat /sys/class/net/eth1/statistics/tx_packets) + $(cat /sys/class/net/eth1/statistics/rx_packets) ))'
}
now() { date +%s.%N; }

# transfer: sends $mib MiB from a to b, prints the elapsed seconds.
transfer() {
	L exec b -- tcpbulk -l 5001 >/dev/null &
	local srv=$!
	sleep 0.5
	local t0 t1
	t0=$(now)
	L exec a -- tcpbulk -c b-eth1:5001 -n $((mib * 1048576))
	wait "$srv" || true
	t1=$(now)
	echo "$t1 - $t0" | bc -l
}

gbit=$(echo "$mib * 1048576 * 8 / 1000000000" | bc -l)

base=$(transfer)

"$leolab" --root "$root" capture -B "${BUFFER_MIB:-32}" $endpoints >/dev/null 2>"$tmp/cap.err" &
cap_pid=$!
until grep -q '^capturing on' "$tmp/cap.err"; do sleep 0.1; done
c0=$(counters)
with=$(transfer)
c1=$(counters)
read -r ut st < <(awk '{print $14, $15}' /proc/$cap_pid/stat)
kill -INT "$cap_pid"
wait "$cap_pid"
cap_pid=
tick=$(getconf CLK_TCK)
cpu=$(echo "($ut + $st) / $tick" | bc -l)
captured=$(awk '/ packets captured, / {n += $2} END {print n}' "$tmp/cap.err")
dropped=$(awk '/ packets captured, / {n += $5} END {print n}' "$tmp/cap.err")
frames=$(( (c1 - c0) * $(echo $endpoints | wc -w) ))

printf 'transfer            %d MiB (%.2f Gbit)\n' "$mib" "$gbit"
printf 'without capture     %.2f s  %.2f Gbit/s\n' "$base" "$(echo "$gbit / $base" | bc -l)"
printf 'with capture        %.2f s  %.2f Gbit/s\n' "$with" "$(echo "$gbit / $with" | bc -l)"
printf 'interface frames    %d (tx+rx of a:eth1 while capturing, times %d endpoints)\n' "$frames" "$(echo $endpoints | wc -w)"
printf 'captured            %d (%.2f %% of the interface frames)\n' "$captured" "$(echo "100 * $captured / $frames" | bc -l)"
printf 'dropped (kernel)    %d\n' "$dropped"
printf 'capture CPU         %.2f s in all, %.0f ms per Gbit transferred\n' "$cpu" "$(echo "1000 * $cpu / $gbit" | bc -l)"
