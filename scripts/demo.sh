#!/usr/bin/env bash
# The README's first command: deploy a real lab on the built-in busybox rootfs,
# show a ping between nodes, and destroy it, leaving nothing behind. Nodes
# are named LAB/NODE, so labs already running on the host never make a name
# ambiguous.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=./bin/leolab
topo=labs/examples/demo.yaml
trap '$bin destroy "$topo" >/dev/null 2>&1 || true' EXIT

echo "== validate"
$bin validate "$topo"
echo
echo "== deploy"
$bin deploy --reconfigure "$topo"
echo
echo "== h1 pings h2 (same LAN, through the bridge)"
$bin exec demo/h1 -- ping -c 3 -W 2 h2
echo
echo "== h1 pings h3 (other LAN, through router r1)"
$bin exec demo/h1 -- ping -c 3 -W 2 h3
echo
echo "== inside h1: hostname, processes, routes"
$bin exec demo/h1 -- sh -c 'hostname; ps; ip route'
echo
echo "== destroy"
$bin destroy "$topo"
trap - EXIT
echo "demo done: nothing left on the host"
