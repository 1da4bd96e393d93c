// Package ipam is leolab's deterministic IPv4 allocator (SPEC §3). It owns
// the range arithmetic only: carving bridge /24s and link /30s out of a pool
// and handing out host addresses inside a subnet. What is already taken is
// held by the caller in a Set; ipam never looks at the host or makes a
// syscall, so the same inputs always give the same addresses.
package ipam
