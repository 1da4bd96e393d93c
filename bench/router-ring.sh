#!/bin/bash
# router-ring.sh N [ROOTFS]: deploy an OSPF ring of N FRR routers, time the
# deploy and the convergence (until every router has an OSPF route to every
# other router's loopback), and measure the memory (PSS) of each router's
# processes. Needs root and a built leolab ($LEOLAB, default bin/leolab);
# ROOTFS defaults to debian:bookworm+frr, built first (and timed) if it is
# not cached yet. Prints one line of key=value results; leaves nothing.
set -euo pipefail
N=${1:?usage: router-ring.sh N [ROOTFS]}
ROOTFS=${2:-debian:bookworm+frr}
LEOLAB=${LEOLAB:-bin/leolab}
LAB=ring$N
dir=$(mktemp -d)
trap '$LEOLAB destroy --lab $LAB >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT

now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc; }

# Topology: r_i eth1 -- r_{i+1} eth2, a /30 each (10.0.x.y), loopbacks
# 10.255.0.i/32 set by zebra, point-to-point OSPF with 1 s hellos.
{
	echo "name: $LAB"
	echo "ipv4_pool: 10.0.0.0/16"
	echo "defaults: {rootfs: '$ROOTFS'}"
	echo "nodes:"
	for i in $(seq 1 "$N"); do
		cat <<NODE
  r$i:
    frr:
      daemons: [ospfd]
      config: |
        hostname r$i
        interface lo
         ip address 10.255.$((i / 256)).$((i % 256))/32
        interface eth1
         ip ospf network point-to-point
         ip ospf hello-interval 1
        interface eth2
         ip ospf network point-to-point
         ip ospf hello-interval 1
        router ospf
         ospf router-id 10.255.$((i / 256)).$((i % 256))
         network 10.0.0.0/8 area 0
NODE
	done
	echo "links:"
	for i in $(seq 1 "$N"); do
		echo "  - endpoints: [r$i:eth1, r$(( i % N + 1 )):eth2]"
	done
} > "$dir/ring.yaml"

build=0
if ! $LEOLAB image ls 2>/dev/null | grep -qF "$ROOTFS"; then
	t0=$(now)
	$LEOLAB image build "$ROOTFS" >/dev/null
	build=$(elapsed "$t0" "$(now)")
fi

t0=$(now)
$LEOLAB deploy -q "$dir/ring.yaml" >/dev/null
t1=$(now)

# Converged: every router has N-1 OSPF routes to loopbacks.
converged() {
	for i in $(seq 1 "$N"); do
		c=$(ip netns exec "$LAB-r$i" ip -4 route show proto ospf | grep -c '^10\.255\.' || true)
		[ "$c" -eq $((N - 1)) ] || return 1
	done
}
deadline=$(( $(date +%s) + ${RING_TIMEOUT:-600} ))
until converged; do
	[ "$(date +%s)" -lt "$deadline" ] || { echo "not converged after 600 s" >&2; exit 1; }
	sleep 0.5
done
t2=$(now)

# PSS of each router: every process in its PID namespace, init included
# (one pass over /proc, matching each process's PID namespace).
declare -A router_ns pss_by
for pid in $($LEOLAB inspect --lab "$LAB" --format json | grep -o '"pid": *[0-9]*' | grep -o '[0-9]*$'); do
	router_ns[$(readlink "/proc/$pid/ns/pid")]=1
done
pss_total=0
for p in /proc/[0-9]*; do
	ns=$(readlink "$p/ns/pid" 2>/dev/null) || continue
	[ -n "${router_ns[$ns]:-}" ] || continue
	kb=$(awk '/^Pss:/ {print $2}' "$p/smaps_rollup" 2>/dev/null || echo 0)
	comm=$(cat "$p/comm" 2>/dev/null || echo gone)
	pss_total=$((pss_total + ${kb:-0}))
	pss_by[$comm]=$(( ${pss_by[$comm]:-0} + ${kb:-0} ))
done

t3=$(now)
$LEOLAB destroy --lab "$LAB" >/dev/null
t4=$(now)
by=""
for comm in "${!pss_by[@]}"; do by="$by $comm=$(( pss_by[$comm] / N ))"; done
echo "routers=$N image_build_s=$build deploy_s=$(elapsed "$t0" "$t1") converge_after_deploy_s=$(elapsed "$t1" "$t2") deploy_and_converge_s=$(elapsed "$t0" "$t2") pss_kib_per_router=$((pss_total / N)) destroy_s=$(elapsed "$t3" "$t4") pss_kib_per_router_by_process:$by"
