package ipam

import (
	"encoding/binary"
	"net/netip"
)

func u32(a netip.Addr) uint64 {
	b := a.As4()
	return uint64(binary.BigEndian.Uint32(b[:]))
}

func fromU32(v uint64) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(v))
	return netip.AddrFrom4(b)
}

// addN returns a + n, saturating at 255.255.255.255.
func addN(a netip.Addr, n uint64) netip.Addr {
	v := u32(a) + n
	if v > 0xffffffff {
		v = 0xffffffff
	}
	return fromU32(v)
}

func lastAddr(p netip.Prefix) netip.Addr {
	p = p.Masked()
	return fromU32(u32(p.Addr()) | (uint64(1)<<(32-p.Bits()) - 1))
}

// Network is the first address of p.
func Network(p netip.Prefix) netip.Addr { return p.Masked().Addr() }

// Broadcast is the last address of p.
func Broadcast(p netip.Prefix) netip.Addr { return lastAddr(p) }

// Gateway is the .1 of p: the host side of a bridge with gateway: true.
func Gateway(p netip.Prefix) netip.Addr { return addN(Network(p), 1) }

// Host returns the n-th host address of p (1 = first host) or false if p
// has no such host address (network and broadcast excluded).
func Host(p netip.Prefix, n int) (netip.Addr, bool) {
	if n < 1 {
		return netip.Addr{}, false
	}
	a := addN(Network(p), uint64(n))
	if u32(a) >= u32(Broadcast(p)) {
		return netip.Addr{}, false
	}
	return a, true
}
