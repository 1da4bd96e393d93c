// Package bridge applies a lab's resolved network wiring to the kernel: Linux
// bridges, veth bridge ports and point-to-point veth links, addresses,
// routes, a node's IPv6 device defaults and the host's ip_forward (the
// sysctls a topology gives a node are written by the node's own init, not
// here), netem impairments, link up/down, the lab network
// namespace of isolated labs, /run/netns registrations and the per-lab
// iptables chains (NAT and FORWARD acceptance).
//
// It owns only devices, rules and registrations it is told about (by name,
// alias or chain) and never decides names, addresses or routes itself: those
// come resolved from topology.Plan, and every name (a bridge's MAC included)
// is made by internal/hostnames. It never touches processes, mounts other
// than /run/netns entries, or files outside /run/netns and /proc/sys.
//
// All link, address, route and qdisc work goes through netlink with one
// netlink.Handle per network namespace; nothing shells out to ip(8). iptables
// rules are written with go-iptables, which runs the iptables binary
// selected by $LEOLAB_IPTABLES (see IPTablesPath).
package bridge
