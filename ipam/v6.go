package ipam

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// DefaultPool6 is the pool automatic IPv6 subnets come from when a topology
// does not set ipv6_pool: a unique local /48 (RFC 4193) whose 40-bit global
// ID is the first five bytes of SHA-256("leolab"), so it is the same on
// every host and unlikely to meet anyone else's ULA.
var DefaultPool6 = netip.MustParsePrefix("fde3:6868:8a47::/48")

// SubnetBits6 is the length of every automatic IPv6 subnet: bridges and
// links both get a /64.
const SubnetBits6 = 64

// Pool6 carves automatic /64s out of an IPv6 pool: bridges from the
// pool's second /64 upward through its lower half, links from the start of
// its upper half (in the default /48: bridges fde3:6868:8a47:1::/64 up,
// links fde3:6868:8a47:8000::/64 up). Like Pool, it remembers where its
// last search ended; successive calls must pass the same, growing Set.
type Pool6 struct {
	prefix     netip.Prefix
	base       uint64 // the pool's upper 64 bits
	count      uint64 // how many /64s the pool holds
	nextBridge uint64 // index of the next /64 to try for a bridge
	nextLink   uint64
}

// NewPool6 checks p and returns its allocator. The pool must be a
// canonical IPv6 prefix of /8 to /62, so that bridges and links both have
// room, and unicast (not link-local, loopback, multicast or IPv4-mapped).
func NewPool6(p netip.Prefix) (*Pool6, error) {
	if err := checkPool(p, "IPv6", p.IsValid() && p.Addr().Is6() && !p.Addr().Is4In6()); err != nil {
		return nil, err
	}
	if p.Bits() > SubnetBits6-2 {
		return nil, fmt.Errorf("pool %s is too small: need /%d or larger (bridges take its lower half, links its upper half)", p, SubnetBits6-2)
	}
	if a := p.Addr(); a.IsLinkLocalUnicast() || a.IsMulticast() || a.IsLoopback() || a.IsUnspecified() {
		return nil, fmt.Errorf("pool %s is not a unicast range", p)
	}
	count := uint64(1) << (SubnetBits6 - p.Bits())
	return &Pool6{prefix: p, base: hi64(p.Addr()), count: count, nextBridge: 1, nextLink: count / 2}, nil
}

// Prefix is the whole pool.
func (p *Pool6) Prefix() netip.Prefix { return p.prefix }

// BridgeSubnet returns the lowest /64 of the pool's lower half, from its
// second /64 upward, that overlaps nothing in used. It does not add the
// result to used.
func (p *Pool6) BridgeSubnet(used *Set, bridge string) (netip.Prefix, error) {
	s, ok, next := p.firstFree(p.nextBridge, p.count/2, used)
	p.nextBridge = next
	if ok {
		return s, nil
	}
	return netip.Prefix{}, fmt.Errorf("pool %s has no free /%d for bridge %s", p.prefix, SubnetBits6, bridge)
}

// LinkSubnet returns the lowest /64 of the pool's upper half that overlaps
// nothing in used. It does not add the result to used.
func (p *Pool6) LinkSubnet(used *Set, link string) (netip.Prefix, error) {
	s, ok, next := p.firstFree(p.nextLink, p.count, used)
	p.nextLink = next
	if ok {
		return s, nil
	}
	return netip.Prefix{}, fmt.Errorf("pool %s has no free /%d for link %s", p.prefix, SubnetBits6, link)
}

func (p *Pool6) firstFree(start, end uint64, used *Set) (netip.Prefix, bool, uint64) {
	for i := start; i < end; i++ {
		cand := netip.PrefixFrom(fromHiLo(p.base+i, 0), SubnetBits6)
		if _, taken := used.Overlapping(cand); !taken {
			return cand, true, i
		}
	}
	return netip.Prefix{}, false, end
}

func hi64(a netip.Addr) uint64 {
	b := a.As16()
	return binary.BigEndian.Uint64(b[:8])
}

func lo64(a netip.Addr) uint64 {
	b := a.As16()
	return binary.BigEndian.Uint64(b[8:])
}

func fromHiLo(hi, lo uint64) netip.Addr {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], hi)
	binary.BigEndian.PutUint64(b[8:], lo)
	return netip.AddrFrom16(b)
}

