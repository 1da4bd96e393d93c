#!/usr/bin/env bash
# raw-baseline.sh N — the hand-written reference leolab is measured against:
# N nodes on one Linux bridge, each a network namespace with a veth pair, an
# address, and `unshare -pfmu --mount-proc sleep` running in it. Host-side
# steps (netns, veth, bridge ports) go through one `ip -batch`; each node's
# own address and links through one `ip -n NS -batch`. Prints
#   up SECONDS
#   down SECONDS
# and leaves nothing behind (a trap removes everything on any exit).
# RAW_NO_IPV6_AUTOCONF=1 sets `addrgenmode none` on the bridge and every veth
# end before it comes up, as leolab does (no link-local addresses, so no IPv6
# chatter flooded through the bridge); the default is the issue's method.
set -euo pipefail

n=${1:?usage: raw-baseline.sh N}
pfx=lbraw            # netns lbraw-I, host veth lbrawvI, bridge lbrawbr
br=${pfx}br
tmp=$(mktemp -d)
pids=()

now() { date +%s.%N; }

cleanup() {
	set +e
	((${#pids[@]})) && { kill -KILL "${pids[@]}"; wait; } 2>/dev/null
	{
		ip -o link show | awk -F': ' -v p="${pfx}v" 'index($2, p) == 1 {sub(/@.*/, "", $2); print "link del " $2}'
		ip netns list | awk -v p="$pfx-" 'index($1, p) == 1 {print "netns del " $1}'
	} >"$tmp/clean"
	echo "link del $br" >>"$tmp/clean"
	ip -force -batch "$tmp/clean" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# The subnet must hold n nodes plus the bridge's address: 10.250.0.0/bits.
bits=24
while (((1 << (32 - bits)) - 3 < n)); do bits=$((bits - 1)); done
addr() { # addr I → 10.250.x.y of node I (the bridge is .1)
	local v=$(($1 + 1))
	echo "10.250.$((v >> 8)).$((v & 255))"
}

quiet6() { # quiet6 DEV → the batch line that turns its IPv6 autoconf off, if asked
	[[ ${RAW_NO_IPV6_AUTOCONF:-} != 1 ]] || echo "link set $1 addrgenmode none"
}

t0=$(now)
{
	echo "link add $br type bridge"
	quiet6 "$br"
	echo "link set $br up"
	for ((i = 1; i <= n; i++)); do
		echo "netns add $pfx-$i"
		echo "link add ${pfx}v$i type veth peer name eth0 netns $pfx-$i"
		quiet6 "${pfx}v$i"
		echo "link set ${pfx}v$i master $br up"
	done
} >"$tmp/up"
ip -batch "$tmp/up"
for ((i = 1; i <= n; i++)); do
	{
		echo "addr add $(addr "$i")/$bits dev eth0"
		quiet6 eth0
		printf 'link set eth0 up\nlink set lo up\n'
	} | ip -n "$pfx-$i" -batch -
	nsenter --net="/run/netns/$pfx-$i" unshare -pfmu --mount-proc --kill-child sleep infinity </dev/null >/dev/null 2>&1 &
	pids+=($!)
done
# Up means every node's sleep runs (unshare -f forks it as the node's PID 1).
for p in "${pids[@]}"; do
	# (procfs reports size 0 and no newline: read the list, test what came)
	c=
	until [[ -n $c ]]; do
		read -r c </proc/$p/task/$p/children || true
		[[ -n $c ]] || sleep 0.001
	done
done
t1=$(now)
echo "up $(echo "$t1 - $t0" | bc)"

t0=$(now)
# bash reports each killed job on stderr: keep that off, ip's errors on.
exec 3>&2 2>/dev/null
kill -KILL "${pids[@]}"
wait || true
pids=()
{
	for ((i = 1; i <= n; i++)); do echo "netns del $pfx-$i"; done
	echo "link del $br"
} >"$tmp/down"
ip -batch "$tmp/down" 2>&3
t1=$(now)
exec 2>&3
echo "down $(echo "$t1 - $t0" | bc)"
# A deleted netns frees its devices later, in a kernel work queue (the
# reference method does not wait for that; untimed, we do, so the host is
# clean when the script returns).
for ((k = 0; k < 6000; k++)); do
	ip -o link show | grep -q "${pfx}v" || break
	sleep 0.01
done
