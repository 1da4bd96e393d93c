// Package check owns the two teaching tools that read a running lab's kernel
// state: checks (`leolab check`, `deploy --check`), which verify a lab
// against the expectations of a topology's checks: section or a separate
// checks file, retrying until they pass or time out, and trace
// (`leolab trace`), which follows a packet hop by hop through the nodes'
// routes, links and neighbour tables and names the node and reason where it
// stops.
//
// Everything is read over netlink with one handle per node network
// namespace (/run/netns/LAB-NODE) and from /proc on the host; nothing runs
// ip(8), and no tool has to exist inside a node. Pings (reach checks, the
// trace's confirmation, neighbour probes) are ICMP echo requests sent from a
// raw socket opened inside the node's network namespace, so they leave with
// the node's own routes, source address and firewall, and work on a node
// whose root filesystem has no ping. Only exec checks run a command in a
// node (through the node's init, as `leolab exec` does). The package never
// changes a lab: the only packets it sends are those pings.
//
// It does not know where labs are kept: package labs describes a running
// lab to it as a Lab (plan, namespace paths, init pids, an exec function).
package check
