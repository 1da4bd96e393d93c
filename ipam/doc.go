// Package ipam is leolab's deterministic address allocator (SPEC §3). It
// owns the range arithmetic only: carving bridge /24s and link /30s out of
// an IPv4 pool, bridge and link /64s out of an IPv6 pool, and handing out
// host addresses inside a subnet. What is already taken is
// held by the caller in a Set; ipam never looks at the host or makes a
// syscall, so the same inputs always give the same addresses.
package ipam
