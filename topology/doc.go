// Package topology owns the lab topology file: parsing YAML with positions,
// applying defaults, validating every rule of SPEC §1 and resolving the file
// into a Plan in which every address, device name, MAC and route is decided.
// It never changes anything on the host; what it reads of the host (routes,
// running labs) comes through the HostView interface, and besides that it
// only stats bind sources and rootfs paths, and reads router config files
// (frr/bird config: a path) and the probe file (/usr/lib/frr/watchfrr,
// /usr/sbin/bird) of a directory rootfs.
//
// Two steps for callers: Decode (load.go) parses the file's bytes and
// checks every rule without consulting the host, so every located file
// error arises there; Resolve (hostplan.go) plans the decoded file against
// a HostView (routes, other labs' subnets, id blocks and netns names) and
// takes every host-side decision (lab namespace, NAT chain, forwarding,
// user-namespace id block, a lab across hosts' share) into the Plan, so a
// Plan is the lab's whole desired state. Inside Decode, the raw stage
// (raw.go) decodes the goccy/go-yaml AST into structs that keep the
// line:column of every value and checks types and keys; the resolve stage
// (resolve.go, node.go, routes.go) checks meaning, allocates addresses
// with package ipam and builds the Plan. Every violation is collected and
// returned at once as Errors, sorted by position.
//
// For leolab apply, Resolve takes the running lab's recorded plan
// (Env.Previous) and keeps its subnets and addresses (sticky.go), and
// Compare (diff.go) classifies what differs between two plans as added,
// removed, changed in place or recreated.
//
// Defensive reading: files over MaxFileSize are refused, YAML tags are
// refused outright, and nesting deeper than MaxDepth is refused on the
// token stream, before the parser (whose cost grows with depth) runs.
// Aliases and merge keys (<<), common in containerlab files, are resolved
// by sharing the anchored node, never copying it; a document whose aliases
// would add more than MaxAliasNodes nodes (an alias bomb) is refused at the
// alias that crosses the bound.
//
// Choices where SPEC leaves room:
//   - defaults: scalars and lists are replaced by a node's own value;
//     mappings (interfaces, env, sysctls, limits) are merged key by key.
//   - A node's interfaces are its bridge ports in file order, then its link
//     ends in link order.
//   - "A node on exactly one bridge with nat: true": the node has an address
//     on exactly one nat bridge (it may be on other, non-nat bridges).
//     nat: true requires gateway: true.
//   - gateway/via as a node name: that node's address on the first subnet
//     (in this node's interface order) on which both have an address. A
//     name that is both a node and a bridge means the node.
//   - ipv4 without a prefix length takes the bridge's; with one, it must be
//     the bridge's.
//   - Subnets of bridges and links are /8../30; the pool is /19 or larger.
//   - IPv6 (ipv6.go): ipv6: true gives bridges and links without subnet6 a
//     /64 from ipv6_pool (default fde3:6868:8a47::/48, package ipam):
//     bridges from the pool's second /64 up, links from its upper half.
//     ipv6_pool without ipv6: true is an error. subnet6: none, and ipv6:
//     none on a port, opt out; ipv4: none and ipv6: none are independent.
//     Ports get ::2 up (the bridge's host side ::1 with gateway: true); link
//     ends ::1 and ::2 (::0 and ::1 of a /127). Subnet-router anycast and
//     RFC 2526 anycast addresses are refused. A route whose to is IPv6
//     takes an IPv6 via; gateway6 is the IPv6 default route; "default"
//     stays IPv4's (::/0 is IPv6's).
//   - Host device names, MACs and aliases come from internal/hostnames
//     (aliases leolab:LAB:bridge:NAME, leolab:LAB:vxlan:NAME and
//     leolab:LAB:node:NODE:IFACE, so any node name is allowed).
//   - limits.tmpfs (SPEC §6: tmpfs sizes inside a node are bounded) is a
//     size like limits.memory and caps each tmpfs of the node; the plan
//     holds only what the file sets, and a node without it gets its memory
//     limit, else 64 MiB (node.DefaultTmpfsSize).
//   - frr, bird and capabilities from defaults are taken whole, not merged.
//     A config value with a line break is the config text, else a path.
//   - Rootfs paths (directory, tarball, oci:, docker-archive:) are made
//     absolute relative to the file and must exist; --rootfs relative to the
//     working directory.
//   - debian:SUITE+PKG… and {debian: SUITE, packages: [PKG…]} become one
//     name, packages sorted and once each.
//   - A docker:// rootfs matching an image mapping (--image, then images:)
//     takes the mapping's rootfs: exact pattern first, then the longest
//     PATTERN* prefix.
package topology
