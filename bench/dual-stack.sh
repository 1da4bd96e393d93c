#!/usr/bin/env bash
# dual-stack.sh N [RUNS] — a dual-stack lab's deploy and destroy against the
# same lab IPv4-only (issue 21): N busybox nodes on one bridge, deployed with
# `leolab deploy -q` and destroyed, IPv4-only and with `ipv6: true`
# alternately, RUNS times each (default 2). Prints one line per run:
#   KIND N deploy SECONDS destroy SECONDS mcast FRAMES ports DELIVERED
# (FRAMES: multicast frames the host side of the lab's bridge received
# while the lab came up; DELIVERED: frames the bridge sent out of all its
# ports, what the nodes' stacks had to take in, so a flood shows as N²)
# and the ratio of the median dual-stack deploy to the median IPv4 one. KINDS="ipv4 dual autoconf" adds a
# dual-stack lab whose nodes, once up, set the node sysctls
# net.ipv6.conf.eth0.addr_gen_mode 0 and router_solicitations -1 (the
# kernel's defaults, which leolab turns off). Uses bin/leolab (or $LEOLAB) and a throwaway --root; needs root.
set -euo pipefail

n=${1:?usage: dual-stack.sh N [RUNS]}
runs=${2:-2}
leolab=${LEOLAB:-bin/leolab}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

bits=24
while (((1 << (32 - bits)) - 3 < n)); do bits=$((bits - 1)); done
topo() { # topo LAB IPV6 [SYSCTLS] → the lab file (leobench's star lab, plus ipv6:)
	echo "name: $1"
	echo "ipv6: $2"
	echo "ipv4_pool: 10.229.0.0/16"
	[[ -z ${3:-} ]] || printf 'defaults:\n  sysctls: %s\n' "$3"
	echo "bridges:"
	echo "  lan: {subnet: 10.229.0.0/$bits}"
	echo "nodes:"
	for ((i = 1; i <= n; i++)); do echo "  n$i: {interfaces: {eth0: lan}}"; done
}
topo "bds4-$n" false >"$work/ipv4.yaml"
topo "bds6-$n" true >"$work/dual.yaml"
topo "bdsa-$n" true '{net.ipv6.conf.eth0.addr_gen_mode: 0, net.ipv6.conf.eth0.router_solicitations: -1}' >"$work/autoconf.yaml"

now() { date +%s.%N; }
declare -A deploys
for ((r = 1; r <= runs; r++)); do
	for kind in ${KINDS:-ipv4 dual}; do
		file=$work/$kind.yaml
		lab=$(sed -n 's/^name: //p' "$file")
		t0=$(now)
		"$leolab" --root "$work/root" deploy -q "$file"
		t1=$(now)
		dev=$("$leolab" --root "$work/root" inspect --lab "$lab" --format json | sed -n 's/.*"device": "\(.*\)".*/\1/p')
		mcast=$(cat "/sys/class/net/$dev/statistics/multicast")
		delivered=0
		for p in "/sys/class/net/$dev/brif/"*; do
			delivered=$((delivered + $(cat "/sys/class/net/${p##*/}/statistics/tx_packets")))
		done
		"$leolab" --root "$work/root" destroy --lab "$lab"
		t2=$(now)
		up=$(echo "$t1 - $t0" | bc) down=$(echo "$t2 - $t1" | bc)
		printf '%s %d deploy %.2f destroy %.2f mcast %d ports %d\n' "$kind" "$n" "$up" "$down" "$mcast" "$delivered"
		deploys[$kind]+="$up "
	done
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
m4=$(echo "${deploys[ipv4]}" | median) m6=$(echo "${deploys[dual]}" | median)
printf 'median deploy: ipv4 %.2f s, dual-stack %.2f s, ratio %.2f\n' "$m4" "$m6" "$(echo "$m6 / $m4" | bc -l)"
