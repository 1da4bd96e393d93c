#!/bin/sh
# bench/multihost.sh LEOLAB: latency and throughput of a cross-host
# point-to-point link (VXLAN over a veth underlay between two network
# namespaces playing two hosts) against a local one (veth), on one machine.
# Needs root, nsenter and ip (this script only; leolab itself uses netlink).
set -eu
LEOLAB=${1:?usage: multihost.sh path/to/leolab}
W=$(mktemp -d)
A=mhbench-host-a B=mhbench-host-b
cleanup() {
	nsenter --net=/run/netns/$A "$LEOLAB" -q --root "$W/a" destroy --lab mhbench || true
	nsenter --net=/run/netns/$B "$LEOLAB" -q --root "$W/b" destroy --lab mhbench || true
	ip netns del $A 2>/dev/null || true
	ip netns del $B 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT
ip netns add $A
ip netns add $B
ip -n $A link add under0 type veth peer name under0 netns $B
ip -n $A addr add 10.250.78.1/24 dev under0
ip -n $B addr add 10.250.78.2/24 dev under0
for n in $A $B; do ip -n $n link set lo up; ip -n $n link set under0 up; done
cat > "$W/lab.yaml" <<'YAML'
name: mhbench
hosts:
  a: {address: 10.250.78.1}
  b: {address: 10.250.78.2}
nodes:
  h1: {}
  h2: {}
  h3: {host: b}
links:
  - {endpoints: [h1:eth1, h2:eth1], subnet: 10.202.1.0/30}   # local: veth
  - {endpoints: [h1:eth2, h3:eth1], subnet: 10.202.2.0/30}   # cross-host: VXLAN
YAML
nsenter --net=/run/netns/$A "$LEOLAB" -q --root "$W/a" deploy --host a "$W/lab.yaml"
nsenter --net=/run/netns/$B "$LEOLAB" -q --root "$W/b" deploy --host b "$W/lab.yaml"
run() { host=$1; shift; nsenter --net=/run/netns/mhbench-host-$host "$LEOLAB" --root "$W/$host" exec "$@"; }
measure() { # what host node target
	run "$2" "$3" -- sh -c 'sleep 60 </dev/null 2>/dev/null | nc -l -p 5001 >/dev/null 2>&1 &'
	sleep 0.5
	run a h1 -- ping -c 3 -W 1 "$4" >/dev/null
	lat=$(run a h1 -- ping -q -c 200 -i 0.01 "$4" | sed -n 's/.*= [0-9.]*\/\([0-9.]*\)\/.*/\1/p')
	# 1 GiB through nc; busybox time gives the wall time (its dd no rate).
	secs=$(run a h1 -- sh -c "time sh -c 'dd if=/dev/zero bs=64k count=16384 2>/dev/null | nc $4 5001' 2>&1" 2>&1 |
		sed -n 's/^real[^0-9]*\([0-9]*\)m \([0-9.]*\)s/\1 \2/p' | awk '{print $1*60+$2}')
	mbit=$(awk -v s="$secs" 'BEGIN { if (s > 0) printf "%.0f", 8 * 1024 / s; else print "?" }')
	printf '%-20s rtt avg %s ms   1 GiB in %s s = %s Mbit/s\n' "$1" "$lat" "$secs" "$mbit"
}
measure "local link (veth)" a h2 10.202.1.2
measure "cross-host (VXLAN)" b h3 10.202.2.2