// add6 returns a + n (n < 2^64), carrying into the upper half.
func add6(a netip.Addr, n uint64) netip.Addr {
	hi, lo := hi64(a), lo64(a)
	sum := lo + n
	if sum < lo {
		hi++
	}
	return fromHiLo(hi, sum)
}

// Host6 returns the address n of IPv6 subnet p (0 is the subnet-router
// anycast address, 1 the first host), or false past the end of p.
func Host6(p netip.Prefix, n uint64) (netip.Addr, bool) {
	p = p.Masked()
	a := add6(p.Addr(), n)
	if !p.Contains(a) || (n > 0 && a == p.Addr()) {
		return netip.Addr{}, false
	}
	return a, true
}

// Gateway6 is ::1 of p: the host side of a bridge with gateway: true.
func Gateway6(p netip.Prefix) netip.Addr { a, _ := Host6(p, 1); return a }

// LinkHosts6 are the addresses of a link's two ends in subnet p: ::0 and
// ::1 in a /127 (RFC 6164), else ::1 and ::2.
func LinkHosts6(p netip.Prefix) (netip.Addr, netip.Addr) {
	if p.Bits() == 127 {
		a, _ := Host6(p, 0)
		b, _ := Host6(p, 1)
		return a, b
	}
	a, _ := Host6(p, 1)
	b, _ := Host6(p, 2)
	return a, b
}

// Reserved6 says why a is not a host address of p, or "": the
// subnet-router anycast address (the subnet's first, RFC 4291; not in a
// /127, RFC 6164) and the 128 reserved anycast addresses at the top of a
// subnet of /120 or larger (RFC 2526).
func Reserved6(p netip.Prefix, a netip.Addr) string {
	p = p.Masked()
	if a == p.Addr() && p.Bits() != 127 {
		return fmt.Sprintf("%s is the subnet-router anycast address of %s", a, p)
	}
	if p.Bits() <= 120 {
		last := lastAddr6(p)
		if lo64(last)-lo64(a) < 128 && hi64(last) == hi64(a) {
			return fmt.Sprintf("%s is one of the reserved anycast addresses at the top of %s (RFC 2526)", a, p)
		}
	}
	return ""
}

func lastAddr6(p netip.Prefix) netip.Addr {
	p = p.Masked()
	hi, lo := hi64(p.Addr()), lo64(p.Addr())
	if b := p.Bits(); b >= 64 {
		lo |= ^uint64(0) >> (b - 64)
	} else {
		hi |= ^uint64(0) >> b
		lo = ^uint64(0)
	}
	return fromHiLo(hi, lo)
}

// Hosts6 hands out host addresses inside one IPv6 subnet: reserved
// (static) addresses first, then Next from ::2 upward.
type Hosts6 struct {
	subnet netip.Prefix
	taken  map[netip.Addr]string
	next   uint64
}

// NewHosts6 returns an allocator for subnet with nothing taken.
func NewHosts6(subnet netip.Prefix) *Hosts6 {
	return &Hosts6{subnet: subnet.Masked(), taken: map[netip.Addr]string{}, next: 2}
}

// Subnet is the subnet this allocator hands addresses from.
func (h *Hosts6) Subnet() netip.Prefix { return h.subnet }

// Reserve takes a for owner. It fails when a lies outside the subnet, is
// one of its reserved addresses (Reserved6), or is already taken.
func (h *Hosts6) Reserve(a netip.Addr, owner string) error {
	if !h.subnet.Contains(a) {
		return fmt.Errorf("%s is outside %s", a, h.subnet)
	}
	if why := Reserved6(h.subnet, a); why != "" {
		return fmt.Errorf("%s", why)
	}
	if who, ok := h.taken[a]; ok {
		return fmt.Errorf("%s is already used by %s", a, who)
	}
	h.taken[a] = owner
	return nil
}

// Next takes the lowest free host address from ::2 upward for owner.
func (h *Hosts6) Next(owner string) (netip.Addr, error) {
	for {
		a, ok := Host6(h.subnet, h.next)
		if !ok || Reserved6(h.subnet, a) != "" {
			return netip.Addr{}, fmt.Errorf("subnet %s has no free address for %s", h.subnet, owner)
		}
		h.next++
		if _, taken := h.taken[a]; !taken {
			h.taken[a] = owner
			return a, nil
		}
	}
}
